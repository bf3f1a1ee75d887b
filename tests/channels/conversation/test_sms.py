"""The SMS conversation: keywords, status questions, reports and their completion."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from channels import texts
from channels.conversation import sms
from channels.conversation.gsm7 import fits_one_segment
from channels.conversation.models import AskStatus, FileReport
from channels.conversation.sms import (
    AddToIncident,
    Help,
    LastReport,
    OptIn,
    OptOut,
    SmsState,
    SmsTurn,
    filed,
)
from channels.texts import Channel
from routing.reading import MISSING_CATEGORY, MISSING_PLACE, UNCLASSIFIED
from tests.channels.conversation.fakes import read

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
BOTH = (MISSING_CATEGORY, MISSING_PLACE)
ID = "LIM-2026-000123"


def step(state: SmsState, text: str, now: datetime = NOW) -> SmsTurn:
    turn = sms.step(state, text, now, read)
    assert (turn.reply is None) == isinstance(turn.action, FileReport | AddToIncident | AskStatus)
    if turn.reply is not None:
        assert fits_one_segment(turn.reply), turn.reply
        assert turn.reply.encode("gsm03.38"), turn.reply
    data = json.loads(json.dumps(turn.state.to_data()))
    assert SmsState.from_data(data) == turn.state
    return turn


def last(
    minutes_ago: float = 5,
    *,
    missing: tuple[str, ...] = (),
    category: str | None = None,
    district: str | None = None,
    address_key: str | None = None,
    asked: int = 0,
) -> SmsState:
    """A number whose last report is ``ID``, ``minutes_ago``."""
    at = NOW - timedelta(minutes=minutes_ago)
    report = LastReport(
        incident_id=ID, at=at, missing=missing, category=category, district=district,
        address_key=address_key, asked=asked,
    )  # fmt: skip
    return SmsState(last=report)


def added(state: SmsState, text: str) -> AddToIncident:
    action = step(state, text).action
    assert isinstance(action, AddToIncident), action
    return action


# ----------------------------------------------------------------- keywords

KEYWORDS = [
    ("PARA", OptOut, texts.SMS_OPTED_OUT),
    ("para", OptOut, texts.SMS_OPTED_OUT),
    (" Para. ", OptOut, texts.SMS_OPTED_OUT),
    ("STOP", OptOut, texts.SMS_OPTED_OUT),
    ("Baja", OptOut, texts.SMS_OPTED_OUT),
    ("cancelar suscripción", OptOut, texts.SMS_OPTED_OUT),
    ("CANCELAR SUSCRIPCION!", OptOut, texts.SMS_OPTED_OUT),
    ("unsubscribe", OptOut, texts.SMS_OPTED_OUT),
    ("INICIO", OptIn, texts.SMS_OPTED_IN),
    ("start", OptIn, texts.SMS_OPTED_IN),
    ("Alta", OptIn, texts.SMS_OPTED_IN),
    ("AYUDA", Help, texts.sms_help(example=ID)),
    ("¿ayuda?", Help, texts.sms_help(example=ID)),
    ("help", Help, texts.sms_help(example=ID)),
    ("Cancelar", Help, texts.sms_help(example=ID)),
]


@pytest.mark.parametrize(("text", "kind", "reply"), KEYWORDS)
@pytest.mark.parametrize("state", [SmsState(), last(missing=BOTH)], ids=["new", "pending"])
def test_a_keyword_is_a_whole_message_in_any_case(
    state: SmsState, text: str, kind: type, reply: str
) -> None:
    turn = step(state, text)
    assert isinstance(turn.action, kind)
    assert turn.reply == reply
    assert turn.state == state


@pytest.mark.parametrize("text", ["para que sirve esto", "stop al robo en av abancay 123"])
def test_a_keyword_inside_a_sentence_is_a_report(text: str) -> None:
    turn = step(SmsState(), text)
    assert turn.action == FileReport(reading=read(text), text=text)


# ------------------------------------------------------------------- status

STATUS = [
    ("ESTADO LIM-2026-000123", "LIM-2026-000123"),
    ("estado lim 2026 123", "LIM-2026-000123"),
    ("Estado: lim-2026-123", "LIM-2026-000123"),
    ("estado 2026-123", "LIM-2026-000123"),
    ("estado 2025 4567", "LIM-2025-004567"),
    ("ESTADO LIM2026000123", "LIM-2026-000123"),
    ("estado 77", "LIM-2026-000077"),  # the current Lima year
    ("estado LIM-2026-1234567", "LIM-2026-1234567"),
    ("ESTADO\nLIM-2026-000123", "LIM-2026-000123"),
]


@pytest.mark.parametrize(("text", "incident_id"), STATUS)
def test_estado_asks_for_an_incident_s_status(text: str, incident_id: str) -> None:
    turn = step(SmsState(), text)
    assert turn.action == AskStatus(incident_id=incident_id)
    assert turn.reply is None
    assert turn.state == SmsState()


def test_estado_alone_asks_for_the_number_s_last_report_of_any_age() -> None:
    turn = step(last(minutes_ago=60 * 24 * 30), "Estado")
    assert turn.action == AskStatus(incident_id=ID)


@pytest.mark.parametrize("text", ["estado", "ESTADO lim-20x6", "estado de mi reporte 12a"])
def test_estado_without_a_readable_id_gets_the_usage(text: str) -> None:
    turn = step(SmsState(), text)
    assert turn.action is None
    assert turn.reply == texts.status_usage(Channel.SMS, example="LIM-2026-000123")


def test_estado_in_a_sentence_is_a_report() -> None:
    text = "estado de emergencia, robo en la av abancay 123 cercado"
    assert step(SmsState(), text).action == FileReport(reading=read(text), text=text)


def test_the_centre_s_prefix_completes_an_id_typed_without_one() -> None:
    turn = sms.step(SmsState(), "estado 2026-9", NOW, read, prefix="CLL")
    assert turn.action == AskStatus(incident_id="CLL-2026-000009")


# ------------------------------------------------------------------ reports


def test_an_empty_sms_is_asked_what_happens_and_not_filed() -> None:
    turn = step(SmsState(), "  \n ")
    assert turn.action is None
    assert turn.reply == texts.ask_missing()


# (state before, text, expected action: "file" or the still-missing of an AddToIncident)
REPORTS = [
    ("none", "robo en av abancay 123 cercado", "file"),
    ("none", "hola", "file"),  # never dropped: an unclassified incident
    ("no place", "en la av abancay 123 cercado", ()),
    ("no place", "gracias", (MISSING_PLACE,)),  # says nothing: a follow-up, asked again
    ("no place", "robo en jr huallaga 450", ()),  # the same category and a place
    ("no place", "incendio en jr huallaga 450", "file"),  # another category: another event
    ("nothing", "robo", (MISSING_PLACE,)),
    ("nothing", "incendio en jr huallaga 450 miraflores", ()),
    ("no category", "es un robo", ()),
    ("no category", "robo en av brasil 100 jesus maria", "file"),  # another place
    ("no category", "robo en av abancay 123", ()),  # the same address
    ("complete", "gracias, apurense", ()),  # follows the complete incident up
    ("complete", "robo en av abancay 123", "file"),  # a report of its own: dedup may join
    ("old", "en la av abancay 123", "file"),  # 31 minutes later
    ("just in time", "en la av abancay 123", ()),  # 30 minutes later
]
STATES = {
    "none": SmsState(),
    "no place": last(missing=(MISSING_PLACE,), category="robo"),
    "nothing": last(missing=BOTH),
    "no category": last(missing=(MISSING_CATEGORY,), district="150101",
                        address_key="av abancay 123"),
    "complete": last(category="robo", district="150101", address_key="av abancay 123"),
    "old": last(minutes_ago=31, missing=(MISSING_PLACE,), category="robo"),
    "just in time": last(minutes_ago=30, missing=(MISSING_PLACE,), category="robo"),
}  # fmt: skip


@pytest.mark.parametrize(("before", "text", "expected"), REPORTS)
def test_a_report_is_filed_or_completes_the_number_s_last_incident(
    before: str, text: str, expected: str | tuple[str, ...]
) -> None:
    state = STATES[before]
    turn = step(state, text)
    assert turn.state == state
    if expected == "file":
        assert turn.action == FileReport(reading=read(text), text=text)
    else:
        assert turn.action == AddToIncident(
            incident_id=ID, reading=read(text), text=text, still_missing=tuple(expected)
        )


# -------------------------------------------------------------------- filed


def test_a_complete_new_report_is_received_and_remembered() -> None:
    text = "robo en av abancay 123 cercado"
    action = step(SmsState(), text).action
    assert isinstance(action, FileReport)
    done = filed(SmsState(), action, incident_id=ID, now=NOW)
    assert done.reply == texts.report_received(Channel.SMS, ID)
    assert "Un operador lo revisa" in done.reply
    assert done.state == SmsState(
        last=LastReport(
            incident_id=ID, at=NOW, category="robo", district="150101",
            address_key="av abancay 123",
        )
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "missing"),
    [("hola", BOTH), ("robo", (MISSING_PLACE,)), ("en av abancay 123", (MISSING_CATEGORY,))],
)
def test_a_report_lacking_something_is_received_with_the_question(
    text: str, missing: tuple[str, ...]
) -> None:
    action = FileReport(reading=read(text), text=text)
    done = filed(SmsState(), action, incident_id=ID, now=NOW)
    assert done.reply == texts.report_received(Channel.SMS, ID, missing=missing)
    assert "?" in done.reply
    assert done.state.last is not None
    assert (done.state.last.missing, done.state.last.asked) == (missing, 1)


def test_an_unclassified_reading_counts_as_lacking_its_category() -> None:
    reading = replace(read("robo en av abancay 123"), category=UNCLASSIFIED)
    done = filed(SmsState(), FileReport(reading=reading, text="x"), incident_id=ID, now=NOW)
    assert done.state.last is not None
    assert done.state.last.missing == (MISSING_CATEGORY,)
    assert done.reply == texts.report_received(Channel.SMS, ID, missing=(MISSING_CATEGORY,))


def test_a_report_that_joined_an_open_incident_says_so() -> None:
    action = FileReport(reading=read("robo en av abancay 123"), text="robo en av abancay 123")
    done = filed(SmsState(), action, incident_id=ID, joined=True, now=NOW)
    assert done.reply == texts.report_joined(Channel.SMS, ID)
    assert done.state.last == LastReport(
        incident_id=ID, at=NOW, category="robo", address_key="av abancay 123"
    )


def test_a_completion_is_thanked_and_asks_again_for_what_still_lacks_three_times() -> None:
    state = last(missing=BOTH, asked=1)
    action = step(state, "robo").action
    assert isinstance(action, AddToIncident)
    done = filed(state, action, incident_id=ID, now=NOW)
    assert done.reply == texts.report_completed(Channel.SMS, ID, missing=(MISSING_PLACE,))
    assert done.state.last == LastReport(
        incident_id=ID, at=NOW, missing=(MISSING_PLACE,), category="robo", asked=2
    )
    again = filed(done.state, added(done.state, "gracias"), incident_id=ID, now=NOW)
    assert again.reply == texts.report_completed(Channel.SMS, ID, missing=(MISSING_PLACE,))
    assert again.state.last is not None
    assert again.state.last.asked == 3
    quiet = filed(again.state, added(again.state, "ok"), incident_id=ID, now=NOW)
    assert quiet.reply == texts.report_completed(Channel.SMS, ID)
    assert "?" not in quiet.reply
    assert quiet.state.last is not None
    assert quiet.state.last.asked == 3


def test_a_completion_that_supplies_the_rest_clears_what_was_missing() -> None:
    state = last(missing=(MISSING_PLACE,), category="robo", asked=1)
    action = step(state, "en av abancay 123 cercado").action
    assert isinstance(action, AddToIncident)
    done = filed(state, action, incident_id=ID, now=NOW + timedelta(minutes=1))
    assert done.reply == texts.report_completed(Channel.SMS, ID)
    assert done.state.last == LastReport(
        incident_id=ID, at=NOW + timedelta(minutes=1), category="robo", district="150101",
        address_key="av abancay 123", asked=1,
    )  # fmt: skip
    # a later report is a new one
    assert isinstance(step(done.state, "incendio en jr huallaga 450").action, FileReport)


def test_a_completion_without_a_remembered_report_still_gets_its_reply() -> None:
    action = AddToIncident(incident_id=ID, reading=read("robo"), text="robo", still_missing=())
    done = filed(SmsState(), action, incident_id=ID, now=NOW)
    assert done.reply == texts.report_completed(Channel.SMS, ID)
    assert done.state.last == LastReport(incident_id=ID, at=NOW, category="robo")


def test_a_whole_conversation() -> None:
    """Hola, then what happened, then where; ESTADO; PARA."""
    state = SmsState()
    first = step(state, "hola")
    assert isinstance(first.action, FileReport)
    done = filed(state, first.action, incident_id=ID, now=NOW)
    assert "¿qué sucede y en qué calle y distrito?" in done.reply
    later = NOW + timedelta(minutes=3)
    second = step(done.state, "me robaron el celular", later)
    assert second.action == AddToIncident(
        incident_id=ID, reading=read("me robaron el celular"), text="me robaron el celular",
        still_missing=(MISSING_PLACE,),
    )  # fmt: skip
    done = filed(done.state, second.action, incident_id=ID, now=later)
    assert "¿en qué calle y distrito?" in done.reply
    third = step(done.state, "av abancay 123 cercado", later + timedelta(minutes=29))
    assert isinstance(third.action, AddToIncident)
    assert third.action.still_missing == ()
    done = filed(done.state, third.action, incident_id=ID, now=later + timedelta(minutes=29))
    assert step(done.state, "ESTADO").action == AskStatus(incident_id=ID)
    assert isinstance(step(done.state, "PARA").action, OptOut)


# --------------------------------------------------------------------- state


@pytest.mark.parametrize("state", list(STATES.values()), ids=list(STATES))
def test_the_state_round_trips_through_json(state: SmsState) -> None:
    data = json.loads(json.dumps(state.to_data()))
    assert SmsState.from_data(data) == state


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"v": 2, "last": None},
        {"v": 1, "last": "x"},
        {"v": 1, "last": {"incident_id": ID}},
        {"v": 1, "last": {"incident_id": ID, "at": "2026-11-25T15:00:00"}},  # naive
        {"v": 1, "last": {"incident_id": 5, "at": "2026-11-25T15:00:00+00:00"}},
        {"v": 1, "last": {"incident_id": ID, "at": "2026-11-25T15:00:00+00:00", "missing": "x"}},
        {"v": 1, "last": {"incident_id": ID, "at": "2026-11-25T15:00:00+00:00", "asked": "1"}},
    ],
)
def test_a_state_that_is_not_one_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"state|time|text"):
        SmsState.from_data(data)


def test_the_time_must_be_aware() -> None:
    with pytest.raises(ValueError, match="a naive time"):
        sms.step(SmsState(), "hola", datetime(2026, 11, 25, 15, 0), read)  # noqa: DTZ001


def test_the_remembered_report_is_kept_by_replies_that_need_nothing() -> None:
    state = last(missing=BOTH, asked=2)
    for text in ("PARA", "INICIO", "AYUDA", "estado", " "):
        assert step(state, text).state == state
