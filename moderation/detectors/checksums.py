"""Is this string of digits (or letters) a valid identifier of its kind? Checksums and formats only, no context.

Why python-stdnum: it is maintained against the registries (SWIFT's IBAN registry with its national check
digits, the Norwegian account and organisation number rules, ISO 11649, GS1), so the rules are not copied
here. What it lacks is written here and tested against the published examples:

- the fødselsnummer rules from 2032 (Skatteetaten): the first check digit k1 may be any of
  {11, 12, 13, 14} - (S1 mod 11) (a result of 10 is never issued; 11 means 0), and the individual number
  no longer tells the century, so the date need only exist in some century. Both rules are accepted side by
  side; stdnum's `no.fodselsnummer` knows only the old rule (k1 = 11 - S1 mod 11, the century from the
  individual number, no future date);
- synthetic test numbers (month + 80, Skatteetaten's Tenor), which stdnum rejects;
- which card issuers use which lengths.

Callers pass ASCII digits already stripped of separators (the patterns in `numbers.py` guarantee it).
"""

from __future__ import annotations

import datetime
import functools
import operator
import re

from stdnum import ean, iban, luhn, numdb
from stdnum.exceptions import ValidationError
from stdnum.no import fodselsnummer, kontonr, orgnr

_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K1_ZERO = 48 * sum(_K1_WEIGHTS)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_digits(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()


def _birth_day_and_month(digits: str) -> tuple[int, int]:
    """Day and month without the D- (day + 40), H- (month + 40) and synthetic (month + 80) offsets."""
    day, month = int(digits[0:2]), int(digits[2:4])
    if 41 <= day <= 71:
        day -= 40
    if month > 80:
        month -= 80
    elif month > 40:
        month -= 40
    return day, month


def _real_day_and_month(ddmm: str) -> bool:
    day, month = _birth_day_and_month(ddmm)
    return 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]


# Every DDMM that is a date in some year, offsets included, worked out once: a set lookup per candidate instead
# of four conversions (a table of 4,000 MOD11 KIDs asks 4,000 times). 29 February is among them.
_DDMM = frozenset(ddmm for ddmm in (f"{n:04d}" for n in range(10000)) if _real_day_and_month(ddmm))
_FEBRUARY_29 = frozenset(ddmm for ddmm in _DDMM if _birth_day_and_month(ddmm) == (29, 2))


def _date_exists_in_some_century(digits: str) -> bool:
    """29 February needs a year that is a leap year in some century: 00 is (2000), 01 never is."""
    ddmm = digits[:4]
    if ddmm not in _DDMM:
        return False
    return ddmm not in _FEBRUARY_29 or not int(digits[4:6]) % 4


def fnr_old_rule(digits: str) -> bool:
    """The rules until 2032, through stdnum: k1 and k2, the century from the individual number, a real date that
    is not in the future. For a synthetic number (month + 80) stdnum checks the digits and, read as an H-number
    (month + 40), the date."""
    if not _is_digits(digits, 11) or not _date_exists_in_some_century(digits):
        return False
    if int(digits[2:4]) <= 80:
        return fodselsnummer.is_valid(digits)
    if (fodselsnummer.calc_check_digit1(digits), fodselsnummer.calc_check_digit2(digits)) != (digits[9], digits[10]):
        return False
    try:
        born = fodselsnummer.get_birth_date(f"{digits[:2]}{int(digits[2:4]) - 40:02d}{digits[4:]}")
    except ValidationError:
        return False
    return born <= datetime.date.today()


def fnr_2032_rule(digits: str) -> bool:
    """The rules from 2032: k2 as before (the mod-11 sum of all eleven digits); (S1 + k1) mod 11 in {0, 1, 2, 3};
    the date exists in some century."""
    if not _is_digits(digits, 11) or not _date_exists_in_some_century(digits) or not passes_mod11(digits):
        return False
    s1 = sum(map(operator.mul, _K1_WEIGHTS, digits.encode())) - _K1_ZERO
    return (s1 + int(digits[9])) % 11 <= 3


def valid_fnr(digits: str) -> bool:
    """A fødselsnummer, D-number, H-number or synthetic test number under the old rules or the 2032 rules. The
    old rules are a subset of the 2032 rules (their k1 makes (S1 + k1) mod 11 = 0, their date is real), so the
    2032 check alone decides (tests/test_detector_rules.py checks the subset)."""
    return fnr_2032_rule(digits)


