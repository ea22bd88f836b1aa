r"""Spot personal data and secrets that users paste into posts.

Why this exists: members paste invoices, payslips and configuration files into support
questions. A national identity number, a card or account number, a list of other people's
contact details, a private key or a live API token should not sit on a public forum page.
Scanning posts for them rests on the forum's legitimate interest (GDPR art. 6(1)(f)) in
preventing misuse and keeping members and their systems secure; the result is used only to
hold the post back and tell the author which *kind* of data to remove.

Why a `Finding` carries no value: a detector that echoes what it found copies the leak into
moderation notices, logs and the audit trail. Findings name the kind and the reason, never
the matched text, and nothing here stores or logs anything.

Why the raw Markdown is scanned, code blocks included: configuration and stack traces are
pasted inside fences and inline code, which is exactly where keys and passwords turn up.

Why the guards: a support question is full of order numbers, prices, dates and versions.
Every number must pass its checksum (mod-11, Luhn, mod-97) and a plausibility check (a real
date, a card issuer prefix, a country's IBAN length), plain 11-digit account numbers need a
nearby keyword, and contact details only count in bulk.

Why every candidate is anchored at the start of its run and every repeat is bounded: a
pattern that may start in the middle of a long run re-scans that run from every position,
which turns a pasted 50 KB blob into quadratic work; anchored, scanning stays linear and
posting cannot be slowed down on purpose. Where it matters for speed, a pattern begins with
its first character and only then looks behind (`\d(?<!\d\d)`: a digit not preceded by a
digit), because the regex engine can skip ahead to a known first character but must try a
leading lookbehind at every position. That keeps a 50 KB scan to a few milliseconds.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

PERSONAL_DATA = "personal_data"
SECURITY = "security"


@dataclass(frozen=True)
class Finding:
    """One kind of sensitive data found in a text; deliberately without the matched value."""

    kind: str
    reason: str


# --- checksums -------------------------------------------------------------------------------

_FNR_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_MOD11_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)  # fødselsnummer k2 and bank account control digit
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_digits(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()


def _mod11_check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    """The mod-11 check digit, or None when the remainder makes every check digit invalid."""
    remainder = sum(int(digit) * weight for digit, weight in zip(digits, weights, strict=True)) % 11
    if remainder == 0:
        return 0
    if remainder == 1:
        return None
    return 11 - remainder


def valid_fnr(digits: str) -> bool:
    """A Norwegian national identity number, D-number, H-number or synthetic test number."""
    if not _is_digits(digits, 11):
        return False
    day, month = int(digits[0:2]), int(digits[2:4])
    if day > 40:  # D-number
        day -= 40
    if month > 80:  # synthetic test number
        month -= 80
    elif month > 40:  # H-number
        month -= 40
    if not (1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]):
        return False
    k1 = _mod11_check_digit(digits[:9], _FNR_K1_WEIGHTS)
    k2 = _mod11_check_digit(digits[:10], _MOD11_WEIGHTS)
    return k1 == int(digits[9]) and k2 == int(digits[10])


_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")  # 2·d, digits summed


def luhn_valid(digits: str) -> bool:
    if len(digits) < 2 or not (digits.isascii() and digits.isdigit()):
        return False
    summands = (digits[-1::-2] + digits[-2::-2].translate(_LUHN_DOUBLED)).encode()
    return (sum(summands) - ord("0") * len(summands)) % 10 == 0  # sum of bytes, less the "0"s


def valid_no_account(digits: str) -> bool:
    """A Norwegian bank account number (mod-11 control digit); all zeros is a placeholder."""
    if not _is_digits(digits, 11) or digits == "0" * 11:
        return False
    return _mod11_check_digit(digits[:10], _MOD11_WEIGHTS) == int(digits[10])


_IBAN_LENGTHS = {
    "NO": 15, "SE": 24, "DK": 18, "FI": 18, "DE": 22, "GB": 22, "NL": 18, "FR": 27,
    "ES": 24, "IT": 27, "PL": 28, "CH": 21, "BE": 16, "AT": 20, "IE": 22,
}  # fmt: skip
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")  # 15–34 characters


def valid_iban(s: str) -> bool:
    """ISO 13616: shape, the country's length (15–34 when unknown) and mod-97 == 1."""
    iban = s.replace(" ", "").upper()
    if not _IBAN_SHAPE.fullmatch(iban):
        return False
    if len(iban) != _IBAN_LENGTHS.get(iban[:2], len(iban)):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


# --- personal data ---------------------------------------------------------------------------

_RUN_START_DIGIT = r"\d(?<!\d\d)"  # the first digit of a run
_FNR = re.compile(rf"({_RUN_START_DIGIT}\d{{5}}) ?(\d{{5}})(?!\d)")


