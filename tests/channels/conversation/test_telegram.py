"""The Telegram conversation: the guided report, its shortcuts, commands, stale buttons,
re-asked steps and idle drafts."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from channels import texts
from channels.conversation import telegram
from channels.conversation.models import AskStatus, FileReport
from channels.conversation.telegram import (
    CATEGORY_BUTTONS,
    IDLE_LIMIT,
    Button,
    Cancelled,
    Command,
    Event,
    Location,
    Message,
    Photo,
    Step,
    TelegramState,
    TelegramTurn,
    Text,
)
from channels.texts import Channel
from routing.models import Priority
from routing.reading import MISSING_CATEGORY, MISSING_PLACE, UNCLASSIFIED
from tests.channels.conversation.fakes import read

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
ID = "LIM-2026-000123"
POINT = Location(lat=-12.0464, lon=-77.0428)


def check(turn: TelegramTurn, event: Event) -> None:
    """What every turn keeps to: Telegram's limits, one markup a message, an answer for
    every pressed button and only then, a state that survives JSON."""
    for message in turn.messages:
        assert 0 < len(message.text) <= texts.TELEGRAM_LIMIT, message.text
        for row in message.buttons:
            for label, data in row:
                assert label
                assert 1 <= len(data.encode()) <= texts.CALLBACK_LIMIT, data
    assert (turn.answer is not None) == isinstance(event, Button)
    data = json.loads(json.dumps(turn.state.to_data()))
    assert TelegramState.from_data(data) == turn.state


class Chat:
    """One citizen's chat, its state kept as the integrator would, time moved by hand."""

    def __init__(self, state: TelegramState | None = None) -> None:
        self.state = state or TelegramState()
        self.now = NOW

    def send(self, event: Event, *, after: float = 10) -> TelegramTurn:
        self.now += timedelta(seconds=after)
        turn = telegram.step(self.state, event, self.now, read)
        check(turn, event)
        self.state = turn.state
        return turn

    def at(self) -> Step:
        """The step the chat is at (a call: mypy keeps no narrowing across sends)."""
        return self.state.step

    def say(self, text: str, **kwargs: float) -> TelegramTurn:
        return self.send(Text(text=text), **kwargs)

    def press(self, data: str, **kwargs: float) -> TelegramTurn:
        return self.send(Button(data=data), **kwargs)


def said(turn: TelegramTurn) -> list[str]:
    return [m.text for m in turn.messages]


def data_of(turn: TelegramTurn) -> list[str]:
    return [d for m in turn.messages for row in m.buttons for _, d in row]


def report(turn: TelegramTurn) -> FileReport:
    assert isinstance(turn.action, FileReport), turn.action
    return turn.action


# ------------------------------------------------------------ the guided path


