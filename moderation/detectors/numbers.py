"""Personal data written as numbers: fødselsnummer, card, account and IBAN, and phone numbers in bulk.

Each `find_*` returns the start offsets of what it found (at most `MAX_PLACES`), so the composer can say where.
Checksums are in `checksums`, what the words around a number say in `context`.

Why every candidate is anchored at the start of its run and every repeat is bounded: a pattern that may start
in the middle of a long run re-scans that run from every position, which turns a pasted 50 KB blob into
quadratic work. Where it matters for speed, a pattern begins with its first character and only then looks
behind (`\\d(?<!\\d\\d)`: a digit not preceded by a digit), because the regex engine can skip ahead to a known
first character but must try a leading lookbehind at every position.
"""

from __future__ import annotations

import re

from moderation.detectors import checksums
from moderation.detectors.context import Context

MAX_PLACES = 20

# People separate digit groups with spaces, no-break spaces (U+00A0), thin spaces (U+2009, U+202F), dots, dashes.
_SPACE = "[ \u00a0\u2009\u202f]"
_SEP = "[ \u00a0\u2009\u202f.-]"
# The first digit of a run: not after a digit or letter, a decimal point or comma, nor continuing a dotted or
# dashed number ("3.1234.56.78903", "2024-12345678903").
_START = r"\d(?<![\w,]\d)(?<![\d][.-]\d)"
_END = r"(?!\d)(?![.,-]\d)"
_OTHER = ("other", "ledger")


def _places(found: list[int]) -> list[int]:
    return found[:MAX_PLACES]


# --- the numbers: one pass ------------------------------------------------------------------------------------

# Every fødselsnummer, account and card candidate starts a run (`_START`), so one pattern finds them all in one
# pass over the text (three passes cost three times as much: the engine tries every digit). Its branches cannot
# match at the same start, and no candidate of another kind starts inside one, except a fødselsnummer in the
# tail of an Amex-shaped 4-6-5 group (checked on its own below).
_NUMBER = re.compile(
    rf"{_START}\d{{3}}(?:"
    rf"(?P<account>{_SEP})\d{{2}}(?P=account)\d{{5}}{_END}"  # account 4-2-5
    rf"|\d{{2}}(?:(?P<fnr>{_SPACE}|-)\d{{5}}|\d{{5}}(?P<card>\d{{3,8}})?){_END}"  # fnr 6-5; plain 11; plain 14-19
    # A card in its issuer's layout with one separator: 4-4-4-4(-3) (most), 4-6-5 (Amex), 4-6-4 (Diners). Grouped,
    # it must be the first group of its run (so the digits of a spaced IBAN "DE89 3704 0044 …" are not a card), and
    # no group of three or more digits may follow (a list of account codes), while an expiry "12 26" may.
    rf"|(?<!\d{_SEP}\d{{4}})(?P<grouped>{_SEP})"
    rf"(?:\d{{4}}(?P=grouped)\d{{4}}(?P=grouped)\d{{4}}(?:(?P=grouped)\d{{3}})?|(?P<six>\d{{6}})(?P=grouped)\d{{4,5}})"
    rf"{_END}(?!(?P=grouped)\d{{3}})"
    ")"
)
_FNR = re.compile(rf"({_START}\d{{5}})(?:{_SPACE}|-)?(\d{{5}}){_END}")

# What the pass found, by kind: (start, digits, plain): `plain` is written without separators (11 such digits are
# both a fødselsnummer and an account number candidate).
_Candidate = tuple[int, str, bool]


