"""What the words around a number say it is: the one place for the detectors' context rules.

A MOD11 KID of 11 digits is always a valid account number and often a valid fødselsnummer; a MOD10 KID,
a transaction id or a GTIN can pass Luhn with a card issuer's prefix. The checksum cannot tell them apart;
the label the writer put beside the number can. The rules:

- A **label** is a whole word (or the start of a Norwegian compound: "fakturanummer", "KID-nr"), matched
  case-insensitively. "kontor", "kontoplan", "BankID" and "bankavstemming" are not labels.
- The label that counts is the **nearest one before the number on the same line** (at most `WINDOW`
  characters back); in a table row, the nearest one in the same cell, else the **header of the number's
  column** (Markdown `|` tables, and `;`- or tab-separated blocks whose first line holds no digits); else a
  line above that ends in a colon ("Kontonummer:" on a line of its own).
- A label of the number's own kind (`POSITIVE`) makes a number count where its checksum alone would not
  (a plain 11-digit account number, a fødselsnummer valid only under the 2032 rules); a label of
  something else (`OTHER`: KID, OCR, faktura, ordre, bilag, kundenr, EAN, GTIN, strekkode, ref, transaksjon,
  org.nr, ...) makes it not count as personal data at all. A label of another personal kind is neutral.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

WINDOW = 80  # characters before a number in which its label is looked for

# Each kind: the words that make a number one of them. `(?:…)?` suffixes are the Norwegian inflections.
POSITIVE: dict[str, str] = {
    "national_id": r"fødsels(?:nummer(?:et)?|nr)|fodselsnummer|personnummer(?:et)?|personnr|fnr|f\.\s?nr\.?"
                   r"|d-nummer(?:et)?|h-nummer(?:et)?|national\s+id(?:entity)?(?:\s+number)?"
                   r"|social\s+security(?:\s+number)?|ssn|id-nummer",
    "bank_account": r"konto(?:en|nummer(?:et)?|nr\.?|-nr\.?)?|bankkonto(?:en|nummer(?:et)?|nr)?|kto\.?"
                    r"|(?:bank\s+)?account(?:\s+(?:number|no\.?|nr))?|acct\.?|mottakerkonto|kontoen",
    "card_number": r"kort(?:et|nummer(?:et)?|nr)?|(?:kreditt|betalings|debet|bank)kort(?:et)?|card(?:\s+number)?"
                   r"|visa|mastercard|amex|american\s+express",
    "phone": r"tlf\.?|telefon(?:nummer|nr)?|mobil(?:nummer|nr)?|mob\.?|phone|tel\.?|sentralbord|faks|fax|sms"
             r"|ring|direkte|sentralbordet|vakttelefon|kundeservice",
}

# Account codes of the chart of accounts ("Kontoer: 4000 4010 4020 4390"): not a card, not a phone number, and not
# a reason to call an 11-digit number an account number either.
LEDGER = r"kontoer|kontoene|kontoplan(?:en)?|konti|hovedbok(?:en|skonto|skontoer)?|kontokode(?:r|ne)?|kontostreng"

# Words that make a number something other than personal data.
OTHER = (
    r"kid(?:-?(?:nummer(?:et)?|nr\.?))?|ocr(?:-?(?:nummer|linje|referanse))?"
    r"|faktura(?:en|er|nummer(?:et)?|nr\.?|-?nr\.?|-?nummer)?|invoice(?:\s+(?:number|no\.?))?|inv\.?"
    r"|ordre(?:n|nummer(?:et)?|nr\.?|-?nr\.?)?|order(?:\s+(?:number|no\.?|id))?"
    r"|bilag(?:et|snummer|snr\.?|snr|-?nr\.?)?|voucher|kundenr\.?|kundenummer(?:et)?|kunde-?nr\.?|customer(?:\s+id)?"
    r"|ean(?:-?(?:13|8|kode|nummer))?|gtin(?:-?(?:13|14|8|12))?|strekkode(?:n)?|barcode|varenr\.?|varenummer"
    r"|ref\.?|referanse(?:n|nummer|nr)?|reference|arkivref(?:eranse)?\.?|betalingsreferanse"
    r"|transaksjon(?:en|s-?id|snummer|snr|s-?nr\.?)?|transaction(?:\s+id)?|trans\.?-?id|txn"
    r"|org\.?\s?nr\.?|orgnummer|organisasjonsnummer(?:et)?|org\.?-?nummer|foretaksnummer|mva-?nummer"
    r"|sak(?:snummer|snr)|saksnr\.?|lisens(?:nøkkel|nummer)?|serienummer|serienr\.?|sporingsnummer|sendingsnummer"
    r"|pakkenummer|prosjektnummer|prosjektnr\.?|ansattnummer|ansattnr\.?|avtalenummer|avtalenr\.?|polisenummer"
    r"|id|uuid|guid|hash|sha\d*|md5|commit|build|versjon|version|batch|lot"
)

_WORD = r"(?:{})(?![\wæøåÆØÅ])"
_LABELS = re.compile(
    "|".join(
        f"(?P<{kind}>{_WORD.format(words)})"
        for kind, words in (*POSITIVE.items(), ("ledger", LEDGER), ("other", OTHER))
    ),
    re.IGNORECASE,
)
_LETTERS = re.compile(r"[^\W\d_]+")  # runs of letters: a label can only start where one does
_DIGIT = re.compile(r"\d")
_LONGEST_ROW = 4000  # a longer "row" is a pasted blob, not a table; counting its cells per number would be quadratic


def label_in(text: str) -> str | None:
    """The kind of the last label in `text` ("other" for a label of something else, "ledger" for account
    codes), or None. The labels are tried only where a word starts (a run of letters not after a digit or `_`),
    not at every character: ten times less work for a line of numbers."""
    last = None
    for word in _LETTERS.finditer(text):
        start = word.start()
        if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            continue
        found = _LABELS.match(text, start)
        if found:
            last = found.lastgroup
    return last


@dataclass
class _Table:
    delimiter: str
    header: list[str]
    first_line_start: int
    header_labels: dict[int, str | None] = field(default_factory=dict)  # column -> its header's label, once

    def header_label(self, column: int) -> str | None:
        if column not in self.header_labels:
            self.header_labels[column] = label_in(self.header[column]) if 0 <= column < len(self.header) else None
        return self.header_labels[column]


class Context:
    """The text of one scan, with what `label` needs worked out lazily: most texts have few candidate numbers,
    so neither line starts nor tables are computed unless asked for, and each table block is read once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._tables: dict[int, _Table | None] = {}  # line start -> the table that line is a row of
        self._labels: dict[int, str | None] = {}  # several detectors ask about the same number
        self.shared: dict[str, object] = {}  # what detectors find once per text and share (`numbers._numbers`)

    def line_of(self, position: int) -> int:
        """The 0-based line number of `position`."""
        return self.text.count("\n", 0, position)

    def lines_of(self, positions: set[int]) -> dict[int, int]:
        """The 0-based line number of each position, counted in one sweep: up to 20 places of each kind, each
        counted from the start of a 200 KB text, was a sixth of a scan."""
        lines, line, counted = {}, 0, 0
        for position in sorted(positions):
            line += self.text.count("\n", counted, position)
            lines[position], counted = line, position
        return lines

    def _line_start(self, position: int) -> int:
        return self.text.rfind("\n", 0, position) + 1

    def _table_of(self, line_start: int) -> _Table | None:
        """The table whose row starts at `line_start`: walk up to the block's first line, remembering every line
        on the way, so a table of many rows is walked once."""
        if line_start in self._tables:
            return self._tables[line_start]
        text = self.text
        line_end = text.find("\n", line_start)
        line = text[line_start : line_end if line_end >= 0 else len(text)].strip()
        delimiter = "|" if line.startswith("|") else ";" if ";" in line else "\t" if "\t" in line else None
        if delimiter is None or line_start == 0:
            self._tables[line_start] = None
            return None
        visited = [line_start]
        start = line_start
        table = None
        while start > 0:
            above_start = self._line_start(start - 1)
            above = text[above_start : start - 1].strip()
            if above_start in self._tables:
                table = self._tables[above_start]
                break
            if not _is_row(above, delimiter):
                first = text[start : text.find("\n", start) if text.find("\n", start) >= 0 else len(text)].strip()
                table = self._header_table(first, delimiter, start, line_start)
                break
            visited.append(above_start)
            start = above_start
        else:
            first = text[0 : text.find("\n") if "\n" in text else len(text)].strip()
            table = self._header_table(first, delimiter, 0, line_start)
        for row in visited:
            self._tables[row] = table
        if table is not None and table.first_line_start in self._tables:
            self._tables[table.first_line_start] = None  # the header row is no row of its own table
        return self._tables[line_start]

    @staticmethod
    def _header_table(first: str, delimiter: str, first_start: int, line_start: int) -> _Table | None:
        if first_start == line_start or (delimiter != "|" and _DIGIT.search(first)):
            return None
        return _Table(delimiter, _cells(first, delimiter), first_start)

    def label(self, start: int) -> str | None:
        """The label that decides what the number starting at `start` is (see the module docstring)."""
        if start not in self._labels:
            self._labels[start] = self._label(start)
        return self._labels[start]

    def _label(self, start: int) -> str | None:
        text = self.text
        line_start = self._line_start(start)
        before = text[max(line_start, start - WINDOW) : start]
        if start - line_start <= _LONGEST_ROW:
            table = self._table_of(line_start)
            if table is not None:
                found = label_in(before.rsplit(table.delimiter, 1)[-1])  # the number's own cell
                if found is None:
                    column = text[line_start:start].lstrip().count(table.delimiter)
                    found = table.header_label(column - 1 if table.delimiter == "|" else column)
                return found
        found = label_in(before)
        if found is None and line_start > 0 and not before.strip(" \t\u00a0\u2009\u202f-*>"):
            above = text[self._line_start(line_start - 1) : line_start].strip()
            if above.endswith(":") or above.endswith(":**"):
                found = label_in(above[-WINDOW:])
        return found


def _cells(line: str, delimiter: str) -> list[str]:
    if delimiter == "|":
        line = line.strip("|")
    return [cell.strip() for cell in line.split(delimiter)]


def _is_row(line: str, delimiter: str) -> bool:
    return line.startswith("|") if delimiter == "|" else delimiter in line