def test_the_guided_report_with_buttons_a_shared_location_and_a_photo() -> None:
    chat = Chat()
    turn = chat.send(Command(name="/start"))
    assert said(turn) == [texts.TG_GREETING, texts.TG_ASK_CATEGORY]
    assert data_of(turn) == [f"cat:1:{code}" for code in CATEGORY_BUTTONS]
    assert [len(row) for row in turn.messages[1].buttons] == [2, 2, 2, 2, 1]
    assert turn.messages[1].buttons[0][0] == ("Robo", "cat:1:robo")
    assert turn.messages[1].buttons[-1] == (("Otro", "cat:1:otro"),)
    assert (chat.state.step, chat.state.draft) == (Step.CATEGORY, 1)

    turn = chat.press("cat:1:robo")
    assert turn.answer == texts.TG_ANSWER_NOTED
    assert turn.messages == (
        Message(text=texts.TG_ASK_LOCATION, request_location=texts.TG_LOCATION_BUTTON),
    )
    assert chat.at() is Step.LOCATION

    turn = chat.send(POINT)
    assert turn.messages == (Message(text=texts.TG_ASK_DESCRIPTION, remove_keyboard=True),)

    turn = chat.say("Me arrancharon el celular, se fueron en moto")
    assert turn.messages == (
        Message(text=texts.TG_ASK_PHOTO, buttons=(((texts.TG_SKIP_BUTTON, "skip:1"),),)),
    )

    turn = chat.send(Photo(file_id="AgACAgEAAxkBAAI"))
    assert chat.at() is Step.CONFIRM
    (summary,) = turn.messages
    assert summary.buttons == ((("Confirmar", "ok:1"), ("Cancelar", "cancel:1")),)
    assert summary.text == texts.tg_summary(
        category="robo", place=None, point=(-12.0464, -77.0428),
        description="Me arrancharon el celular, se fueron en moto", photo=True,
    )  # fmt: skip
    assert "Tipo: Robo" in summary.text
    assert "ubicación compartida (-12.04640, -77.04280)" in summary.text
    assert "Foto: adjunta" in summary.text

    turn = chat.press("ok:1")
    assert turn.answer == texts.TG_ANSWER_SENT
    assert turn.messages == ()
    filing = report(turn)
    assert (filing.lat, filing.lon, filing.photo_file_id) == (-12.0464, -77.0428, "AgACAgEAAxkBAAI")
    assert filing.text == "Me arrancharon el celular, se fueron en moto"
    assert filing.reading.category == "robo"
    assert filing.reading.priority is Priority.HIGH
    assert filing.reading.missing == ()
    assert chat.state == TelegramState(draft=1, updated_at=chat.now)

    done = telegram.filed(chat.state, incident_id=ID, now=chat.now)
    assert done.messages == (
        Message(text=texts.report_received(Channel.TELEGRAM, ID), remove_keyboard=True),
    )
    assert f"/estado {ID}" in done.messages[0].text
    assert done.state.last_incident == ID
    joined = telegram.filed(chat.state, incident_id=ID, joined=True, now=chat.now)
    assert said(joined) == [texts.report_joined(Channel.TELEGRAM, ID)]


def test_a_typed_address_gives_the_report_its_place() -> None:
    chat = Chat()
    chat.send(Command(name="start"))
    chat.press("cat:1:fuga_gas")
    turn = chat.say("jr huallaga 450, cercado de lima")
    assert turn.messages[0] == Message(text=texts.TG_ASK_DESCRIPTION, remove_keyboard=True)
    chat.say("huele fuerte a gas en el edificio")
    turn = chat.press("skip:1")
    assert "Lugar: Jr. Huallaga 450, Lima" in turn.messages[0].text
    assert "Foto: sin foto" in turn.messages[0].text
    filing = report(chat.press("ok:1"))
    assert filing.reading.category == "fuga_gas"
    assert filing.reading.priority is Priority.CRITICAL
    assert (filing.reading.district, filing.reading.address) == ("150101", "Jr. Huallaga 450")
    assert filing.reading.address_key == "jr huallaga 450"
    assert (filing.lat, filing.lon, filing.photo_file_id) == (None, None, None)
    assert filing.text == "huele fuerte a gas en el edificio\njr huallaga 450, cercado de lima"


def test_a_first_message_that_says_what_and_where_goes_to_the_summary() -> None:
    chat = Chat()
    turn = chat.say("hay un robo en av abancay 123 cercado")
    assert said(turn)[0] == texts.TG_GREETING
    assert chat.at() is Step.CONFIRM
    assert "Lugar: Av. Abancay 123, Lima" in turn.messages[1].text
    assert data_of(turn) == ["ok:1", "cancel:1"]
    filing = report(chat.say("sí"))
    assert filing.reading.category == "robo"
    assert filing.reading.district == "150101"
    assert filing.text == "hay un robo en av abancay 123 cercado"


