"""Phone normalisation: one customer, one identity.

Dispatchers type numbers every way ("138 1234 5678", "+86-138-1234-5678",
"0086 13812345678"); deduplication only works on one canonical form, an
E.164-like ``+<country><number>`` string.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().\u00a0/]")
DEFAULT_COUNTRY_CODE = "86"


def normalise_phone(raw: str, default_country: str = DEFAULT_COUNTRY_CODE) -> str:
    """Return ``+<digits>`` or raise ValueError saying what is wrong."""
    text = _SEPARATORS.sub("", raw.strip())
    if not text:
        raise ValueError("phone number is empty")
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        digits = text[1:]
        if not digits.isdigit():
            raise ValueError(f"phone number {raw!r} contains characters other than digits")
    else:
        if not text.isdigit():
            raise ValueError(f"phone number {raw!r} contains characters other than digits")
        # A national number: drop the trunk prefix and add the default country.
        digits = default_country + text.lstrip("0")
    if digits.startswith("0"):
        raise ValueError(f"phone number {raw!r} has no valid country code")
    if not 8 <= len(digits) <= 15:
        raise ValueError(f"phone number {raw!r} has {len(digits)} digits; expected 8 to 15")
    return "+" + digits
