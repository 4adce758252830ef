"""Numbers as the app writes them: a real minus sign (−), never "−0.00", an explicit "+"
where a sign teaches something, percentages with one decimal.

One place for these so that every view and every exported text agrees.
"""

from __future__ import annotations

import math

MINUS = "\u2212"
DASH = "—"  # what a number that is not finite is shown as


def num(value: float, decimals: int = 2, sign: bool = False) -> str:
    """``value`` rounded to ``decimals``: typographic minus, no "−0.00", optional "+"."""
    value = float(value)
    if not math.isfinite(value):
        return DASH
    value = round(value, decimals)
    if value == 0:
        value = 0.0  # never "−0.00"
    text = f"{value:+.{decimals}f}" if sign else f"{value:.{decimals}f}"
    return text.replace("-", MINUS)


def percent(fraction: float, decimals: int = 1) -> str:
    """0.935 → "93.5%"."""
    fraction = float(fraction)
    if not math.isfinite(fraction):
        return DASH
    return f"{100.0 * fraction:.{decimals}f}%"


def rough_percent(p: float) -> str:
    """A probability in whole percent that never claims certainty: "> 99%", "< 1%"."""
    if 0.995 <= p < 1.0:
        return "> 99%"
    if 0.0 < p < 0.005:
        return "< 1%"
    return f"{p * 100:.0f}%"


def superscript(n: int) -> str:
    """−6 → "⁻⁶"."""
    return str(int(n)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def short_sci(value: float) -> str:
    """A small or large number as a sentence writes it: 1e-6 → "10⁻⁶", 2.5e-7 →
    "2.5 × 10⁻⁷" (up to three significant digits, typographic minus)."""
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return num(value, 0)
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    power = f"10{superscript(int(exponent))}"
    if mantissa in ("1", "-1"):
        return power if mantissa == "1" else MINUS + power
    return f"{mantissa.replace('-', MINUS)} × {power}"


def signed_sci(value: float) -> str:
    """−4.9 × 10⁻⁷ style."""
    if value == 0 or not math.isfinite(value):
        return num(value, 1)
    exponent = math.floor(math.log10(abs(value)))
    mantissa = value / 10.0**exponent
    if abs(round(mantissa, 1)) >= 10:  # 9.99e-4 is 1.0 × 10⁻³, not 10.0 × 10⁻⁴
        exponent += 1
        mantissa = value / 10.0**exponent
    return f"{num(mantissa, 1, sign=True)} × 10{superscript(exponent)}"


def unbroken(html: str) -> str:
    """``html`` (rich text) with its spaces non-breaking: a label wraps around it, never
    inside it (an inequality, a formula)."""
    return html.replace(" ", "&nbsp;")


def escape_html(text: str, quote: bool = True) -> str:
    """``text`` safe inside a rich-text label: ``html.escape(text, quote)`` without
    importing ``html``, whose entity table is 1.5 ms of start-up."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote:
        text = text.replace('"', "&quot;").replace("'", "&#x27;")
    return text


def as_sentence(text: str) -> str:
    """``text`` as a sentence of its own: its first letter capitalised, a full stop at the
    end if it has none (notes written to follow a title or a colon: "the state_dict does
    not say…" read as a fragment in a box of its own)."""
    text = text.strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."