def test_the_report_s_contact_began_with_the_draft_s_first_message() -> None:
    """When the draft's first message reached voicebridge (``arrived``, before a worker
    read it) is when the report's contact began; the next draft begins with its own; a
    state stored before the field was kept reads as not known."""
    chat = Chat()
    arrived, read_at = NOW + timedelta(seconds=2), NOW + timedelta(seconds=9)
    first = Text(text="hay un robo en av abancay 123 cercado")
    turn = telegram.step(chat.state, first, read_at, read, arrived=arrived)
    check(turn, first)
    chat.state, chat.now = turn.state, read_at
    assert report(chat.say("sí", after=60)).began_at == arrived
    assert chat.state.began_at is None  # filed: no draft
    chat.say("incendio")
    assert chat.state.began_at == chat.now
    data = chat.state.to_data()
    del data["began_at"]
    assert TelegramState.from_data(data).began_at is None


@pytest.mark.parametrize(
    ("first", "step", "state"),
    [
        ("incendio", Step.LOCATION, {"category": "incendio", "notes": ("incendio",)}),
        ("en jr huallaga 450", Step.CATEGORY, {"address": "en jr huallaga 450"}),
        ("hola", Step.CATEGORY, {"notes": ("hola",)}),
    ],
)
def test_a_first_message_fills_what_it_says(
    first: str, step: Step, state: dict[str, object]
) -> None:
    chat = Chat()
    turn = chat.say(first)
    assert said(turn)[0] == texts.TG_GREETING
    expected = TelegramState(step=step, draft=1, updated_at=chat.now, began_at=chat.now)
    assert chat.state == replace(expected, **state)  # type: ignore[arg-type]


def test_a_first_location_or_photo_is_kept() -> None:
    chat = Chat()
    turn = chat.send(POINT)
    assert said(turn) == [texts.TG_GREETING, texts.TG_ASK_CATEGORY]
    chat.press("cat:1:arbol_caido")
    assert chat.at() is Step.DESCRIPTION  # the place is known
    other = Chat()
    other.send(Photo(file_id="F1", caption="se cayó un árbol"))
    assert (other.state.photo_file_id, other.state.description) == ("F1", "se cayó un árbol")
    other.press("cat:1:arbol_caido")
    assert other.at() is Step.LOCATION
    turn = other.send(POINT)
    assert other.at() is Step.CONFIRM  # described and photographed already
    assert turn.messages[0] == Message(text=texts.TG_PLACE_NOTED, remove_keyboard=True)
    assert data_of(turn) == ["ok:1", "cancel:1"]


def test_the_category_in_words() -> None:
    chat = Chat()
    chat.send(Command(name="start"))
    turn = chat.say("no se")
    assert said(turn) == [texts.TG_REASK_CATEGORY]
    assert data_of(turn)[0] == "cat:1:robo"
    turn = chat.say("me robaron la billetera")
    assert chat.at() is Step.LOCATION
    assert chat.state.notes == ("no se", "me robaron la billetera")
    # words with a place too skip the location
    other = Chat()
    other.send(Command(name="start"))
    other.say("robo en jr huallaga 450")
    assert other.at() is Step.DESCRIPTION
    assert other.state.address == "robo en jr huallaga 450"


def test_other_takes_the_category_its_description_names() -> None:
    chat = Chat()
    chat.send(Command(name="start"))
    chat.press("cat:1:otro")
    chat.send(POINT)
    chat.say("se cayó un arbol sobre un auto")
    assert chat.state.category == "arbol_caido"
    plain = Chat()
    plain.send(Command(name="start"))
    plain.press("cat:1:otro")
    plain.send(POINT)
    plain.say("algo raro pasa")
    assert plain.state.category == "otro"


def test_a_chosen_category_keeps_a_priority_the_words_raised() -> None:
    chat = Chat()
    chat.send(Command(name="start"))
    chat.press("cat:1:robo")
    chat.send(POINT)
    chat.say("hay un herido")
    chat.press("skip:1")
    assert report(chat.press("ok:1")).reading.priority is Priority.CRITICAL
    other = Chat()
    other.send(Command(name="start"))
    other.press("cat:1:incendio")
    other.send(POINT)
    other.say("sale humo del techo")
    other.press("skip:1")
    filing = report(other.press("ok:1"))
    assert (filing.reading.category, filing.reading.priority) == ("incendio", Priority.CRITICAL)