def _has_national_id(text: str) -> bool:
    return any(valid_fnr(match[1] + match[2]) for match in _FNR.finditer(text))


# Plain, or in groups: the first of 4 digits, the rest of 2–6 (Amex is 4-6-5). Grouped, it must
# be the first group of its run, so the digits of a spaced IBAN ("DE89 3704 0044 …") are not
# read as a card.
_CARD = re.compile(rf"{_RUN_START_DIGIT}(?:\d{{12,18}}|(?<!\d[ -]\d)\d{{3}}(?:[ -]\d{{2,6}}){{2,4}})(?!\d)")


def _has_card_issuer_prefix(digits: str) -> bool:
    four = int(digits[:4])
    three, two = four // 10, four // 100
    return (
        two // 10 == 4  # Visa
        or 51 <= two <= 55 or 2221 <= four <= 2720  # Mastercard
        or two in (34, 37)  # American Express
        or four == 6011 or two == 65 or 644 <= three <= 649  # Discover
        or two == 35  # JCB
        or two in (30, 36, 38)  # Diners Club
    )  # fmt: skip


def _has_card_number(text: str) -> bool:
    checked: set[str] = set()  # pasted tables repeat the same numbers
    for match in _CARD.finditer(text):
        candidate = match[0]
        if candidate in checked or not _has_card_issuer_prefix(candidate):  # same for every length
            continue
        checked.add(candidate)
        digits = ""
        # Also the leading groups alone: "4111 1111 1111 1111 12 26" ends in an expiry date.
        for group in candidate.replace("-", " ").split(" "):
            digits += group
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_valid(digits):
                return True
    return False


_ACCOUNT_FORMATTED = re.compile(rf"({_RUN_START_DIGIT}(?<!\d\.\d)\d{{3}})([. ])(\d{{2}})\2(\d{{5}})(?!\.?\d)")
_ACCOUNT_PLAIN = re.compile(rf"{_RUN_START_DIGIT}\d{{10}}(?!\d)")
_ACCOUNT_KEYWORD = re.compile(r"konto|account|bank", re.IGNORECASE)
_ACCOUNT_KEYWORD_DISTANCE = 40


def _has_bank_account(text: str) -> bool:
    for match in _ACCOUNT_FORMATTED.finditer(text):
        if valid_no_account(match[1] + match[3] + match[4]):
            return True
    for match in _ACCOUNT_PLAIN.finditer(text):
        start = max(0, match.start() - _ACCOUNT_KEYWORD_DISTANCE)
        nearby = text[start : match.end() + _ACCOUNT_KEYWORD_DISTANCE]
        if valid_no_account(match[0]) and _ACCOUNT_KEYWORD.search(nearby):
            return True
    return False


_IBAN = re.compile(
    r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])"
)


def _has_iban(text: str) -> bool:
    for match in _IBAN.finditer(text):
        iban = match[0].replace(" ", "")
        expected = _IBAN_LENGTHS.get(iban[:2])
        # A following word in capitals can be swallowed as a last group; try the exact length too.
        if valid_iban(iban) or (expected and len(iban) > expected and valid_iban(iban[:expected])):
            return True
    return False


_BULK_THRESHOLD = 5
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)


def _has_email_bulk(text: str) -> bool:
    if text.count("@") < _BULK_THRESHOLD:
        return False
    addresses = {match[0].lower() for match in _EMAIL.finditer(text)}
    return len(addresses) >= _BULK_THRESHOLD


# Norwegian: 8 digits starting 2–9, plain, 2-2-2-2 or 3-2-3, optional +47/0047. Otherwise E.164.
# Not part of a longer run of spaced digit groups, such as a pasted table of small numbers.
_PHONE = re.compile(
    r"(?<![\w+])(?<!\d[ -])"
    r"(?:(?:(?:\+|00)47 ?)?(?:[2-9]\d{7}|[2-9]\d(?: \d\d){3}|[2-9]\d\d \d\d \d{3})|\+[1-9](?:[ -]?\d){7,14})"
    r"(?![ -]?\d)"
)
_NON_DIGIT = re.compile(r"\D")
_COMPACT_DATE = re.compile(
    r"20\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"  # YYYYMMDD
    r"|(?:2\d|3[01])(?:0[1-9]|1[0-2])20\d\d"  # DDMMYYYY
)


def _phone_key(number: str) -> str | None:
    """Digits with country code, so "+47 412 34 567" and "41234567" count once; None for dates."""
    if _COMPACT_DATE.fullmatch(number):  # "20261124" or "24112026" is an order number or a date
        return None
    digits = _NON_DIGIT.sub("", number)
    if number.startswith("00"):
        return digits[2:]
    return "47" + digits if len(digits) == 8 and not number.startswith("+") else digits