def _numbers(ctx: Context) -> dict[str, list[_Candidate]]:
    """The candidates of `ctx.text`, found once per scan and shared by the three detectors. An 11-digit
    candidate is kept only if it passes the mod-11 sum that fødselsnummer (k2) and account numbers share."""
    if "numbers" in ctx.shared:
        return ctx.shared["numbers"]
    text = ctx.text
    found: dict[str, list[_Candidate]] = {"fnr": [], "account": [], "card": []}
    fnrs, accounts, cards = found["fnr"], found["account"], found["card"]
    passes_mod11 = checksums.passes_mod11
    for match in _NUMBER.finditer(text):
        start, kind = match.start(), match.lastgroup  # the separator's group names the branch; None: plain 11
        if kind is None:
            if passes_mod11(digits := match[0]):
                fnrs.append((start, digits, True))
                accounts.append((start, digits, True))
        elif kind == "card":
            cards.append((start, match[0], True))
        elif kind == "account" or kind == "fnr":
            digits = match[0].replace(match[kind], "")
            if passes_mod11(digits):
                (accounts if kind == "account" else fnrs).append((start, digits, False))
        else:  # "grouped", or "six" for the 4-6-5 shape
            cards.append((start, match[0].replace(match["grouped"], ""), False))
            if kind == "six":  # "dddd DDMMYY NNNNN"
                tail = _FNR.match(text, match.start("six"))
                if tail and passes_mod11(digits := tail[1] + tail[2]):
                    fnrs.append((tail.start(), digits, False))
    ctx.shared["numbers"] = found
    return found


# --- fødselsnummer ---------------------------------------------------------------------------------------------


def find_national_ids(text: str, ctx: Context) -> list[int]:
    """Valid under the 2032 rules and labelled as one; or, unlabelled, valid under all the old rules (a random
    11-digit number passes the 2032 checks four times as often, so alone it must pass the stricter ones)."""
    found = []
    for start, digits, _plain in _numbers(ctx)["fnr"]:
        if not checksums.valid_fnr(digits):
            continue
        label = ctx.label(start)
        if label in _OTHER:
            continue
        if label == "national_id" or checksums.fnr_old_rule(digits):
            found.append(start)
            if len(found) >= MAX_PLACES:
                break
    return found


# --- bank accounts ---------------------------------------------------------------------------------------------


def find_bank_accounts(text: str, ctx: Context) -> list[int]:
    """Formatted 4-2-5 counts unless labelled as something else; plain 11 digits only under an account label
    (every 11-digit MOD11 KID is a valid account number)."""
    found = []
    for start, digits, plain in _numbers(ctx)["account"]:
        label = ctx.label(start)
        if label in _OTHER or (plain and label != "bank_account"):
            continue
        if not checksums.valid_no_account(digits):
            continue
        found.append(start)
        if len(found) >= MAX_PLACES:
            break
    return found


# --- payment cards ---------------------------------------------------------------------------------------------


def find_cards(text: str, ctx: Context) -> list[int]:
    found = []
    for start, digits, plain in _numbers(ctx)["card"]:
        if not checksums.valid_card(digits):
            continue
        label = ctx.label(start)
        if label in _OTHER:
            continue
        if label != "card_number" and plain and len(digits) == 14 and checksums.valid_ean(digits):
            continue  # a GTIN-14 pasted without a label; a 14-digit Diners card would be labelled
        found.append(start)
        if len(found) >= MAX_PLACES:
            break
    return found


# --- IBAN ------------------------------------------------------------------------------------------------------

_IBAN = re.compile(
    rf"[A-Za-z](?<![A-Za-z0-9][A-Za-z])[A-Za-z]\d{{2}}(?:{_SPACE}?[A-Za-z0-9]{{4}}){{2,7}}"
    rf"(?:{_SPACE}?[A-Za-z0-9]{{1,4}})?(?![A-Za-z0-9])"
)
_GROUP = re.compile(rf"{_SPACE}")


def find_ibans(text: str, ctx: Context) -> list[int]:
    """Any case, any space as separator. A following word in capitals can be swallowed as a last group, so the
    candidate is cut to its country's length."""
    found = []
    for match in _IBAN.finditer(text):
        compact = _GROUP.sub("", match[0])
        length = checksums.iban_length(compact[:2].upper())
        if length is None or len(compact) < length or not checksums.valid_iban(compact[:length]):
            continue
        if length < len(compact) and not _GROUP.match(match[0], _cut_position(match[0], length)):
            continue  # the cut must fall between groups
        if ctx.label(match.start()) not in _OTHER:
            found.append(match.start())
            if len(found) >= MAX_PLACES:
                break
    return found