# ------------------------------------------------------------- odd input


def test_an_unrecognised_place_is_asked_again_then_may_be_sent_as_it_is() -> None:
    chat = Chat()
    chat.send(Command(name="start"))
    chat.press("cat:1:robo")
    for n, words in enumerate(["por aca", "cerca del mercado"], start=1):
        turn = chat.say(words)
        assert turn.messages == (
            Message(text=texts.TG_REASK_LOCATION, request_location=texts.TG_LOCATION_BUTTON),
        )
        assert chat.state.tries == n
    turn = chat.send(Photo(file_id="F2"))
    assert said(turn) == [texts.TG_REASK_LOCATION, texts.TG_AS_IS_OFFER]
    assert data_of(turn) == ["asis:1"]
    turn = chat.press("asis:1")
    assert turn.messages == ()  # filed's message removes the location keyboard
    filing = report(turn)
    assert filing.reading.missing == (MISSING_PLACE,)
    assert filing.reading.category == "robo"
    assert filing.photo_file_id == "F2"
    assert filing.text == "por aca\ncerca del mercado"


def test_sent_as_it_is_without_a_category_is_unclassified() -> None:
    chat = Chat()
    chat.say("hola")
    for words in ("ayuden", "por favor", "rapido"):
        turn = chat.say(words)
    assert data_of(turn)[-1] == "asis:1"
    filing = report(chat.press("asis:1"))
    assert filing.reading.category == UNCLASSIFIED
    assert filing.reading.missing == (MISSING_CATEGORY, MISSING_PLACE)
    assert filing.text == "hola\nayuden\npor favor\nrapido"


def test_input_a_step_did_not_expect_is_kept_and_the_step_asked_again() -> None:
    chat = Chat()
    chat.send(Command(name="start"))
    turn = chat.send(POINT)  # a location while the category is asked
    assert said(turn) == [texts.TG_REASK_CATEGORY]
    assert chat.state.lat == POINT.lat
    chat.press("cat:1:robo")
    assert chat.at() is Step.DESCRIPTION
    turn = chat.send(Photo(file_id="F3"))  # a photo without a caption
    assert said(turn) == [texts.TG_REASK_DESCRIPTION]
    turn = chat.say("   ")
    assert said(turn) == [texts.TG_REASK_DESCRIPTION]
    turn = chat.say("me quitaron la mochila")
    assert chat.at() is Step.CONFIRM  # the photo came already
    turn = chat.say("eran dos")  # words at the summary: added, the summary again
    assert said(turn)[0] == texts.TG_REASK_CONFIRM
    assert "me quitaron la mochila\neran dos" in said(turn)[1]
    turn = chat.send(Location(lat=-12.1, lon=-77.0))
    assert "(-12.10000, -77.00000)" in said(turn)[0]
    turn = chat.send(Photo(file_id="F4"))
    assert chat.state.photo_file_id == "F4"
    filing = report(chat.say("Confirmar"))
    assert (filing.lat, filing.photo_file_id) == (-12.1, "F4")


def test_words_at_the_photo_step_add_to_the_description() -> None:
    chat = Chat()
    chat.say("hay un robo en av abancay 123 cercado")
    chat.state = replace(chat.state, step=Step.PHOTO)
    turn = chat.say("se fueron hacia la plaza")
    assert said(turn) == [texts.TG_REASK_PHOTO]
    assert (
        chat.state.description == "hay un robo en av abancay 123 cercado\nse fueron hacia la plaza"
    )


@pytest.mark.parametrize(
    ("words", "filed"),
    [("si", True), ("OK", True), ("Confirmar.", True), ("enviar así", True), ("no", False),
     ("Cancelar", False), ("descartar", False)],
)  # fmt: skip
def test_the_summary_answered_in_words(words: str, filed: bool) -> None:
    chat = Chat()
    chat.say("robo en av abancay 123 cercado")
    turn = chat.say(words)
    if filed:
        report(turn)
    else:
        assert turn.action == Cancelled()
        assert said(turn) == [texts.TG_CANCELLED]
    assert chat.at() is Step.IDLE


