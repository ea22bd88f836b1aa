"""The one parser for numbers that arrive in a request: ids, pages, counts and paging cursors.

`int()` and `str.isdigit()` accept far more than a client should send: "²" and "①" pass `isdigit()` and then
make `int()` raise; "١٢" (Arabic-Indic), "１２" (fullwidth), " 12 " and "1_2" all become 12; and a number of any
length reaches the database, where it overflows a 32-bit column. Here a number is ASCII digits only (a minus sign
only where the range allows one), bounded by the range it is parsed for, so that every caller answers a clean
4xx, or ignores the parameter, never a 500. Path `{x:int}` convertors (forum/convertors.py), page and form
handlers, the JSON API's query parameters and the services that take ids from the CLI all parse here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from forum.errors import N_, NotFound, ValidationFailed

MAX_ID = 2**31 - 1  # PostgreSQL `integer`; SQLite would take 2**63 - 1, but the two must behave alike
MAX_PAGE = 10**6  # far beyond any topic's last page (20 posts a page), small enough to multiply safely
MAX_NUMBER = MAX_ID  # a post's number within its topic
CURSOR_MAX_LENGTH = 80
_CURSOR_YEARS = (1970, 9998)  # leaves room to convert any offset to UTC without overflowing a datetime


def parse_int(raw: object, *, low: int, high: int) -> int | None:
    """The integer `raw` spells, if it is ASCII digits (with a leading "-" only when `low` is negative) within
    low..high; otherwise None. Never raises, whatever text or type arrives."""
    if not isinstance(raw, str) or not raw.isascii():
        return None
    digits = raw[1:] if raw.startswith("-") and low < 0 else raw
    if not digits or not digits.isdigit() or len(digits) > len(str(max(abs(low), abs(high)))):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def parse_id(raw: object) -> int | None:
    """A row id (1..MAX_ID) or None."""
    return parse_int(raw, low=1, high=MAX_ID)


def optional_id(raw: str | None) -> int | None:
    """A form field or query parameter that may hold an id: anything else (empty, junk, out of range) is ignored,
    as when it was not sent (`?reply_to=`, `?quote=`, `/mod/audit?before=`)."""
    return parse_id(raw) if raw else None


def id_field(raw: str | None, name: str) -> int | None:
    """A form field that must be an id when it is given: empty is None, anything else that is not an id is a
    400 naming the field (so junk never falls back to "all")."""
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        raise ValidationFailed(fields={name: N_("Must be a whole number.")})
    return value


def page_param(raw: str | None, *, default: int = 1, low: int = 0, high: int = MAX_PAGE) -> int:
    """`?page=N` (or `?after=N`): absent or empty gives the default; a value that is not a number in range is a
    page that does not exist (404)."""
    if raw is None or raw == "":
        return default
    value = parse_int(raw, low=low, high=high)
    if value is None:
        raise NotFound()
    return value


def cursor_param(raw: str | None) -> tuple[datetime, int] | None:
    """`before=<ISO time>_<id>`, where the next page of a keyset-paged list starts; absent gives None, anything
    malformed or out of range is 404. The time comes back aware, in UTC."""
    if not raw:
        return None
    if len(raw) > CURSOR_MAX_LENGTH or not raw.isascii():
        raise NotFound()
    when, _sep, id_text = raw.rpartition("_")
    row_id = parse_id(id_text)
    try:
        moment = datetime.fromisoformat(when) if when else None
    except ValueError:
        moment = None
    if row_id is None or moment is None or not _CURSOR_YEARS[0] <= moment.year <= _CURSOR_YEARS[1]:
        raise NotFound()
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment, row_id


def cursor_text(moment: datetime, row_id: int) -> str:
    """The `before=` value cursor_param reads back: where the page after the row (moment, row_id) starts."""
    return f"{moment.isoformat()}_{row_id}"
