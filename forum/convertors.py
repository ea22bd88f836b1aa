"""Path `{x:int}` matches only ids a database column can hold, so a huge number is a 404, never an overflow.

Registered when the `forum` package is imported, before any route is built.
"""

from __future__ import annotations

from starlette.convertors import IntegerConvertor, register_url_convertor

MAX_ID = 2**31 - 1  # PostgreSQL `integer`; SQLite would take 2**63 - 1, but the two must behave alike


def _up_to(limit: int) -> str:
    """A regex matching the decimal numbers 0..limit (without leading zeros beyond the first digit)."""
    digits = str(limit)
    alternatives = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, char in enumerate(digits):
        last = i == len(digits) - 1
        low, high = (1 if i == 0 else 0), (int(char) if last else int(char) - 1)
        if high >= low:
            alternatives.append(digits[:i] + f"[{low}-{high}]" + ("" if last else f"[0-9]{{{len(digits) - i - 1}}}"))
    return "|".join(alternatives)


class BoundedIntegerConvertor(IntegerConvertor):
    regex = f"(?:{_up_to(MAX_ID)})"


def install() -> None:
    register_url_convertor("int", BoundedIntegerConvertor())
