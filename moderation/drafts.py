"""Moderation's part in the composer (forum.events.POST_CHECKING): the detectors warn the author before saving.

A post saved anyway is held for review as before (writing.on_post_writing); the warning only gives the author
the chance to take the data out first, which also keeps it out of the moderators' queue. The author is told the
kind and the lines, never the value, and the help says how to remove it.
"""

from __future__ import annotations

from forum import events
from forum.errors import N_
from moderation.detectors import scan

# kind -> (what it is, how to take it out). One place for these texts; the notice after saving names kinds too.
TEXTS: dict[str, tuple[str, str]] = {
    "national_id": (N_("a national identity number (fødselsnummer or D-number)"),
                    N_("Remove it, or write it with the digits replaced, such as 010190 xxxxx.")),
    "card_number": (N_("a payment card number"),
                    N_("Remove it. If the card matters, the last four digits are enough.")),
    "bank_account": (N_("a bank account number"),
                     N_("Remove it, or write only the last digits. A KID or invoice number is fine: say so "
                        "beside it (\"KID 1234…\").")),
    "iban": (N_("an IBAN (international bank account number)"),
             N_("Remove it, or write only the country and the last digits.")),
    "email_bulk": (N_("a list of e-mail addresses"),
                   N_("Remove other people's addresses; write roles (\"the accountant\") instead.")),
    "phone_bulk": (N_("a list of phone numbers"),
                   N_("Remove other people's phone numbers.")),
    "private_key": (N_("a private key"),
                    N_("Remove it, and replace the key: a key that has been pasted anywhere should be seen as "
                       "leaked.")),
    "api_key": (N_("a password, token or API key"),
                N_("Replace the value with a placeholder such as ******, and change the password or token.")),
}


async def on_post_checking(check: events.DraftCheck) -> None:
    for finding in scan(check.source):
        label, help_text = TEXTS.get(finding.kind, (N_("personal data or a secret"), N_("Remove it.")))
        check.warnings.append(events.DraftWarning(kind=finding.kind, reason=finding.reason, lines=finding.lines,
                                                  label=label, help=help_text))
