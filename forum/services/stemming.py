"""Norwegian stems for the search index: one home for how a word is reduced, for both databases.

Snowball's Norwegian stemmer (PyStemmer, the same algorithm as PostgreSQL's `norwegian` configuration) takes
"fakturaen" and "fakturaer" to "faktura" but "faktura" itself to "faktur". So a word's stem here is the stem
of its Snowball stem ("fakturaen", "fakturaer" and "faktura" all give "faktur"), the same function on the text
and on the query. The index holds the stems as text in columns of their own (`title_stems`, `body_stems`),
computed here for SQLite and PostgreSQL alike (PostgreSQL's `norwegian` configuration stems once, so it would
miss "faktura" for "fakturaen"), so both databases find and rank the same posts; the measured effect is in the
README ("Search quality").

STOP_WORDS are left out of the similar-question lookup (forum/services/similar.py), which ORs a title's words:
"hvordan" or "jeg" would otherwise match most of the forum.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+")
_STEMMER = Stemmer.Stemmer("norwegian")

STOP_WORDS = frozenset("""
alle at av bare ble bli blir da de dei den denne der dere deres det dette di din disse dit ditt du eg ein eit
eller en er et ett etter for fordi fra før ha hadde han hans har hennar henne hennes her hit hjå ho hoe honom
hoss hossen hun hva hvem hver hvilke hvilken hvis hvor hvordan hvorfor i ikke ikkje ingen ingi inkje inn inni ja
jeg kan kom korleis korso kun kunne kva kvar kvarhelst kven kvi kvifor man mange me med medan meg meget mellom
men mi min mine mitt mot mykje må måtte ned no noe noen noka noko nokon nokor nokre nå når og også om opp oss
over på samme seg selv si sia sidan siden sin sine sitt sjøl skal skulle slik so som somme somt så sånn til um
upp ut uten var vart varte ved vere verte vi vil ville vore vors vort vår være vært å
""".split())


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """One word's stem (lower-cased): Snowball's stem of its Snowball stem."""
    return _STEMMER.stemWord(_STEMMER.stemWord(word.casefold()))


def stems_text(text: str) -> str:
    """What the index's stem columns hold for a text: every word's stem, space-separated, in order."""
    return " ".join(stem(word) for word in _WORD.findall(text or ""))
