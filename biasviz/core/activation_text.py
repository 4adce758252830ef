"""The activation lesson's sentences, written from the numbers: how steep (w) and where
the neuron triggers (b), and the threshold form w·x ≥ t ⇔ w·x + b ≥ 0 with b = −t.  Plain
strings (with a little HTML), computed without Qt so they are tested without a display."""

from __future__ import annotations

from biasviz.core.chapter import midpoint, slope_at_midpoint
from biasviz.core.decisions import sigmoid
from biasviz.core.text import MINUS, num


def trigger_text(w: float, b: float) -> str:
    """The live sentence: how steep (w) and where it triggers (b)."""
    m = midpoint(w, b)
    if m is None:
        return (
            f"<b>w = 0</b>: the input is ignored, so there is <b>no midpoint</b>: the output is "
            f"the constant σ(b) = σ({num(b)}) = {num(float(sigmoid(b)), 3)} for every x."
        )
    factor = abs(w)
    speed = f"{num(factor, 2).rstrip('0').rstrip('.')}×"
    if w > 0:
        steep = (
            f"<b>w = {num(w)}</b> makes σ rise {speed} as fast as with w = 1 "
            f"(slope at the midpoint w/4 = {num(slope_at_midpoint('sigmoid', w), 3)})"
        )
    else:
        steep = (
            f"<b>w = {num(w)}</b> is negative: the curve is mirrored and σ <i>falls</i> "
            f"{speed} as fast as it rises with w = 1, so the neuron fires for <i>small</i> x"
        )
    if b == 0:
        where = "<b>b = 0</b> leaves the trigger point at x = 0"
    else:
        where = f"<b>b = {num(b)}</b> moves the trigger point to x = −b/w = <b>{num(m)}</b>"
    return f"{steep}; {where}."


def threshold_texts(w: float, t: float) -> tuple[str, str, str]:
    """The two inequalities with the current numbers, and which x both select."""
    b = -t
    if w == 0:
        fires = 0 >= t
        answer = "every x" if fires else "no x"
        first = f"w·x ≥ t: &nbsp; 0·x ≥ {num(t)} &nbsp;is {'true' if fires else 'false'} for {answer}"
        second = (
            f"w·x + b ≥ 0 with b = −t = {num(b)}: &nbsp; 0·x {'+' if b >= 0 else MINUS} "
            f"{num(abs(b))} ≥ 0 &nbsp;is {'true' if fires else 'false'} for {answer}"
        )
        same = f"Both forms fire for <b>{answer}</b>: with w = 0 only the bias decides."
        return first, second, same
    cut = t / w
    rel = "≥" if w > 0 else "≤"
    flip = "" if w > 0 else " (dividing by a negative w flips ≥ to ≤)"
    first = f"w·x ≥ t: &nbsp; {num(w)}·x ≥ {num(t)} &nbsp;⇔&nbsp; <b>x {rel} {num(cut)}</b>{flip}"
    second = (
        f"w·x + b ≥ 0 with b = −t = {num(b)}: &nbsp; {num(w)}·x {'+' if b >= 0 else MINUS} "
        f"{num(abs(b))} ≥ 0 &nbsp;⇔&nbsp; <b>x {rel} {num(cut)}</b>"
    )
    same = (
        f"Same neuron, same decision: both fire for <b>x {rel} {num(cut)}</b>. The bias is "
        "the threshold moved to the other side: b = −t."
    )
    return first, second, same


def fire_interval(w: float, t: float, lo: float, hi: float) -> tuple[float, float] | None:
    """The part of [lo, hi] where ``w·x ≥ t`` (None when it is empty)."""
    if w == 0:
        return (lo, hi) if 0 >= t else None
    cut = t / w
    a, c = (max(cut, lo), hi) if w > 0 else (lo, min(cut, hi))
    return (a, c) if c > a else None
