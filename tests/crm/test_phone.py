"""Phone normalisation: the key of customer deduplication."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.phone import normalise_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138 1234 5678", "+8613812345678"),
        ("+86-138-1234-5678", "+8613812345678"),
        ("0086 13812345678", "+8613812345678"),
        ("(021) 6234-5678", "+862162345678"),
        ("+1 (415) 555-0100", "+14155550100"),
    ],
)
def test_spellings_of_one_number_agree(raw: str, expected: str) -> None:
    """Spaces, dashes, brackets, 00 and national prefixes all normalise to one E.164 form."""
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "call me", "+86 abc", "12", "+0123456789"])
def test_garbage_is_refused_with_a_reason(raw: str) -> None:
    """Anything that is not a phone number raises ValueError with a message."""
    with pytest.raises(ValueError, match=r"\w"):
        normalise_phone(raw)


@given(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.sampled_from(["", " ", "-"]),
    st.sampled_from(["", "+86", "0086", "+86 "]),
)
def test_normalisation_is_idempotent(number: str, sep: str, prefix: str) -> None:
    """Normalising a normalised number changes nothing, whatever it was typed like."""
    spaced = sep.join([number[:3], number[3:7], number[7:]])
    once = normalise_phone(prefix + spaced)
    assert once == "+86" + number
    assert normalise_phone(once) == once
