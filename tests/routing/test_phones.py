"""Phone numbers as people in Peru write them, to E.164."""

import pytest

from routing.phones import is_mobile, to_e164


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        # mobiles, however written
        ("987654321", "+51987654321"),
        ("987 654 321", "+51987654321"),
        ("987-654-321", "+51987654321"),
        ("987.654.321", "+51987654321"),
        (" 987654321 ", "+51987654321"),
        ("+51987654321", "+51987654321"),
        ("+51 987 654 321", "+51987654321"),
        ("+51 (987) 654-321", "+51987654321"),
        ("0051987654321", "+51987654321"),
        ("00 51 987 654 321", "+51987654321"),
        ("51987654321", "+51987654321"),  # Telegram's contact, without its +
        ("51 987 654 321", "+51987654321"),
        # Lima landlines
        ("012345678", "+5112345678"),
        ("01 234 5678", "+5112345678"),
        ("(01) 234-5678", "+5112345678"),
        ("(01) 2345678", "+5112345678"),
        ("+51 1 2345678", "+5112345678"),
        ("+51 (1) 234 5678", "+5112345678"),
        ("5112345678", "+5112345678"),
        ("2345678", "+5112345678"),  # a bare Lima number gets its 01
        ("234-5678", "+5112345678"),
        ("234 56 78", "+5112345678"),
        ("427.0000", "+5114270000"),
        # other areas: 0 + area code + 6 digits
        ("044 123456", "+5144123456"),  # Trujillo
        ("(054) 212345", "+5154212345"),  # Arequipa
        # abroad, in international form
        ("+34 612 345 678", "+34612345678"),
        ("+1 650 253 0000", "+16502530000"),
        ("0034612345678", "+34612345678"),
    ],
)
def test_numbers_people_write(raw: str, e164: str) -> None:
    assert to_e164(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "hola",
        "105",  # police: a short service number, not a line to call back
        "116",  # firefighters
        "106",  # SAMU
        "911",
        "12345",
        "98765432",  # a digit short
        "9876543210",  # a digit too many
        "0123456",  # 7 digits from 0: not a Lima number
        "1234567",  # Lima numbers do not start with 1
        "512345678",  # neither 51 + a Lima number nor a mobile
        "+51 105",
        "+51 123",
        "987654321 anexo 5",  # E.164 has no room for an extension
        "987654321 ext. 12",
        "+999 123456789",  # no such country
        "987654321/987654322",  # two numbers
    ],
)
def test_what_is_no_number(raw: str) -> None:
    assert to_e164(raw) is None


@pytest.mark.parametrize(
    ("e164", "mobile"),
    [
        ("+51987654321", True),
        ("+51912345678", True),
        ("+5112345678", False),  # a Lima landline
        ("+5144123456", False),
        ("+34612345678", False),  # a Spanish mobile: not Peruvian
        ("+51105", False),
        ("987654321", False),  # not E.164
        ("", False),
        ("no", False),
    ],
)
def test_peruvian_mobiles(e164: str, mobile: bool) -> None:
    assert is_mobile(e164) is mobile


def test_every_number_it_gives_reads_back_as_itself() -> None:
    for raw in ("987654321", "2345678", "044 123456", "+34 612 345 678"):
        e164 = to_e164(raw)
        assert e164 is not None
        assert to_e164(e164) == e164


def test_the_quick_path_for_mobiles_agrees_with_libphonenumber() -> None:
    import phonenumbers

    for n in range(900_000_000, 1_000_000_000, 7_654_321):
        number = phonenumbers.parse(str(n), "PE")
        assert phonenumbers.is_valid_number(number)
        assert to_e164(str(n)) == phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.E164
        )
