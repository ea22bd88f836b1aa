"""Reading a policy file: one Markdown file with a `<!-- nb -->` and an `<!-- en -->` section."""

from __future__ import annotations

import re
from pathlib import Path

from forum.errors import N_, ValidationFailed

_SECTION = re.compile(r"^<!--\s*(nb|en)\s*-->\s*$", re.MULTILINE)
DEMO_POLICY = Path(__file__).parent.parent / "policy" / "forum-policy-1.md"


def read_policy_file(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    parts = _SECTION.split(text)
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if not sections.get("nb") or not sections.get("en"):
        raise ValidationFailed(N_("The policy file needs a <!-- nb --> and an <!-- en --> section."),
                               code="invalid_policy_file")
    return sections
