"""Status callbacks' forms, and which delivery failures are sent again, when."""

import pytest

from channels.twilio.errors import BadForm
from channels.twilio.status import FINAL, MessageStatus, StatusReport, parse_status, status_retry

SID = "SM" + "0123456789abcdef" * 2
ACCOUNT = "AC" + "fedcba9876543210" * 2


def _form(**changes: str | None) -> dict[str, list[str]]:
    form = {
        "SmsSid": SID,
        "SmsStatus": "undelivered",
        "MessageStatus": "undelivered",
        "To": "+51987654321",
        "MessageSid": SID,
        "AccountSid": ACCOUNT,
        "From": "+15005550006",
        "ApiVersion": "2010-04-01",
        "ErrorCode": "30003",
    }
    for name, value in changes.items():
        if value is None:
            form.pop(name, None)
        else:
            form[name] = value
    return {name: [value] for name, value in form.items()}


def test_an_undelivered_message() -> None:
    form = _form()
    assert parse_status(form) == StatusReport(
        message_sid=SID,
        account_sid=ACCOUNT,
        status=MessageStatus.UNDELIVERED,
        error_code=30003,
        from_="+15005550006",
        to="+51987654321",
        params=form,
    )


@pytest.mark.parametrize("status", [s.value for s in MessageStatus])
def test_every_status_of_twilio(status: str) -> None:
    report = parse_status(_form(MessageStatus=status, SmsStatus=status, ErrorCode=None))
    assert report.status == status
    assert report.error_code is None


def test_the_legacy_field_alone_and_an_empty_error_code() -> None:
    report = parse_status(_form(MessageStatus=None, SmsStatus="delivered", ErrorCode=""))
    assert (report.status, report.error_code) == (MessageStatus.DELIVERED, None)


def test_the_final_statuses() -> None:
    assert MessageStatus.DELIVERED in FINAL
    assert MessageStatus.UNDELIVERED in FINAL
    assert MessageStatus.FAILED in FINAL
    assert MessageStatus.SENT not in FINAL


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"MessageSid": None}, "MessageSid", "falta"),
        ({"MessageSid": "SM1"}, "MessageSid", "no tiene el formato de Twilio"),
        ({"AccountSid": "x"}, "AccountSid", "no tiene el formato de Twilio"),
        ({"MessageStatus": None, "SmsStatus": None}, "MessageStatus", "falta"),
        ({"MessageStatus": "lost"}, "MessageStatus", "estado desconocido"),
        ({"MessageStatus": None, "SmsStatus": "DELIVERED"}, "SmsStatus", "estado desconocido"),
        ({"ErrorCode": "30003a"}, "ErrorCode", "no es un número"),
        ({"ErrorCode": "-1"}, "ErrorCode", "no es un número"),
        ({"From": None}, "From", "falta"),
        ({"To": None}, "To", "falta"),
    ],
)
def test_malformed_callbacks_name_the_field(
    changes: dict[str, str | None], field: str, message: str
) -> None:
    with pytest.raises(BadForm) as caught:
        parse_status(_form(**changes))
    assert (caught.value.field, caught.value.message) == (field, message)


@pytest.mark.parametrize(
    ("code", "delays"),
    [
        (30003, [60.0, 300.0, 900.0]),  # handset off: three times, later each time
        (30008, [60.0]),  # unknown error: once
        (30001, [600.0, 1800.0]),  # Twilio's queue overflowed: later
        (30004, []),
        (30005, []),
        (30006, []),
        (30007, []),
        (21610, []),
        (None, []),
    ],
)
def test_which_delivery_failures_are_sent_again(code: int | None, delays: list[float]) -> None:
    got = []
    attempts = 0
    while (delay := status_retry(code, attempts)) is not None:
        got.append(delay)
        attempts += 1
        assert attempts < 10
    assert got == delays
    assert status_retry(code, -1) is None
