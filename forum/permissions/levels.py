"""Which read-access levels each role reaches, as a list and as a SQL condition.

It knows no viewer, only roles, so the query that loads the viewer (forum/viewer.py, whose unread count must
leave out topics the account may not read) can use it without importing the rules that take a viewer.
"""

from __future__ import annotations

from forum.models import ReadAccess, Role

STAFF_LEVELS = (ReadAccess.PUBLIC.value, ReadAccess.MEMBERS.value, ReadAccess.STAFF.value)
MEMBER_LEVELS = (ReadAccess.PUBLIC.value, ReadAccess.MEMBERS.value)


def levels_for_role(role: str | None) -> list[str]:
    """What a signed-in account of this role may read (for acting as a post's author, not the viewer)."""
    if role in (Role.STAFF.value, Role.MODERATOR.value, Role.ADMIN.value):
        return list(STAFF_LEVELS)
    return list(MEMBER_LEVELS)


def readable_sql(access_column: str, role_column: str) -> str:
    """levels_for_role as a SQL condition, for a query that counts for an account whose role is a column
    (the unread count is computed in the same query that loads the viewer)."""
    everyone = [level.value for level in ReadAccess if all(level.value in levels_for_role(r.value) for r in Role)]
    cases = [f"{access_column} IN ({', '.join(repr(v) for v in everyone)})"] if everyone else []
    for level in ReadAccess:
        roles = [role.value for role in Role if level.value in levels_for_role(role.value)]
        if roles and level.value not in everyone:
            cases.append(f"({access_column} = '{level.value}' AND {role_column} IN "
                         f"({', '.join(repr(r) for r in roles)}))")
    return "(" + " OR ".join(cases) + ")"
