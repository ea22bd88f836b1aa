"""The purposes the forum asks consent for, each consented to and withdrawn on its own.

A purpose is a name, what the member is told about it, and what its receipts say in the vocabularies they use
(the W3C Data Privacy Vocabulary for the ISO/IEC TS 27560 record, plain words for the Kantara receipt). Its texts
are policy versions published for it (`forum policy publish FILE --version V --purpose NAME`). Adding a purpose
is adding an entry here and publishing its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from forum.errors import N_, ValidationFailed

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"


@dataclass(frozen=True)
class Purpose:
    name: str
    title: str                          # message id, shown on the dashboard and the receipt
    summary: str                        # message id: what it covers, in one sentence
    dpv_purpose: str                    # the DPV concept of the purpose
    dpv_personal_data: tuple[str, ...]  # DPV personal-data categories processed for it
    data_categories: tuple[str, ...]    # the same in plain words (Kantara `piiCategory`; message ids)
    kantara_category: str               # Kantara `purposeCategory`
    demo_policy: Path                   # the text `forum demo` and the tests publish
    gates_participation: bool = False   # withdrawing it anonymises (taking part) instead of only stopping


FORUM = Purpose(
    name="forum",
    title=N_("Taking part in the forum"),
    summary=N_("Posting, replying, liking and your forum profile: training and dialogue between users and the "
               "company (purpose j of the privacy statement)."),
    dpv_purpose="dpv:ServiceProvision",
    dpv_personal_data=("pd:Username", "pd:Name", "pd:Communication", "pd:Preference"),
    data_categories=(N_("username"), N_("display name"), N_("profile text"), N_("posts and replies"), N_("likes")),
    kantara_category="Core Function",
    demo_policy=POLICY_DIR / "forum-policy-1.md",
    gates_participation=True,
)
MAIL = Purpose(
    name="mail",
    title=N_("Mail about forum activity"),
    summary=N_("Mail when someone answers, mentions or quotes you, and the digests you choose."),
    dpv_purpose="dpv:CommunicationManagement",
    dpv_personal_data=("pd:EmailAddress", "pd:Preference"),
    data_categories=(N_("email address"), N_("mail preferences")),
    kantara_category="Contact Me",
    demo_policy=POLICY_DIR / "mail-policy-1.md",
)
PURPOSES: dict[str, Purpose] = {p.name: p for p in (FORUM, MAIL)}


def purpose_named(name: str | None) -> Purpose:
    purpose = PURPOSES.get(name or FORUM.name)
    if purpose is None:
        raise ValidationFailed(fields={"purpose": N_("Not one of the allowed values.")})
    return purpose