def _has_phone_bulk(text: str) -> bool:
    numbers = {_phone_key(match[0]) for match in _PHONE.finditer(text)} - {None}
    return len(numbers) >= _BULK_THRESHOLD


# --- secrets ---------------------------------------------------------------------------------

_PRIVATE_KEY = re.compile(r"-----BEGIN (?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----")


def _has_private_key(text: str) -> bool:
    return _PRIVATE_KEY.search(text) is not None


def _token(prefix: str, prefix_width: int, body: str) -> str:
    """A token that starts a word: the literal prefix first, then a check of the character before it."""
    return rf"{prefix}(?<![A-Za-z0-9_-].{{{prefix_width}}}){body}"


_B64 = "[A-Za-z0-9_-]"  # base64url
_TOKEN = re.compile(
    "|".join(
        (
            _token("(?:AKIA|ASIA)", 4, r"[0-9A-Z]{16}(?![0-9A-Za-z])"),  # AWS access key id
            _token("gh[pousr]_", 4, r"[A-Za-z0-9]{36,255}"),  # GitHub
            _token("github_pat_", 11, r"[A-Za-z0-9_]{22,255}"),  # GitHub fine-grained
            _token("xox[baprs]-", 5, r"[A-Za-z0-9-]{10,255}"),  # Slack
            _token("[sr]k_live_", 8, r"[0-9a-zA-Z]{24,255}"),  # Stripe
            _token("AIza", 4, r"[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),  # Google API key
            _token("sk-", 3, r"[A-Za-z0-9_-]{32,255}"),  # OpenAI-style, sk-proj-…
            _token("eyJ", 3, rf"{_B64}{{10,4096}}\.eyJ{_B64}{{10,4096}}\.{_B64}{{10,4096}}"),  # JWT
        )
    )
)

# `DB_PASSWORD=…`, `"client_secret": "…"`, `x-api-key: …`, `SECRET_KEY = '…'`, `passord: …`,
# matched in lower case: a case-insensitive alternation cannot skip ahead to its first letter.
# A bare value must contain a digit, so prose ("Invalid token: signature expired") and code
# references (`password = self.password`, `token = os.environ[...]`) pass.
_SECRET_ASSIGNMENT = re.compile(
    r"""
    (?:password|passwd|passord|pwd|secret|api[_-]?key|token)(?:[_-]?key)?
    (?![a-z0-9_])
    ["']?[ \t]{0,3}[:=][ \t]{0,3}
    (?:"(?P<double>[^"\s]{8,256}+)
      |'(?P<single>[^'\s]{8,256}+)
      |(?P<bare>[^\s"'`,;()\[\]{}<>]{8,256}+)(?![(\[{<])
    )
    """,
    re.VERBOSE,
)
_PLACEHOLDER = re.compile(
    r"\*{3}|^<.*>$|xxx|changeme|\$\{|%\(.*\)s|\{\{|^your[_-]|redacted|placeholder|example"
)
_DIGIT = re.compile(r"\d")


def _is_real_secret(match: re.Match[str]) -> bool:
    if match["bare"] is not None:
        return bool(_DIGIT.search(match["bare"])) and not _PLACEHOLDER.search(match["bare"])
    return not _PLACEHOLDER.search(match["double"] or match["single"])


def _has_api_key(text: str) -> bool:
    if _TOKEN.search(text):
        return True
    lowered = text.lower()
    for match in _SECRET_ASSIGNMENT.finditer(lowered):
        starts_word = match.start() == 0 or not lowered[match.start() - 1].isalnum()
        if starts_word and _is_real_secret(match):
            return True
    return False


# --- scan ------------------------------------------------------------------------------------

_DETECTORS: tuple[tuple[str, str, Callable[[str], bool]], ...] = (
    ("national_id", PERSONAL_DATA, _has_national_id),
    ("card_number", PERSONAL_DATA, _has_card_number),
    ("bank_account", PERSONAL_DATA, _has_bank_account),
    ("iban", PERSONAL_DATA, _has_iban),
    ("email_bulk", PERSONAL_DATA, _has_email_bulk),
    ("phone_bulk", PERSONAL_DATA, _has_phone_bulk),
    ("private_key", SECURITY, _has_private_key),
    ("api_key", SECURITY, _has_api_key),
)


def scan(text: str) -> list[Finding]:
    """One finding per kind present in `text`, always in the order of `_DETECTORS`."""
    return [Finding(kind, reason) for kind, reason, detect in _DETECTORS if detect(text)]
