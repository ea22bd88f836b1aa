"""Post bodies for the seed: a few hundred varied Markdown sources, cooked once through forum.markup and reused.

Cooking is what the write path does (markdown-it, then bleach); doing it once per distinct body keeps a
million-post seed fast while every stored row still holds exactly what the services would store for that
source. Words follow a Zipf-like spread over a Norwegian vocabulary plus a long tail of made-up words, so
full-text search meets both very common and rare terms.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from forum import markup
from forum.services.search import clean_text
from forum.services.stemming import stems_text

COMMON = """
og i det som er på for til en at av med ikke har jeg vi kan du den de om så men fra eller skal må
når hvor hvordan hva hvorfor kunde faktura fakturaer eksport import rapport rapporter prosjekt prosjekter
timer timeføring lønn lønnskjøring bilag regnskap mva avgift bank betaling betalinger kontoer konto
innstillinger bruker brukere tilgang rolle roller passord innlogging feilmelding feil problem løsning
oppdatering versjon modul modulen integrasjon api nøkkel tjeneste server database sikkerhetskopi
sjåfør sjåfører kjøring kjøretøy ordre ordrer lager varer vare produkt produkter pris priser rabatt
kunder leverandør leverandører avdeling avdelinger ansatt ansatte ferie fravær sykemelding overtid
periode måned år uke dag dato frist forfall purring kreditnota saldo reskontro hovedbok årsoppgjør
skattemelding a-melding altinn saf-t csv excel pdf utskrift e-post varsel varsler mal maler felt
""".split()
STEMS = ["fakt", "ekspo", "rapp", "prosj", "lønn", "regn", "bila", "kund", "leve", "sjåf", "ordr", "lage",
         "innst", "tilg", "oppd", "integ", "sikk", "peri", "forf", "purr", "kred", "hove", "årso", "skat"]
SYLLABLES = ["ka", "ri", "mo", "len", "ber", "sto", "vik", "dal", "holm", "gård", "ås", "bø", "lie", "nes",
             "fjell", "sand", "by", "strand", "øy", "rud", "heim", "stad", "land", "vol", "ter", "ski"]


def _vocabulary(rng: random.Random) -> list[str]:
    tail = set()
    while len(tail) < 6000:
        tail.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return COMMON + sorted(tail)


def _weights(n: int) -> list[float]:
    return [1.0 / (rank + 1) ** 1.05 for rank in range(n)]


class Words:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.vocab = _vocabulary(rng)
        self.cum = []
        total = 0.0
        for w in _weights(len(self.vocab)):
            total += w
            self.cum.append(total)

    def take(self, k: int) -> list[str]:
        return self.rng.choices(self.vocab, cum_weights=self.cum, k=k)

    def sentence(self, lo: int = 6, hi: int = 18) -> str:
        words = self.take(self.rng.randint(lo, hi))
        return " ".join(words).capitalize() + self.rng.choice([".", ".", ".", "?", "!"])

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(1, 4)))


def _markdown(words: Words) -> str:
    rng = words.rng
    blocks = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if kind < 0.62:
            text = words.paragraph()
            if rng.random() < 0.3:
                w = words.take(1)[0]
                text = text.replace(f" {w} ", f" **{w}** ", 1)
            if rng.random() < 0.25:
                text += f" Se `{rng.choice(['Rapporter → Eksport', 'ordre-ID', 'mva_kode', 'konto 1920'])}`."
            if rng.random() < 0.15:
                text += f" Mer på https://hjelp.example.no/artikkel/{rng.randint(100, 9999)}"
            blocks.append(text)
        elif kind < 0.8:
            marker = rng.choice(["-", "1."])
            blocks.append("\n".join(f"{marker} {words.sentence(3, 9)}" for _ in range(rng.randint(2, 5))))
        elif kind < 0.9:
            blocks.append("```\n" + "\n".join(
                f"{rng.choice(['GET', 'POST'])} /api/v2/{'/'.join(words.take(2))} -> {rng.randint(200, 503)}"
                for _ in range(rng.randint(2, 6))) + "\n```")
        elif kind < 0.95:
            blocks.append("> " + words.sentence())
        else:
            rows = "\n".join(f"| {words.take(1)[0]} | {rng.randint(1, 9999)} kr |" for _ in range(rng.randint(2, 4)))
            blocks.append("| Felt | Verdi |\n|---|---|\n" + rows)
    return "\n\n".join(blocks)


@dataclass(frozen=True)
class Body:
    source: str   # as stored: validated like the write path does
    cooked: str   # markup.cook output, as stored
    text: str     # what search_index.body holds: clean_text(searchable_text(cooked)), as search.index_post
    stems: str    # what search_index.body_stems holds (forum/services/stemming.py)


def cook_body(source: str, mentions: dict[str, str] | None = None) -> Body:
    source = markup.validate_source(source)
    cooked = markup.cook(source, mentions=mentions or {}, quotes={})
    text = clean_text(markup.searchable_text(cooked))
    return Body(source, cooked, text, stems_text(text))


class Corpus:
    """`bodies`: plain posts. `mention_bodies(name)`: a few variants that @mention one user, cooked once each."""

    def __init__(self, seed: int = 7, count: int = 400) -> None:
        self.rng = random.Random(seed)
        self.words = Words(self.rng)
        self.bodies = [cook_body(_markdown(self.words)) for _ in range(count)]
        self._mentions: dict[str, list[Body]] = {}

    def title(self) -> str:
        words = self.words.take(self.rng.randint(3, 8))
        title = " ".join(words).capitalize()
        if len(title) < 5:
            title += " spørsmål"
        return (title + self.rng.choice(["?", "", "", " – hjelp"]))[:200]

    def mention_bodies(self, username: str, variants: int = 12) -> list[Body]:
        if username not in self._mentions:
            url = f"/u/{username}"
            self._mentions[username] = [
                cook_body(f"{self.bodies[i].source}\n\n{greet} @{username}{end}",
                          mentions={username.casefold(): url})
                for i, (greet, end) in enumerate(
                    [(g, e) for g in ("Hei", "Takk", "Spør", "Se svaret fra") for e in ("!", ", det hjalp.", "?")]
                    [:variants])]
        return self._mentions[username]


# what the search case asks: very common words, rare ones, prefixes, two-term queries, æøå
SEARCH_QUERIES = ["faktura", "eksport", "sjåfør", "lønnskjøring", "fakt", "årso", "faktura eksport",
                  "mva rapport", "kreditnota", "altinn a-melding", "feilmelding innlogging", "holmdal", "prosj"]