def _cut_position(candidate: str, length: int) -> int:
    """The index in `candidate` just after its first `length` characters that are not spaces."""
    seen = 0
    for index, char in enumerate(candidate):
        if not char.isspace():
            seen += 1
            if seen == length:
                return index + 1
    return len(candidate)


# --- phone numbers in bulk -------------------------------------------------------------------------------------

BULK_THRESHOLD = 5
# Norwegian: 8 digits starting 2-9, plain, 2-2-2-2 or 3-2-3, optional +47/0047; otherwise E.164. Not part of a
# longer run of spaced digit groups, such as a pasted table of small numbers.
_NATIONAL_REST = r"(?:\d{7}|\d(?: \d\d){3}|\d\d \d\d \d{3})"  # after the first digit, 2-9
# The first character first, then what lies before it: the engine skips to a first character it knows.
_PHONE = re.compile(
    r"[+0-9](?<![\w+][+0-9])(?<!\d[ -][+0-9])"
    rf"(?:(?<=\+)(?:47 ?[2-9]{_NATIONAL_REST}|[1-9](?:[ -]?\d){{7,14}})|(?<=0)047 ?[2-9]{_NATIONAL_REST}"
    rf"|(?<=[2-9]){_NATIONAL_REST})"
    r"(?![ -]?\d)"
)
_NON_DIGIT = re.compile(r"\D")


def find_phone_bulk(text: str, ctx: Context) -> list[int]:
    """Five different phone numbers. A plain 8-digit number is an invoice or voucher number unless a phone label
    is beside it or it carries +47; spaced in pairs or 3-2-3, or in E.164, it looks like a phone number.
    Labels are read only once five different candidates are there (most texts have fewer)."""
    candidates: dict[str, list[re.Match[str]]] = {}
    for match in _PHONE.finditer(text):
        digits = _NON_DIGIT.sub("", match[0])
        if match[0].startswith("00"):
            digits = digits[2:]
        elif len(digits) == 8 and not match[0].startswith("+"):
            digits = "47" + digits
        candidates.setdefault(digits, []).append(match)
    if len(candidates) < BULK_THRESHOLD:
        return []
    numbers = []
    for matches in candidates.values():
        for match in matches:
            number = match[0]
            has_country_code = number.startswith(("+", "0047"))
            label = ctx.label(match.start())
            if label not in _OTHER and (label == "phone" or has_country_code or not number.isdigit()):
                numbers.append(match.start())
                break
        if len(numbers) >= MAX_PLACES:
            break  # as many places as are reported: the rest need not be labelled
    return _places(numbers) if len(numbers) >= BULK_THRESHOLD else []


# --- e-mail addresses in bulk ----------------------------------------------------------------------------------

_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![A-Za-z0-9-])")
_EMAIL_LOCAL = frozenset(".%+-_")


def _local_char(char: str) -> bool:
    return char.isalnum() or char in _EMAIL_LOCAL


def find_email_bulk(text: str, ctx: Context) -> list[int]:
    """Five different addresses. Found from each "@" outwards (a pattern starting at the local part would be
    tried at every letter)."""
    if text.count("@") < BULK_THRESHOLD:
        return []
    addresses: dict[str, int] = {}
    at = text.find("@")
    while at >= 0:
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        if domain:
            start = at
            while start > 0 and at - start < 64 and _local_char(text[start - 1]):
                start -= 1
            if start < at and not (start > 0 and _local_char(text[start - 1])):
                addresses.setdefault(text[start : domain.end()].lower(), start)
        at = text.find("@", at + 1)
    return _places(list(addresses.values())) if len(addresses) >= BULK_THRESHOLD else []
