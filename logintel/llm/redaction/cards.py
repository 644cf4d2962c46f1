"""Payment card numbers: the Luhn check plus issuer prefix and length, so order ids and epochs survive."""
from __future__ import annotations

# (prefix range low, high, allowed lengths); prefixes compared on as many digits as `low` has.
_ISSUERS = (
    ("4", "4", (13, 16, 19)),                   # Visa
    ("51", "55", (16,)),                        # Mastercard
    ("2221", "2720", (16,)),                    # Mastercard 2-series
    ("34", "34", (15,)), ("37", "37", (15,)),   # American Express
    ("300", "305", (14, 16)), ("36", "36", (14, 16)), ("38", "39", (14, 16)),  # Diners Club
    ("3528", "3589", (16, 17, 18, 19)),         # JCB
    ("6011", "6011", (16, 17, 18, 19)), ("644", "649", (16, 17, 18, 19)),
    ("65", "65", (16, 17, 18, 19)),             # Discover
    ("62", "62", (16, 17, 18, 19)),             # UnionPay
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def plausible_card(digits: str) -> bool:
    """A 13–19 digit string an issuer could have printed on a card (not merely a Luhn-valid number)."""
    if not 13 <= len(digits) <= 19 or not digits.isdigit():
        return False
    for low, high, lengths in _ISSUERS:
        head = digits[: len(low)]
        if low <= head <= high and len(digits) in lengths:
            return luhn_valid(digits)
    return False