_ACCOUNT_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
_ACCOUNT_ZERO = 48 * sum(_ACCOUNT_WEIGHTS)  # the weighted sum of the ASCII codes of "00000000000"


def passes_mod11(digits: str) -> bool:
    """The mod-11 sum of an account number (and of a fødselsnummer's k2, and of an 11-digit MOD11 KID): a quick
    necessary condition, so stdnum's full check runs only for the 1 in 11 random numbers that pass."""
    return (sum(map(operator.mul, _ACCOUNT_WEIGHTS, digits.encode())) - _ACCOUNT_ZERO) % 11 == 0


def valid_no_account(digits: str) -> bool:
    """A Norwegian bank account number (11 digits, mod-11 control digit); all zeros is a placeholder."""
    return _is_digits(digits, 11) and digits != "0" * 11 and passes_mod11(digits) and kontonr.is_valid(digits)


def valid_orgnr(digits: str) -> bool:
    return _is_digits(digits, 9) and orgnr.is_valid(digits)


def luhn_valid(digits: str) -> bool:
    return len(digits) >= 2 and digits.isascii() and digits.isdigit() and luhn.is_valid(digits)


def valid_ean(digits: str) -> bool:
    """GTIN-8, -12, -13 or -14 (EAN) check digit."""
    return digits.isascii() and digits.isdigit() and ean.is_valid(digits)


_IBAN_REGISTRY = numdb.get("iban")
_LETTER_DIGITS = str.maketrans({letter: str(int(letter, 36)) for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})  # A=10
_BBAN_PART = re.compile(r"(\d+)!?[nace]")


@functools.cache
def iban_length(country: str) -> int | None:
    """The IBAN length SWIFT's registry (stdnum's copy) gives for a country code, or None: `RF` is none."""
    info = _IBAN_REGISTRY.info(country)[0][1]
    if not info or "bban" not in info:
        return None
    return 4 + sum(int(part) for part in _BBAN_PART.findall(info["bban"]))


def valid_iban(text: str) -> bool:
    """An IBAN of a country in SWIFT's registry, with that country's BBAN structure and length, mod-97 and, where
    stdnum knows it (NO, BE, ES, ME), the national check digits. `RF` (ISO 11649 creditor references) is no
    country. Spaces are ignored and lower case is accepted."""
    compact = "".join(text.split()).upper()
    if not (compact.isascii() and compact.isalnum()) or len(compact) != iban_length(compact[:2]):
        return False
    rearranged = compact[4:] + compact[:4]  # mod-97 first, a quick necessary condition (96 in 97 random fail)
    if int(rearranged.translate(_LETTER_DIGITS)) % 97 != 1:
        return False
    return iban.is_valid(compact)


# Issuer prefixes and the lengths they issue. 13-digit Visa numbers are no longer issued, and 13 is the length of
# an EAN; a plain 13-digit number is not a card.
_CARD_ISSUERS: tuple[tuple[str, range | tuple[int, ...], tuple[int, ...]], ...] = (
    ("visa", (4,), (16, 19)),
    ("mastercard", range(51, 56), (16,)),
    ("mastercard", range(2221, 2721), (16,)),
    ("amex", (34, 37), (15,)),
    ("discover", (6011, 65), (16, 19)),
    ("discover", range(644, 650), (16, 19)),
    ("jcb", range(3528, 3590), (16, 17, 18, 19)),
    ("diners", (36,), (14, 16)),
    ("diners", (30, 38), (16,)),
)


def card_issuer(digits: str) -> str | None:
    """The issuer whose prefix and length `digits` has, or None."""
    length = len(digits)
    for issuer, prefixes, lengths in _CARD_ISSUERS:
        if length not in lengths:
            continue
        for prefix in (prefixes if isinstance(prefixes, tuple) else (prefixes,)):
            if isinstance(prefix, range):
                width = len(str(prefix.start))
                if int(digits[:width]) in prefix:
                    return issuer
            elif digits.startswith(str(prefix)):
                return issuer
    return None


def valid_card(digits: str) -> bool:
    return card_issuer(digits) is not None and luhn_valid(digits)
