"""Issue 19: each checksum rule (python-stdnum where it has one, the 2032 fødselsnummer rule written here) and
each context rule of the detectors, one test per rule; the generated corpus (test_detector_corpus.py) measures
them in bulk."""

import datetime

import pytest
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.no import kontonr

from moderation.detectors import scan, valid_fnr, valid_iban, valid_no_account
from moderation.detectors.checksums import card_issuer, fnr_2032_rule, fnr_old_rule, valid_card

K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def kinds(text: str) -> list[str]:
    return [finding.kind for finding in scan(text)]


def fnr_with(first_nine: str, k1_remainder: int) -> str | None:
    """Check digits such that (S1 + k1) mod 11 == k1_remainder (0: the old rule; 1-3: only the 2032 rule)."""
    k1 = (k1_remainder - sum(int(d) * w for d, w in zip(first_nine, K1_WEIGHTS, strict=True))) % 11
    if k1 == 10:
        return None
    k2 = -sum(int(d) * w for d, w in zip(first_nine + str(k1), K2_WEIGHTS, strict=True)) % 11
    return None if k2 == 10 else f"{first_nine}{k1}{k2}"


def first_fnr(date: str, individuals: range, k1_remainder: int) -> str:
    return next(n for i in individuals if (n := fnr_with(f"{date}{i:03d}", k1_remainder)) is not None)


# --- fødselsnummer: the old rules, the 2032 rules, D-, H- and synthetic numbers -----------------------------------


def test_skatteetatens_published_test_numbers_are_valid_and_the_last_only_under_the_2032_rule():
    assert all(valid_fnr(n) for n in ("02013299997", "30108299920", "30108299939"))
    assert fnr_old_rule("30108299920") and not fnr_old_rule("30108299939")
    assert fnr_2032_rule("30108299939")
    # 999 with year 32 reads as 2032 under the old century rule: not born yet; under the 2032 rule, 1932.
    assert not fnr_old_rule("02013299997") and fnr_2032_rule("02013299997")


@pytest.mark.parametrize("remainder", [1, 2, 3])
def test_2032_rule_accepts_each_of_the_three_new_first_check_digits(remainder):
    fnr = first_fnr("150385", range(100, 500), remainder)
    assert fnr_2032_rule(fnr) and not fnr_old_rule(fnr)
    assert kinds(f"Fødselsnummer: {fnr}") == ["national_id"]
    assert kinds(f"Vi fikk {fnr} i svar") == []  # alone, a number must pass the stricter old rules


def test_2032_rule_rejects_a_first_check_digit_outside_the_four_values():
    fnr = first_fnr("150385", range(100, 500), 0)
    for k1 in range(10):
        candidate = fnr[:9] + str(k1)
        candidate += str(-sum(int(d) * w for d, w in zip(candidate, K2_WEIGHTS, strict=True)) % 11 % 10)
        s1 = sum(int(d) * w for d, w in zip(candidate[:9], K1_WEIGHTS, strict=True))
        if (s1 + k1) % 11 > 3:
            assert not fnr_2032_rule(candidate)


def test_old_rule_is_stdnums_and_takes_the_century_from_the_individual_number():
    assert fnr_old_rule(first_fnr("010190", range(0, 500), 0))  # 1990
    assert fnr_old_rule(first_fnr("010105", range(500, 1000), 0))  # 2005
    assert fnr_old_rule(first_fnr("010160", range(500, 750), 0))  # 1860
    assert fnr_old_rule(first_fnr("010160", range(900, 1000), 0))  # 1960
    stray = first_fnr("010160", range(750, 900), 0)  # 750-899 with a year from 40: no century
    assert not fnr_old_rule(stray) and fnr_2032_rule(stray)
    assert kinds(f"Jeg skrev {stray}") == [] and kinds(f"Personnummer {stray}") == ["national_id"]


def test_a_future_date_under_the_old_century_rule_fails_the_old_rule():
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    fnr = first_fnr(tomorrow.strftime("%d%m%y"), range(500, 1000), 0)
    assert not fnr_old_rule(fnr)
    assert kinds(f"Jeg skrev {fnr}") == []


def test_29_february_needs_a_leap_year_in_some_century():
    assert not valid_fnr(first_fnr("290201", range(0, 500), 0))  # no century makes 01 a leap year
    in_1900 = first_fnr("290200", range(0, 500), 0)  # 1900 was no leap year; 2000 was
    assert not fnr_old_rule(in_1900) and fnr_2032_rule(in_1900)
    assert fnr_old_rule(first_fnr("290200", range(500, 1000), 0))  # 2000


