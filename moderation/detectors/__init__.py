r"""Spot personal data and secrets that users paste into posts: `scan(text)` is the entry point.

Why this exists: members paste invoices, payslips and configuration files into support questions. A national
identity number, a card or account number, a list of other people's contact details, a private key or a live
API token should not sit on a public forum page. Scanning posts for them rests on the forum's legitimate
interest (GDPR art. 6(1)(f)) in preventing misuse and keeping members and their systems secure; the result is
used only to warn the author before saving, to hold the post back and to tell the author which *kind* of data
to remove, and where.

Why a `Finding` carries no value: a detector that echoes what it found copies the leak into moderation notices,
logs and the audit trail. Findings name the kind, the reason and the lines it is on, never the matched text,
and nothing here stores or logs anything.

Why the raw Markdown is scanned, code blocks included: configuration and stack traces are pasted inside fences
and inline code, which is exactly where keys and passwords turn up.

Why the guards: the forum's members write about accounting, and their posts are full of KID numbers, invoice
and voucher numbers, organisation numbers, creditor references, GTINs and account codes. Every number must
pass its checksum and format (`checksums`, python-stdnum where it has the rule), and the label beside it or
over its table column decides what it is (`context`, the one place for those rules). Contact details only
count in bulk. `tests/detector_corpus.py` measures all of it against generated text (`make detector-corpus`).

The modules: `checksums` (is it valid), `context` (what do the words around it say), `numbers` and `secrets`
(where is it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from moderation.detectors import numbers, secrets
from moderation.detectors.checksums import luhn_valid, valid_fnr, valid_iban, valid_no_account
from moderation.detectors.context import Context

__all__ = ["Finding", "scan", "luhn_valid", "valid_fnr", "valid_iban", "valid_no_account",
           "PERSONAL_DATA", "SECURITY", "KINDS"]

PERSONAL_DATA = "personal_data"
SECURITY = "security"


@dataclass(frozen=True)
class Finding:
    """One kind of sensitive data found in a text, and the lines (1-based) it is on; never the matched value.
    Two findings of the same kind and reason are equal wherever they are."""

    kind: str
    reason: str
    lines: tuple[int, ...] = field(default=(), compare=False)


_DETECTORS: tuple[tuple[str, str, Callable[[str, Context], list[int]]], ...] = (
    ("national_id", PERSONAL_DATA, numbers.find_national_ids),
    ("card_number", PERSONAL_DATA, numbers.find_cards),
    ("bank_account", PERSONAL_DATA, numbers.find_bank_accounts),
    ("iban", PERSONAL_DATA, numbers.find_ibans),
    ("email_bulk", PERSONAL_DATA, numbers.find_email_bulk),
    ("phone_bulk", PERSONAL_DATA, numbers.find_phone_bulk),
    ("private_key", SECURITY, lambda text, _ctx: secrets.find_private_keys(text)),
    ("api_key", SECURITY, lambda text, _ctx: secrets.find_api_keys(text)),
)
KINDS = tuple(kind for kind, _reason, _find in _DETECTORS)


def scan(text: str) -> list[Finding]:
    """One finding per kind present in `text`, always in the order of `_DETECTORS`."""
    ctx = Context(text)
    found = [(kind, reason, places) for kind, reason, find in _DETECTORS if (places := find(text, ctx))]
    line_of = ctx.lines_of({place for _kind, _reason, places in found for place in places})
    return [Finding(kind, reason, tuple(sorted({line_of[place] + 1 for place in places})))
            for kind, reason, places in found]
