"""Path `{x:int}` matches only ids a database column can hold, so a huge number is a 404, never an overflow.

The range is forum.params.MAX_ID, the same bound every id in a query string, form or JSON body is parsed with;
the regex is ASCII digits only (Starlette's own `[0-9]+` would also be, but has no bound).

Registered when the `forum` package is imported, before any route is built.
"""

from __future__ import annotations

from starlette.convertors import IntegerConvertor, register_url_convertor

from forum.params import MAX_ID, parse_int


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

    def convert(self, value: str) -> int:
        return parse_int(value, low=0, high=MAX_ID)  # the regex matched, so this is a number (0 is a 404 later)


def install() -> None:
    register_url_convertor("int", BoundedIntegerConvertor())