def test_every_number_valid_under_the_old_rules_is_valid_under_the_2032_rules():
    """`valid_fnr` asks the 2032 rule alone (it is the faster one), which is right only if the old rules are a
    subset: every date, D-, H- and synthetic offset, every first check digit."""
    import random

    from tests.detector_corpus import fnr

    rng = random.Random(19)
    variants = ("plain", "d", "h", "synthetic")
    numbers = [fnr(rng, rule="old", variant=variant) for variant in variants for _ in range(500)]
    numbers += [f"{rng.randrange(10**11):011d}" for _ in range(50_000)]
    old = [number for number in numbers if fnr_old_rule(number)]
    assert len(old) > 2000
    assert all(fnr_2032_rule(number) and valid_fnr(number) for number in old)


@pytest.mark.parametrize("date", ["310290", "310490", "001090", "011390", "320190"])
def test_impossible_dates_fail_both_rules(date):
    for remainder in range(4):
        fnr = first_fnr(date, range(0, 500), remainder)
        assert not valid_fnr(fnr)


def test_d_number_adds_40_to_the_day():
    fnr = first_fnr("410190", range(0, 500), 0)
    assert fnr_old_rule(fnr) and kinds(fnr) == ["national_id"]
    assert not valid_fnr(first_fnr("720190", range(0, 500), 0))  # day 32


def test_h_number_adds_40_to_the_month():
    fnr = first_fnr("014190", range(0, 500), 0)
    assert fnr_old_rule(fnr) and kinds(fnr) == ["national_id"]


def test_synthetic_test_number_adds_80_to_the_month():
    fnr = first_fnr("018190", range(0, 500), 0)
    assert fnr_old_rule(fnr) and kinds(fnr) == ["national_id"]
    new = first_fnr("018190", range(0, 500), 2)
    assert fnr_2032_rule(new) and not fnr_old_rule(new)
    assert not valid_fnr(first_fnr("019390", range(0, 500), 0))  # month 13


@pytest.mark.parametrize("separator", ["", " ", "-", "\u00a0", "\u2009", "\u202f"])
def test_fodselsnummer_formats_people_write(separator):
    fnr = "30108299920"
    assert kinds(f"Fnr: {fnr[:6]}{separator}{fnr[6:]}") == ["national_id"]


# --- accounts, IBAN, cards ----------------------------------------------------------------------------------------


def account(first_ten: str) -> str:
    return next(a for last in "0123456789" if kontonr.is_valid(a := first_ten + last))


ACCOUNT = account("1503123456")


@pytest.mark.parametrize("separator", [".", " ", "-", "\u00a0", "\u2009", "\u202f"])
def test_formatted_account_numbers_in_the_ways_people_write_them(separator):
    formatted = separator.join((ACCOUNT[:4], ACCOUNT[4:6], ACCOUNT[6:]))
    assert kinds(f"Betal til {formatted} innen fredag") == ["bank_account"]
    assert valid_no_account(ACCOUNT)


def test_1234_56_78903_is_found():
    assert kinds("Kontoen er 1234-56-78903.") == ["bank_account"]


@pytest.mark.parametrize("word", ["kontor", "kontoplan", "BankID", "bankavstemming", "kontorsjef"])
def test_words_that_merely_contain_konto_or_bank_are_no_account_label(word):
    assert kinds(f"Vi bruker {word} hver dag, KID-en er {ACCOUNT}") == []
    assert kinds(f"{word}: {ACCOUNT}") == []


@pytest.mark.parametrize("label", ["Kontonummer", "kontonr.", "bankkonto", "account number", "Konto"])
def test_account_labels_make_a_plain_11_digit_number_an_account(label):
    assert kinds(f"{label} {ACCOUNT}") == ["bank_account"]


@pytest.mark.parametrize("label", ["KID", "OCR", "Faktura", "Ordre", "Bilag", "Kundenr", "Ref", "Transaksjon",
                                   "org.nr"])
def test_labels_of_something_else_win_over_a_formatted_account(label):
    formatted = f"{ACCOUNT[:4]}.{ACCOUNT[4:6]}.{ACCOUNT[6:]}"
    assert kinds(f"{label}: {formatted}") == []
    assert kinds(f"Betal til konto 1111.22.33333, {label}: {ACCOUNT}") == []


