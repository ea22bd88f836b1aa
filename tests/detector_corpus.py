"""A generated corpus for the personal-data and secret detectors (issue 19), with python-stdnum as the oracle.

Every sample is a realistic Norwegian sentence, table, e-mail or configuration snippet built from templates with
a fixed seed. Identifier categories hold one valid identifier (checked with stdnum, and for the 2032
fødselsnummer rule with the reference computation below); business categories hold the numbers that fill an
accounting forum (KID, invoice and voucher numbers, RF references, GTIN/EAN, account codes, statement lines,
signatures, hashes) and no personal data. The table reports, per category, the share of samples the detector
found (recall, identifiers: at least 99 %) or held (business: at most 0.5 %).

    make detector-corpus                 # or: python -m tests.detector_corpus [--samples N]
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import random
import string
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from stdnum import ean, iban, iso11649, luhn
from stdnum.no import fodselsnummer, kontonr, orgnr

SEED = 20261201
SAMPLES = 2000
RECALL_AT_LEAST = 0.99
HELD_AT_MOST = 0.005

NAMES = ["Ola Nordmann", "Kari Hansen", "Per Olsen", "Ingrid Berg", "Jonas Lie", "Sofie Dahl", "Emma Bakken"]
FIRMS = ["Regnskapshuset AS", "Fjord Bygg AS", "Nordlys Frisør", "Bakeriet på hjørnet AS", "Vest Transport AS"]
SPACES = [" ", "\u00a0", "\u2009", "\u202f"]


# --- valid identifiers, by stdnum ---------------------------------------------------------------------------------

K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def fnr_with_remainder(first_nine: str, remainder: int) -> str | None:
    """Check digits with (S1 + k1) mod 11 == remainder: 0 is the old rule, 1-3 only the 2032 rule."""
    k1 = (remainder - sum(int(d) * w for d, w in zip(first_nine, K1, strict=True))) % 11
    if k1 == 10:
        return None
    k2 = -sum(int(d) * w for d, w in zip(first_nine + str(k1), K2, strict=True)) % 11
    return None if k2 == 10 else f"{first_nine}{k1}{k2}"


def fnr(rng: random.Random, *, rule: str = "old", variant: str = "plain") -> str:
    """An old-rule number valid for stdnum (century from the individual number, born in the past), or a 2032-rule
    number (k1 one of the three new values); D-, H- or synthetic variants add 40 to the day, 40 or 80 to the month."""
    while True:
        born = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 85))
        individual = rng.randrange(0, 500) if born.year < 2000 else rng.randrange(500, 1000)
        day = born.day + (40 if variant == "d" else 0)
        month = born.month + {"h": 40, "synthetic": 80}.get(variant, 0)
        remainder = 0 if rule == "old" else rng.randint(1, 3)
        number = fnr_with_remainder(f"{day:02d}{month:02d}{born.year % 100:02d}{individual:03d}", remainder)
        if number is None:
            continue
        if rule == "old" and variant == "plain":
            assert fodselsnummer.is_valid(number)  # the oracle
        return number


def account(rng: random.Random) -> str:
    while True:
        number = _digits(rng, 10)
        for last in string.digits:
            if kontonr.is_valid(number + last) and number[:4] != "0000":
                return number + last


def mod11_kid(rng: random.Random, length: int) -> str:
    """NETS MOD11: weights 2-7 from the right; of 11 digits it is always a valid account number."""
    while True:
        body = _digits(rng, length - 1)
        total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(body)))
        check = (11 - total % 11) % 11
        if check != 10:
            kid = body + str(check)
            assert length != 11 or kid.startswith("0000") or kontonr.is_valid(kid)  # stdnum drops 0000
            return kid


def mod10_kid(rng: random.Random, length: int) -> str:
    body = _digits(rng, length - 1)
    return body + luhn.calc_check_digit(body)


def card(rng: random.Random, issuer: str) -> str:
    prefix, length = {
        "visa": ("4", 16),
        "mastercard": (str(rng.randint(51, 55)), 16),
        "mastercard2": (str(rng.randint(2221, 2720)), 16),
        "amex": (rng.choice(["34", "37"]), 15),
        "discover": ("6011", 16),
    }[issuer]
    body = prefix + _digits(rng, length - len(prefix) - 1)
    number = body + luhn.calc_check_digit(body)
    assert luhn.is_valid(number)
    return number


IBAN_COUNTRIES = [
    "NO",
    "SE",
    "DK",
    "FI",
    "DE",
    "GB",
    "NL",
    "FR",
    "PL",
    "CH",
    "AT",
    "IE",
    "IT",
    "IS",
    "EE",
]  # not ES, BE: their
# national check digits would need a generator of their own (random BBANs pass 1 in 100)


def iban_number(rng: random.Random, country: str) -> str:
    from stdnum import numdb

    structure = numdb.get("iban").info(country)[0][1]["bban"]
    while True:
        bban = ""
        for count, kind in (
            (int(part[:-2] if part.endswith("!" + part[-1]) else part[:-1]), part[-1])
            for part in _bban_parts(structure)
        ):
            alphabet = {"n": string.digits, "a": string.ascii_uppercase, "c": string.digits + string.ascii_uppercase}
            bban += "".join(rng.choice(alphabet[kind]) for _ in range(count))
        if country == "NO":
            bban = account(rng)
        number = country + iban.calc_check_digits(country + "00" + bban) + bban
        if iban.is_valid(number):  # the oracle, national check digits included
            return number


def _bban_parts(structure: str) -> list[str]:
    parts, current = [], ""
    for char in structure:
        current += char
        if char in "nace":
            parts.append(current)
            current = ""
    return parts


def rf_reference(rng: random.Random) -> str:
    body = _digits(rng, rng.randint(8, 21))
    number = "RF" + iban.calc_check_digits("RF00" + body) + body
    assert iso11649.is_valid(number)
    return number


def gtin(rng: random.Random, length: int, prefix: str = "") -> str:
    body = prefix + _digits(rng, length - 1 - len(prefix))
    number = body + ean.calc_check_digit(body)
    assert ean.is_valid(number)
    return number


def org_number(rng: random.Random) -> str:
    while True:
        body = rng.choice("89") + _digits(rng, 7)
        for last in string.digits:
            if orgnr.is_valid(body + last):
                return body + last


# --- formatting ---------------------------------------------------------------------------------------------------


def grouped(digits: str, sizes: tuple[int, ...], separator: str) -> str:
    parts, index = [], 0
    for size in sizes:
        parts.append(digits[index : index + size])
        index += size
    return separator.join(parts)


def spaced_iban(number: str, separator: str = " ") -> str:
    return separator.join(number[i : i + 4] for i in range(0, len(number), 4))


def phone(rng: random.Random, layout: str | None = None) -> str:
    digits = rng.choice("2345679") + _digits(rng, 7)
    layout = layout or rng.choice(["pairs", "323", "plus", "plain"])
    return {
        "pairs": grouped(digits, (2, 2, 2, 2), " "),
        "323": grouped(digits, (3, 2, 3), " "),
        "plus": "+47 " + grouped(digits, (3, 2, 3), " "),
        "plain": digits,
    }[layout]


def amount(rng: random.Random) -> str:
    kroner = rng.randint(50, 250_000)
    return f"{kroner:,}".replace(",", " ") + f",{rng.randint(0, 99):02d}"


def date(rng: random.Random) -> str:
    day = datetime.date(2024, 1, 1) + datetime.timedelta(days=rng.randrange(1000))
    return day.strftime("%d.%m.%Y")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --- identifier categories: (name, kind, generator) ---------------------------------------------------------------

Sample = Callable[[random.Random], str]


def _fnr_prose(rule: str, variant: str = "plain", formats: tuple[str, ...] = ("",)) -> Sample:
    def sample(rng: random.Random) -> str:
        number = fnr(rng, rule=rule, variant=variant)
        separator = rng.choice(formats)
        written = number if not separator else number[:6] + separator + number[6:]
        return rng.choice(
            [
                "Hei! Fødselsnummeret mitt er {} – hvorfor avviser A-meldingen det?",
                "Lønnsslippen til {name} viser fnr. {} og feil skattetrekk.",
                "Personnummer: {}\nNavn: {name}\nStilling: regnskapsmedarbeider",
                "Jeg prøvde å registrere ny ansatt med f.nr. {} men får feilmelding 4012.",
                "Kan noen hjelpe? D-nummer {} blir ikke godtatt i lønnssystemet.",
                "Fødselsnummer {} ble lagret to ganger på {name}.",
            ]
        ).format(written, name=rng.choice(NAMES))

    return sample


def _fnr_table(rng: random.Random) -> str:
    rows = [
        [rng.choice(NAMES), fnr(rng, rule=rng.choice(["old", "new"])), amount(rng)] for _ in range(rng.randint(1, 6))
    ]
    return "Her er utdraget fra lønnskjøringen:\n\n" + table(["Ansatt", "Fødselsnummer", "Brutto"], rows)


def _fnr_bare(rng: random.Random) -> str:
    return rng.choice(["{} – er dette riktig format?", "Jeg skrev inn {} og fikk feil.", "```\n{}\n```"]).format(
        fnr(rng, rule="old")
    )


def _account_formatted(separator_choices: tuple[str, ...]) -> Sample:
    def sample(rng: random.Random) -> str:
        number = grouped(account(rng), (4, 2, 5), rng.choice(separator_choices))
        return rng.choice(
            [
                "Lønnen til {name} skal gå til {}, men den havnet på feil konto.",
                "Kan jeg endre utbetalingen til {} for {name}?",
                "Refusjon av utlegg betales til {} (privat).",
                "Hei, {name} har fått nytt kontonummer: {}",
            ]
        ).format(number, name=rng.choice(NAMES))

    return sample


def _account_labelled(rng: random.Random) -> str:
    label = rng.choice(["Kontonummer", "kontonr.", "Bankkonto", "account number", "konto", "Kontonr:"])
    return rng.choice(
        [
            "Ansatt {name}, {label} {}, skal ha feriepenger utbetalt.",
            "{label}: {}\nNavn: {name}",
            "Jeg la inn {label} {} på {name} i lønnssystemet, men utbetalingen feilet.",
        ]
    ).format(account(rng), label=label, name=rng.choice(NAMES))


def _account_table(rng: random.Random) -> str:
    rows = [
        [
            rng.choice(NAMES) + " med et langt mellomnavn",
            "Storgata " + str(rng.randint(1, 99)) + ", 0155 Oslo",
            account(rng),
        ]
        for _ in range(rng.randint(1, 6))
    ]
    return "Utbetalingsliste for desember:\n\n" + table(["Ansatt", "Adresse", "Kontonummer"], rows)


def _iban_sample(case: str) -> Sample:
    def sample(rng: random.Random) -> str:
        number = iban_number(rng, rng.choice(IBAN_COUNTRIES))
        written = {
            "spaced": spaced_iban(number),
            "compact": number,
            "lower": spaced_iban(number).lower(),
            "nbsp": spaced_iban(number, "\u00a0"),
        }[case]
        return rng.choice(
            [
                "Leverandøren i utlandet har IBAN {} og BIC DNBANOKK.",
                "Utbetaling til {name}: IBAN: {}",
                "Hvordan legger jeg inn {} som mottaker i nettbanken?",
            ]
        ).format(written, name=rng.choice(NAMES))

    return sample


def _card_sample(issuer: str, separators: tuple[str, ...]) -> Sample:
    def sample(rng: random.Random) -> str:
        number = card(rng, issuer)
        separator = rng.choice(separators)
        sizes = (4, 6, 5) if issuer == "amex" else (4, 4, 4, 4)
        written = number if separator == "" else grouped(number, sizes, separator)
        return rng.choice(
            [
                "Kunden betalte med kort {} – hvordan refunderer jeg?",
                "Kortnummer: {}, utløp 12/27",
                "Firmakortet {} ble belastet to ganger for samme faktura.",
                "Jeg limte inn {} i betalingsfeltet ved en feil.",
            ]
        ).format(written)

    return sample


def _phone_bulk(rng: random.Random) -> str:
    lines = [
        f"{rng.choice(NAMES)}: {rng.choice(['tlf', 'mobil', 'Tlf.'])} {phone(rng)}" for _ in range(rng.randint(5, 9))
    ]
    return "Telefonliste for de ansatte (ikke del):\n" + "\n".join(lines)


def _email_bulk(rng: random.Random) -> str:
    people = rng.sample(range(10_000), rng.randint(5, 9))
    return "Send lønnsslipp til:\n" + "\n".join(
        f"- person{p}.{rng.choice(['hansen', 'olsen'])}@firma.no" for p in people
    )


def _rand(rng: random.Random, alphabet: str, count: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(count))


B64 = string.ascii_letters + string.digits + "+/"
ALNUM = string.ascii_letters + string.digits


def _secret(kind: str) -> Sample:
    def sample(rng: random.Random) -> str:
        value = {
            "aws": lambda: f"aws_secret_access_key = {_rand(rng, B64, 40)}",
            "aws-id": lambda: f"aws_access_key_id = AKIA{_rand(rng, string.ascii_uppercase + string.digits, 16)}",
            "slack": lambda: (
                f"webhook: https://hooks.slack.com/services/T{_rand(rng, ALNUM, 10)}/B{_rand(rng, ALNUM, 10)}/"
                f"{_rand(rng, ALNUM, 24)}"
            ),
            "azure": lambda: (
                "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey="
                + base64.b64encode(rng.randbytes(64)).decode()
                + ";EndpointSuffix=core.windows.net"
            ),
            "npm": lambda: f"//registry.npmjs.org/:_authToken=npm_{_rand(rng, ALNUM, 36)}",
            "gitlab": lambda: f"GITLAB_TOKEN=glpat-{_rand(rng, ALNUM + '_-', 20)}",
            "basic": lambda: (
                "Authorization: Basic "
                + base64.b64encode(f"{rng.choice(['api', 'regnskap'])}:{_rand(rng, ALNUM, 12)}".encode()).decode()
            ),
            "bearer": lambda: f'curl -H "Authorization: Bearer {_rand(rng, ALNUM, 40)}" https://api.acme.no/v2/faktura',
            "url": lambda: f"DATABASE_URL=postgres://app:{_rand(rng, ALNUM, 14)}@db.internal:5432/regnskap",
            "xml": lambda: f'<add key="SmtpPassword" value="{_rand(rng, ALNUM, 12)}" />',
            "xml-element": lambda: f"<password>{_rand(rng, ALNUM, 12)}</password>",
            "password": lambda: f"DB_PASSWORD={_rand(rng, ALNUM, 12)}{rng.randint(0, 9)}",
            "github": lambda: f"token = ghp_{_rand(rng, ALNUM, 36)}",
            "pem": lambda: (
                "-----BEGIN RSA PRIVATE KEY-----\n" + _rand(rng, B64, 64) + "\n-----END RSA PRIVATE KEY-----"
            ),
            "putty": lambda: "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: eddsa-key",
            "ssh2": lambda: "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\n" + _rand(rng, B64, 64),
        }[kind]()
        return f"Integrasjonen mot regnskapssystemet feiler. Konfigurasjonen:\n\n```\n{value}\n```\n\nHva er galt?"

    return sample


IDENTIFIERS: list[tuple[str, str, Sample]] = [
    ("fnr, old rules, prose", "national_id", _fnr_prose("old")),
    ("fnr, 2032 rules, prose", "national_id", _fnr_prose("new")),
    ("fnr, DDMMYY NNNNN / DDMMYY-NNNNN / NBSP / thin", "national_id", _fnr_prose("old", formats=(" ", "-", *SPACES))),
    ("fnr, D-number", "national_id", _fnr_prose("old", "d")),
    ("fnr, H-number", "national_id", _fnr_prose("old", "h")),
    ("fnr, synthetic (month + 80)", "national_id", _fnr_prose(rule="old", variant="synthetic")),
    ("fnr, 2032 rules, D-number", "national_id", _fnr_prose("new", "d")),
    ("fnr, table under a header", "national_id", _fnr_table),
    ("fnr, no label (old rules)", "national_id", _fnr_bare),
    ("account, 1234.56.78903 / spaces", "bank_account", _account_formatted((".", " "))),
    ("account, 1234-56-78903 / NBSP / thin", "bank_account", _account_formatted(("-", *SPACES[1:]))),
    ("account, 11 digits with a label", "bank_account", _account_labelled),
    ("account, table under a Kontonummer header", "bank_account", _account_table),
    ("IBAN, spaced", "iban", _iban_sample("spaced")),
    ("IBAN, compact", "iban", _iban_sample("compact")),
    ("IBAN, lower case", "iban", _iban_sample("lower")),
    ("IBAN, no-break spaces", "iban", _iban_sample("nbsp")),
    ("card, Visa plain / spaced / dashed", "card_number", _card_sample("visa", ("", " ", "-"))),
    ("card, Visa dotted / NBSP / thin", "card_number", _card_sample("visa", (".", *SPACES[1:]))),
    ("card, Mastercard 51-55 and 2221-2720", "card_number", _card_sample("mastercard", ("", " "))),
    ("card, Mastercard 2-series", "card_number", _card_sample("mastercard2", ("", " ", "-"))),
    ("card, American Express 4-6-5", "card_number", _card_sample("amex", ("", " "))),
    ("card, Discover", "card_number", _card_sample("discover", ("", " "))),
    ("phones, 5-9 of them", "phone_bulk", _phone_bulk),
    ("e-mail addresses, 5-9 of them", "email_bulk", _email_bulk),
    *[
        (f"secret, {kind}", "private_key" if kind in ("pem", "putty", "ssh2") else "api_key", _secret(kind))
        for kind in (
            "aws",
            "aws-id",
            "slack",
            "azure",
            "npm",
            "gitlab",
            "basic",
            "bearer",
            "url",
            "xml",
            "xml-element",
            "password",
            "github",
            "pem",
            "putty",
            "ssh2",
        )
    ],
]


# --- business categories: nothing here is personal data ----------------------------------------------------------


def _invoice_list(rng: random.Random) -> str:
    numbers = [rng.choice("23456789") + _digits(rng, 7) for _ in range(rng.randint(5, 8))]
    return rng.choice(
        [
            "Følgende fakturaer er ikke betalt: {}. Hvordan sender jeg purring på alle?",
            "Bilagene {} mangler vedlegg etter importen.",
            "Disse ordrene ble fakturert dobbelt:\n{}",
            "Jeg finner ikke bilag {} i hovedboken.",
        ]
    ).format(rng.choice([", ", " ", "\n"]).join(numbers))


KONTO_WORDS = [
    "kontor",
    "kontoplan",
    "BankID",
    "bankavstemming",
    "konto",
    "bankkontoen",
    "nettbanken",
    "kontoutskriften",
    "hovedbokskonto",
]


def _kid11_near_konto(rng: random.Random) -> str:
    kid = mod11_kid(rng, 11)
    return rng.choice(
        [
            f"Jeg betalte fra {rng.choice(KONTO_WORDS)} med KID {kid}, men fakturaen står fortsatt åpen.",
            f"Etter {rng.choice(KONTO_WORDS)} ser jeg at KID-nummer {kid} ble brukt to ganger.",
            f"Kunden skrev KID {kid} i feil felt i {rng.choice(KONTO_WORDS)}.",
            f"OCR-filen har KID {kid} på en innbetaling vi ikke finner på {rng.choice(KONTO_WORDS)}.",
            f"Fakturanummer 2026{rng.randint(100, 999)}, KID {kid} – hvorfor matcher ikke {rng.choice(KONTO_WORDS)}?",
            f"KID: {kid}\nBeløp: {amount(rng)}\nForfall: {date(rng)}\n(betalt fra {rng.choice(KONTO_WORDS)})",
        ]
    )


def _kid_table(rng: random.Random) -> str:
    rows = [
        [f"2026{rng.randint(1000, 9999)}", mod11_kid(rng, 11), amount(rng), date(rng)] for _ in range(rng.randint(2, 8))
    ]
    return "Innbetalinger fra bankkontoen som ikke ble avstemt:\n\n" + table(["Faktura", "KID", "Beløp", "Dato"], rows)


def _rf_reference(rng: random.Random) -> str:
    ref = rf_reference(rng)
    written = rng.choice([spaced_iban(ref), ref, spaced_iban(ref).lower()])
    return rng.choice(
        [
            f"Leverandøren i Finland ber om betaling med referanse {written}.",
            f"Hva er {written}? Den står på fakturaen der KID skulle vært.",
            f"Betalingsreferanse: {written}",
            f"{written}\nBeløp EUR {amount(rng)}",
        ]
    )


def _signature(rng: random.Random) -> str:
    firm = rng.choice(FIRMS)
    phones = [phone(rng, rng.choice(["pairs", "323", "plus"])) for _ in range(rng.randint(2, 4))]
    labels = ["Sentralbord", "Mobil", "Direkte", "Faks"]
    lines = [f"{labels[i]}: {p}" for i, p in enumerate(phones)]
    signature = (
        f"Med vennlig hilsen\n{rng.choice(NAMES)}\n{firm}\n"
        + "\n".join(lines)
        + f"\nOrg.nr {grouped(org_number(rng), (3, 3, 3), ' ')} MVA\nwww.firma.no"
    )
    quoted = "\n".join("> " + line for line in signature.splitlines())
    return f"Hei,\n\nFakturaen er sendt på nytt.\n\n{signature}\n\n{quoted if rng.random() < 0.5 else ''}"


def _mod10_kid(rng: random.Random) -> str:
    kid = mod10_kid(rng, rng.randint(13, 19))
    return rng.choice(
        [
            f"KID {kid} blir avvist i nettbanken.",
            f"KID-nummer: {kid}",
            f"Innbetaling med KID {kid} er ikke registrert.",
            f"OCR-linjen har KID {kid}.",
        ]
    )


def _structured_kid(rng: random.Random) -> str:
    customer, invoice = _digits(rng, 6), _digits(rng, 8)
    kid = customer + invoice
    kid += luhn.calc_check_digit(kid)
    return rng.choice(
        [
            f"KID bygges av kundenr og fakturanr: {kid}",
            f"KID: {grouped(kid, (6, 8, 1), ' ')}",
            f"Strukturert KID {kid} feiler i avstemmingen.",
        ]
    )


def _transaction_id(rng: random.Random) -> str:
    number = mod10_kid(rng, 16)
    return rng.choice(
        [
            f"Transaksjons-ID {number} står som avvist.",
            f"Transaksjon {number} mangler i bankfilen.",
            f"Ref: {number}",
            f"transaction id {number} failed with status 402",
        ]
    )


def _gtin(rng: random.Random) -> str:
    code = rng.choice([gtin(rng, 14), gtin(rng, 13, rng.choice(["40", "41", "50", "54", "70", "73", "87"]))])
    return rng.choice(
        [
            f"EAN {code} finnes ikke i varelisten.",
            f"GTIN: {code}",
            f"Strekkode {code} leses feil.",
            f"Varenr 1001, EAN-13 {code}, pris {amount(rng)}",
            table(["Vare", "EAN", "Pris"], [["Kaffe 500 g", code, amount(rng)]]),
        ]
    )


def _statement(rng: random.Random) -> str:
    rows = []
    for _ in range(rng.randint(3, 8)):
        rows.append(
            rng.choice(
                [
                    f"{date(rng)};Varekjøp REMA 1000 Dato {date(rng)[:5]} Kort *{_digits(rng, 4)};-{amount(rng)};;",
                    f"{date(rng)};Giro KID {mod11_kid(rng, 11)};-{amount(rng)};;",
                    f"{date(rng)};Overføring Innland Arkivref {_digits(rng, 11)};;{amount(rng)};",
                    f"{date(rng)};Nettgiro til: Fjord Bygg AS Betalt: {date(rng)[:5]};-{amount(rng)};;",
                    f"{date(rng)};Avtalegiro Ref. {_digits(rng, 16)};-{amount(rng)};;",
                ]
            )
        )
    return "Kontoutskriften ser slik ut:\n\n```\nDato;Forklaring;Ut;Inn;Rentedato\n" + "\n".join(rows) + "\n```"


def _account_codes(rng: random.Random) -> str:
    codes = sorted(
        rng.sample(
            [
                1500,
                1920,
                2400,
                2700,
                3000,
                3100,
                4000,
                4010,
                4020,
                4300,
                4390,
                5000,
                5400,
                6300,
                6800,
                7140,
                7700,
                8050,
            ],
            rng.randint(4, 7),
        )
    )
    codes_text = " ".join(map(str, codes))
    return rng.choice(
        [
            f"Kontoer: {codes_text}",
            f"Vi bokfører på kontoene {codes_text} – er det riktig?",
            f"Kontoplanen har {codes_text} som aktive kontoer.",
            f"Saldo per konto\n{codes_text}",
        ]
    )


def _env_dump(rng: random.Random) -> str:
    return (
        "Jobben feiler, her er miljøet:\n```\n"
        f"PWD=/srv/integrasjon{rng.randint(2020, 2026)}\nOLDPWD=/home/{rng.choice(['ola', 'kari'])}\n"
        f"HOSTNAME=app-{rng.randint(1, 99):02d}\nLANG=nb_NO.UTF-8\nPATH=/usr/local/bin:/usr/bin\n"
        f"TOKEN_URL=https://login.acme.no/oauth2/token\nDB_PASSWORD=${{DB_PASSWORD}}\nSHLVL={rng.randint(1, 3)}\n```"
    )


def _hashes(rng: random.Random) -> str:
    blob = rng.randbytes(16)
    return rng.choice(
        [
            f"INFO upload ferdig md5={hashlib.md5(blob).hexdigest()} størrelse={rng.randint(1000, 99999)}",
            f"sha256: {hashlib.sha256(blob).hexdigest()}  regnskap-{rng.randint(1, 9)}.{rng.randint(0, 20)}.tar.gz",
            f'<script src="/app.js" integrity="sha384-{base64.b64encode(hashlib.sha384(blob).digest()).decode()}">',
            f"request_id={uuid.UUID(bytes=blob)} status=500 path=/api/faktura",
            f"commit {hashlib.sha1(blob).hexdigest()}\nAuthor: {rng.choice(NAMES)}\n\n    Rett MVA-kode",
        ]
    )


def _invoice_prose(rng: random.Random) -> str:
    return (
        f"Faktura {rng.randint(10000, 99999)} datert {date(rng)} på {amount(rng)} kr fra {rng.choice(FIRMS)}, "
        f"org.nr {org_number(rng)}, forfaller {date(rng)}. Ordrenummer {rng.randint(10**7, 10**8 - 1)}, "
        f"kundenr {rng.randint(1000, 99999)}. Vi kjører versjon {rng.randint(1, 9)}.{rng.randint(0, 30)}."
    )


def _invoice_numbers_11(rng: random.Random) -> str:
    number = mod11_kid(rng, 11)
    return rng.choice(
        [
            f"Fakturanummer {number} er sendt til kunden.",
            f"Ordre {number} er levert.",
            f"Bilag {number} er bokført på feil periode.",
            f"Kundenr. {number} finnes allerede.",
        ]
    )


def _org_numbers(rng: random.Random) -> str:
    numbers = [org_number(rng) for _ in range(rng.randint(3, 6))]
    return "Leverandørene våre (org.nr): " + ", ".join(grouped(n, (3, 3, 3), rng.choice([" ", ""])) for n in numbers)


BUSINESS: list[tuple[str, Sample]] = [
    ("5-8 invoice or voucher numbers (8 digits)", _invoice_list),
    ("MOD11 KID (11 digits) near konto/bank words", _kid11_near_konto),
    ("MOD11 KIDs in a table", _kid_table),
    ("RF creditor references", _rf_reference),
    ("e-mail signatures, 2-4 company phones", _signature),
    ("MOD10 KIDs, 13-19 digits", _mod10_kid),
    ("structured KIDs", _structured_kid),
    ("16-digit transaction ids", _transaction_id),
    ("GTIN-14 and imported EAN-13", _gtin),
    ("bank statement lines", _statement),
    ("account code lists", _account_codes),
    ("environment dumps", _env_dump),
    ("hashes, SRI, UUIDs, commit ids in logs", _hashes),
    ("invoice prose: dates, amounts, org.nr, order no.", _invoice_prose),
    ("11-digit invoice, order, voucher numbers", _invoice_numbers_11),
    ("organisation number lists", _org_numbers),
]


# --- running it ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    category: str
    expected: str | None  # the kind an identifier sample must be found as; None for business text
    samples: int
    hits: int  # found as `expected`, or held at all (business)

    @property
    def share(self) -> float:
        return self.hits / self.samples

    @property
    def passed(self) -> bool:
        return self.share >= RECALL_AT_LEAST if self.expected else self.share <= HELD_AT_MOST


def run(scan: Callable[[str], list], samples: int = SAMPLES, seed: int = SEED) -> list[Row]:
    rows = []
    for index, (category, kind, make) in enumerate(IDENTIFIERS):
        rng = random.Random(f"{seed}-id-{index}")
        hits = sum(kind in {f.kind for f in scan(make(rng))} for _ in range(samples))
        rows.append(Row(category, kind, samples, hits))
    for index, (category, make) in enumerate(BUSINESS):
        rng = random.Random(f"{seed}-business-{index}")
        hits = sum(bool(scan(make(rng))) for _ in range(samples))
        rows.append(Row(category, None, samples, hits))
    return rows


def held_examples(scan: Callable[[str], list], category: str, count: int = 3, samples: int = SAMPLES) -> list[str]:
    """The first business samples of a category that were held, to see why (for development)."""
    index, make = next((i, m) for i, (c, m) in enumerate(BUSINESS) if c == category)
    rng = random.Random(f"{SEED}-business-{index}")
    texts = (make(rng) for _ in range(samples))
    return [text for text in texts if scan(text)][:count]


def markdown(rows: list[Row]) -> str:
    lines = ["| category | kind | samples | found / held | target | ok |", "|---|---|---:|---:|---|---|"]
    for row in rows:
        target = f"found ≥ {RECALL_AT_LEAST:.0%}" if row.expected else f"held ≤ {HELD_AT_MOST:.1%}"
        lines.append(
            f"| {row.category} | {row.expected or 'business'} | {row.samples} | {row.share:.2%} | {target} "
            f"| {'yes' if row.passed else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=SAMPLES)
    args = parser.parse_args(argv)
    from moderation.detectors import scan

    started = time.perf_counter()
    rows = run(scan, args.samples)
    print(markdown(rows))
    total = sum(row.samples for row in rows)
    print(f"\n{total} samples, seed {SEED}, {time.perf_counter() - started:.1f} s")
    return 0 if all(row.passed for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
