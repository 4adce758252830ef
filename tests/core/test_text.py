"""How the app writes numbers (core.text), without a display."""

from biasviz.core.text import MINUS, num, short_sci, signed_sci


def test_num_uses_the_typographic_minus_and_never_minus_zero():
    assert num(-1.5) == f"{MINUS}1.50"
    assert num(-0.0001) == "0.00"
    assert num(0.25, 3, sign=True) == "+0.250"


def test_signed_sci_keeps_one_digit_before_the_point():
    assert signed_sci(-4.924e-7) == f"{MINUS}4.9 × 10⁻⁷"
    assert signed_sci(2e-5) == "+2.0 × 10⁻⁵"
    # a mantissa that rounds up to ten moves to the next power
    assert signed_sci(0.0009999) == "+1.0 × 10⁻³"
    assert signed_sci(-9.96e7) == f"{MINUS}1.0 × 10⁸"
    assert signed_sci(9.94e7) == "+9.9 × 10⁷"


def test_short_sci_writes_powers_of_ten_as_a_sentence_does():
    assert short_sci(1e-6) == "10⁻⁶"
    assert short_sci(2.5e-7) == "2.5 × 10⁻⁷"
    assert short_sci(-1e-6) == f"{MINUS}10⁻⁶"
    assert short_sci(3e8) == "3 × 10⁸"


def test_as_sentence_capitalises_and_ends_a_note():
    from biasviz.core.text import as_sentence

    assert as_sentence("the state_dict does not say which activation") == \
        "The state_dict does not say which activation."
    assert as_sentence("  Already one.  ") == "Already one."
    assert as_sentence("is it?") == "Is it?"
    assert as_sentence("") == ""