def test_account_number_under_a_table_header_far_away_is_found():
    rows = "\n".join(f"| Leverandør nummer {n} med et langt navn AS | Oslo sentrum | {ACCOUNT} |" for n in range(3))
    table = "| Leverandør | Adresse | Kontonummer |\n|---|---|---|\n" + rows
    assert kinds(table) == ["bank_account"]
    assert scan(table)[0].lines == (3, 4, 5)
    assert kinds(table.replace("Kontonummer", "KID")) == []


def test_account_number_on_the_line_after_its_label_is_found():
    assert kinds(f"Kontonummer:\n{ACCOUNT}") == ["bank_account"]


def with_iban_check(country: str, bban: str) -> str:
    return country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban


def test_rf_creditor_reference_is_no_iban():
    assert not valid_iban("RF18539007547034")
    assert kinds("Betal med referanse RF18 5390 0754 7034") == []
    assert kinds("RF43 3879 4462 4694 4143 108") == []


def test_iban_with_a_wrong_national_check_digit_or_length_is_not_found():
    wrong_account = ACCOUNT[:10] + str((int(ACCOUNT[10]) + 1) % 10)
    assert not valid_iban(with_iban_check("NO", wrong_account))  # mod-97 holds, the account digit does not
    assert valid_iban(with_iban_check("NO", ACCOUNT))
    assert not valid_iban(with_iban_check("DE", "37040044053201300"))  # 21 characters, Germany has 22
    assert not valid_iban(with_iban_check("QQ", "1234567890123"))  # no such country


@pytest.mark.parametrize("write", [str.lower, lambda s: s.replace(" ", "\u00a0"), lambda s: s.replace(" ", "")])
def test_iban_in_lower_case_and_with_no_break_spaces_is_found(write):
    assert kinds("IBAN: " + write("GB82 WEST 1234 5698 7654 32")) == ["iban"]


@pytest.mark.parametrize("card", ["4111.1111.1111.1111", "4111\u00a01111\u00a01111\u00a01111",
                                  "5555-5555-5555-4444", "3782 822463 10005"])
def test_card_numbers_in_the_ways_people_write_them(card):
    assert kinds(f"Kort: {card}") == ["card_number"]


def test_card_lengths_are_the_issuers():
    assert card_issuer("4111111111111111") == "visa"
    assert card_issuer("4222222222222") is None  # 13-digit Visa: no longer issued, and an EAN's length
    assert card_issuer("378282246310005") == "amex" and card_issuer("3782822463100050") is None
    assert card_issuer("5555555555554444") == "mastercard" and card_issuer("55555555555544441") is None


def luhn_number(prefix: str, length: int) -> str:
    body = prefix + "7" * (length - len(prefix) - 1)
    return body + luhn.calc_check_digit(body)


@pytest.mark.parametrize("label", ["KID", "Transaksjon", "Ref", "GTIN", "EAN", "strekkode", "Ordre"])
def test_luhn_valid_numbers_labelled_as_something_else_are_no_card(label):
    number = luhn_number("4", 16)
    assert valid_card(number)
    assert kinds(f"{label}: {number}") == []
    assert kinds(f"Kort: {number}") == ["card_number"]


def test_unlabelled_gtin_14_is_no_card():
    body = "3600000000000"
    gtin = body + str((10 - sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body)) % 10) % 10)
    if luhn.is_valid(gtin):
        assert kinds(f"Vare {gtin}") == []


def test_account_code_lists_are_no_card():
    codes = next(f"Kontoer: 4000 4010 4020 {c}" for c in range(4000, 5000, 10)
                 if luhn.is_valid(f"400040104020{c}"))
    assert kinds(codes) == []
    assert kinds(codes + " 5000") == []


# --- phone numbers ------------------------------------------------------------------------------------------------


def test_lists_of_8_digit_invoice_numbers_are_no_phone_numbers():
    assert kinds("Fakturaene 23456781, 34567812, 45678123, 56781234, 67812345 og 78123456 er betalt") == []
    assert kinds("Bilag: 23456781 34567812 45678123 56781234 67812345") == []


def test_five_labelled_phone_numbers_are_bulk():
    lines = "\n".join(f"Tlf: {n}" for n in (23456781, 34567812, 45678123, 56781234, 67812345))
    assert kinds(lines) == ["phone_bulk"]