def test_cancel_button() -> None:
    chat = Chat()
    chat.say("robo en av abancay 123 cercado")
    turn = chat.press("cancel:1")
    assert (turn.action, turn.answer, said(turn)) == (
        Cancelled(), texts.TG_ANSWER_CANCELLED, [texts.TG_CANCELLED],
    )  # fmt: skip
    assert chat.state == TelegramState(draft=1, updated_at=chat.now)


# ---------------------------------------------------------- stale buttons


@pytest.mark.parametrize(
    "data",
    ["cat:1:robo", "cat:2:granizo", "ok:1", "skip:0", "asis:0", "ack:x", "basura", "", "cat:x"],
)
def test_a_stale_button_is_answered_and_changes_nothing(data: str) -> None:
    chat = Chat()
    chat.send(Command(name="start"))
    chat.press("cat:1:robo")
    chat.send(Command(name="start"))  # draft 2, asking the category
    chat.press("cat:2:robo")  # at the location step now
    before = chat.state
    turn = chat.press(data)
    assert (turn.answer, turn.messages, turn.action) == (texts.TG_STALE, (), None)
    assert chat.state == before


def test_a_button_after_the_report_was_sent_is_stale() -> None:
    chat = Chat()
    chat.say("robo en av abancay 123 cercado")
    chat.press("ok:1")
    before = chat.state
    for data in ("ok:1", "cancel:1", "cat:1:robo"):
        assert chat.press(data).answer == texts.TG_STALE
    assert chat.state == before


# ---------------------------------------------------------------- commands


def test_estado() -> None:
    chat = Chat(TelegramState(last_incident=ID))
    cases: list[tuple[Event, str]] = [
        (Command(name="/estado", args="LIM-2026-000777"), "LIM-2026-000777"),
        (Command(name="/Estado@VoiceBridgeBot", args="lim 2026 9"), "LIM-2026-000009"),
        (Text(text="/estado 2026-42"), "LIM-2026-000042"),
        (Command(name="estado"), ID),
        (Command(name="/status", args="  "), ID),
    ]
    for event, expected in cases:
        turn = chat.send(event)
        assert (turn.action, turn.messages) == (AskStatus(incident_id=expected), ())
    usage = texts.status_usage(Channel.TELEGRAM, example="LIM-2026-000123")
    assert said(chat.send(Command(name="estado", args="algo raro"))) == [usage]
    assert said(Chat().send(Command(name="estado"))) == [usage]


def test_estado_keeps_the_draft() -> None:
    chat = Chat()
    chat.send(Command(name="start"))
    before = chat.state
    turn = chat.say("/estado LIM-2026-000001")
    assert turn.action == AskStatus(incident_id="LIM-2026-000001")
    assert chat.state == before


def test_cancelar() -> None:
    chat = Chat()
    assert said(chat.send(Command(name="/cancelar"))) == [texts.TG_NOTHING_TO_CANCEL]
    chat.send(Command(name="start"))
    chat.press("cat:1:robo")
    turn = chat.say("/cancelar")
    assert turn.action == Cancelled()
    assert turn.messages == (Message(text=texts.TG_CANCELLED, remove_keyboard=True),)
    assert chat.at() is Step.IDLE


def test_ayuda_and_an_unknown_command_ask_the_step_again() -> None:
    chat = Chat()
    help_text = texts.tg_help(example="LIM-2026-000123")
    assert said(chat.send(Command(name="/ayuda"))) == [help_text]
    chat.send(Command(name="start"))
    chat.press("cat:1:robo")
    before = chat.state
    turn = chat.send(Command(name="/help"))
    assert said(turn) == [help_text, texts.TG_ASK_LOCATION]
    assert turn.messages[1].request_location == texts.TG_LOCATION_BUTTON
    turn = chat.say("/borrar todo")
    assert said(turn) == [texts.TG_UNKNOWN_COMMAND, texts.TG_ASK_LOCATION]
    assert chat.state == before


def test_start_in_the_middle_starts_a_new_draft_and_removes_the_location_keyboard() -> None:
    chat = Chat()
    chat.send(Command(name="start"))
    chat.press("cat:1:robo")
    turn = chat.send(Command(name="/start", args="deep-link"))
    assert turn.messages[0] == Message(text=texts.TG_GREETING, remove_keyboard=True)
    assert (chat.state.step, chat.state.draft, chat.state.category) == (Step.CATEGORY, 2, None)


# -------------------------------------------------------------- idle drafts


def test_a_draft_idle_for_more_than_two_hours_starts_over() -> None:
    chat = Chat()
    chat.send(Command(name="start"))
    chat.press("cat:1:robo")
    turn = chat.say("robo en av abancay 123 cercado", after=IDLE_LIMIT.total_seconds() + 1)
    assert turn.messages[0] == Message(text=texts.TG_EXPIRED, remove_keyboard=True)
    assert said(turn)[1] == texts.TG_GREETING
    assert (chat.state.step, chat.state.draft) == (Step.CONFIRM, 2)


def test_a_draft_idle_for_two_hours_exactly_continues() -> None:
    chat = Chat()
    chat.send(Command(name="start"))
    chat.press("cat:1:robo")
    chat.send(POINT, after=IDLE_LIMIT.total_seconds())
    assert (chat.state.step, chat.state.draft) == (Step.DESCRIPTION, 1)


def test_a_button_of_an_idle_draft_is_stale_and_starts_over() -> None:
    chat = Chat()
    chat.say("robo en av abancay 123 cercado")
    turn = chat.press("ok:1", after=3 * 3600)
    assert turn.answer == texts.TG_STALE
    assert turn.action is None
    assert said(turn) == [texts.TG_EXPIRED, texts.TG_GREETING, texts.TG_ASK_CATEGORY]
    assert chat.state.draft == 2


def test_an_idle_chat_without_a_draft_does_not_expire() -> None:
    chat = Chat(TelegramState(draft=4, updated_at=NOW - timedelta(days=3)))
    turn = chat.send(Command(name="start"))
    assert said(turn) == [texts.TG_GREETING, texts.TG_ASK_CATEGORY]
    assert chat.state.draft == 5


# ------------------------------------------------------------------ values


def test_a_message_carries_one_markup() -> None:
    with pytest.raises(ValueError, match="one markup at most"):
        Message(text="x", buttons=((("a", "b"),),), remove_keyboard=True)
    with pytest.raises(ValueError, match="one markup at most"):
        Message(text="x", request_location="y", remove_keyboard=True)


def test_the_state_round_trips_through_json_at_every_step() -> None:
    state = TelegramState(
        step=Step.CONFIRM, draft=7, category="robo", lat=-12.5, lon=-77, address="jr x 1",
        description="algo\nmás", photo_file_id="F", photo_offered=True, notes=("a", "b"),
        tries=2, updated_at=NOW, last_incident=ID,
    )  # fmt: skip
    assert TelegramState.from_data(json.loads(json.dumps(state.to_data()))) == state


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"v": 1, "step": "flying"},
        {"v": 1, "step": "idle", "lat": "x"},
        {"v": 1, "step": "idle", "draft": "1"},
        {"v": 1, "step": "idle", "photo_offered": 1},
        {"v": 1, "step": "idle", "notes": [1]},
        {"v": 1, "step": "idle", "updated_at": "2026-11-25T15:00:00"},
        {"v": 1, "step": "idle", "updated_at": 1764082800},
        {"v": 1, "step": "idle", "category": 5},
    ],
)
def test_a_state_that_is_not_one_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (the messages differ; each is a ValueError)
        TelegramState.from_data(data)


def test_the_time_must_be_aware() -> None:
    with pytest.raises(ValueError, match="a naive time"):
        telegram.step(TelegramState(), Text(text="hola"), datetime(2026, 1, 1), read)  # noqa: DTZ001
