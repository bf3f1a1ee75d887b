"""The citizen's Telegram conversation, as a pure state machine.

A guided report in Spanish: the category (inline buttons, or words), the place (the
"Compartir ubicación" reply-keyboard button, or a typed address), a description, an
optional photo (an "Omitir" button), and a summary to confirm or cancel. A first message
that already says what and where skips to the summary. Any time: ``/estado <id>``
(:class:`AskStatus`), ``/cancelar`` (:class:`Cancelled`), ``/ayuda``, ``/start`` (starts
over). Input a step did not expect is kept (a location, a photo, words) and the step is
asked again; from the third time the citizen is offered to send the report as it is,
unclassified if need be. A button of an old message (another draft, another step) is
answered with a short text and changes nothing. A draft idle for more than 2 hours
starts over.

The category the citizen chose stands, except "Otro": then the description's words may
name one. Words at the category step that name a category choose it (and name the place
too, if they do). A report's reading is that of all the citizen's words together, with
the chosen category (its priority, unless the words raised it higher) and the place the
typed address names; a shared point is the FileReport's ``lat``/``lon`` (the district of
a point is the integrator's to resolve).

Responders' buttons (``ack:``/``dec:``, :func:`channels.texts.responder_button`) are
the integrator's to route before this machine; here they are stale.

Button data: ``<kind>:<draft>[:<category>]`` with kind ``cat`` (a category), ``skip``
(no photo), ``ok`` / ``cancel`` (the summary's) and ``asis`` (send as it is); ``draft``
numbers the chat's drafts, so a button of an earlier draft is stale.

The integrator, per update of a private chat: map it to an :data:`Event`, load the
chat's :class:`TelegramState` (``TelegramState()`` when none), call :func:`step`; send
``messages`` in order (plain text: no parse_mode), answer the pressed button with
``answer`` (``answerCallbackQuery``), apply ``action``; after a FileReport call
:func:`filed` with the incident it went to and send its messages. Store the state in the
transaction that applies the action.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from channels import texts
from channels.conversation.common import Reader, aware, example_id, parse_incident_id
from channels.conversation.models import (
    AskStatus,
    Button,
    Buttons,
    Cancelled,
    Command,
    Event,
    FileReport,
    Location,
    Message,
    Photo,
    Step,
    TelegramAction,
    TelegramState,
    TelegramTurn,
    Text,
)
from channels.texts import Channel
from routing.categories import CATEGORIES, category_by_code
from routing.models import Priority
from routing.reading import MISSING_CATEGORY, MISSING_PLACE, UNCLASSIFIED, Reading
from routing.text import fold

__all__ = [
    "CATEGORY_BUTTONS",
    "IDLE_LIMIT",
    "AskStatus",
    "Button",
    "Cancelled",
    "Command",
    "Event",
    "FileReport",
    "Location",
    "Message",
    "Photo",
    "Step",
    "TelegramState",
    "TelegramTurn",
    "Text",
    "filed",
    "step",
]

IDLE_LIMIT = timedelta(hours=2)
MAX_TRIES = 3  # unexpected inputs at a step before the citizen may send the report as is
# the categories offered as buttons, in this order, two a row; "otro" last
CATEGORY_BUTTONS = (
    "robo",
    "asalto",
    "accidente_transito",
    "incendio",
    "emergencia_medica",
    "violencia_familiar",
    "fuga_gas",
    "buzon_sin_tapa",
    "otro",
)
_CODES = {c.code for c in CATEGORIES}
_RANK = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}


@dataclass(frozen=True, kw_only=True, slots=True)
class _Context:
    now: datetime
    reader: Reader
    prefix: str
    arrived: datetime
    """When the update reached voicebridge (a draft it begins begins then)."""


# ------------------------------------------------------------------- questions


def _category_buttons(draft: int) -> Buttons:
    buttons = [(texts.category_label(code), f"cat:{draft}:{code}") for code in CATEGORY_BUTTONS]
    return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))


def _question(state: TelegramState, ctx: _Context, *, again: bool = False) -> list[Message]:
    """The question of the state's step (``again``: its re-asking, with the offer to send
    it as is from the third time)."""
    n = state.draft
    match state.step:
        case Step.CATEGORY:
            text = texts.TG_REASK_CATEGORY if again else texts.TG_ASK_CATEGORY
            messages = [Message(text=text, buttons=_category_buttons(n))]
        case Step.LOCATION:
            text = texts.TG_REASK_LOCATION if again else texts.TG_ASK_LOCATION
            messages = [Message(text=text, request_location=texts.TG_LOCATION_BUTTON)]
        case Step.DESCRIPTION:
            text = texts.TG_REASK_DESCRIPTION if again else texts.TG_ASK_DESCRIPTION
            messages = [Message(text=text)]
        case Step.PHOTO:
            text = texts.TG_REASK_PHOTO if again else texts.TG_ASK_PHOTO
            messages = [Message(text=text, buttons=(((texts.TG_SKIP_BUTTON, f"skip:{n}"),),))]
        case Step.CONFIRM:
            summary = Message(
                text=_summary(state, ctx),
                buttons=(
                    ((texts.TG_CONFIRM_BUTTON, f"ok:{n}"), (texts.TG_CANCEL_BUTTON, f"cancel:{n}")),
                ),
            )
            messages = [Message(text=texts.TG_REASK_CONFIRM), summary] if again else [summary]
        case Step.IDLE:
            return []
    if again and state.tries >= MAX_TRIES and state.step is not Step.CONFIRM:
        asis = ((texts.TG_AS_IS_BUTTON, f"asis:{n}"),)
        messages.append(Message(text=texts.TG_AS_IS_OFFER, buttons=(asis,)))
    return messages


def _summary(state: TelegramState, ctx: _Context) -> str:
    place = None
    if state.address is not None:
        reading = ctx.reader(state.address)
        known = MISSING_PLACE not in reading.missing
        place = texts.place_text(reading.district, reading.address) if known else state.address
    point = (state.lat, state.lon) if state.lat is not None and state.lon is not None else None
    return texts.tg_summary(
        category=state.category or UNCLASSIFIED,
        place=place,
        point=point,
        description=state.description,
        photo=state.photo_file_id is not None,
    )


def _next(state: TelegramState) -> Step:
    if state.category is None:
        return Step.CATEGORY
    if not state.has_place:
        return Step.LOCATION
    if state.description is None:
        return Step.DESCRIPTION
    if not state.photo_offered and state.photo_file_id is None:
        return Step.PHOTO
    return Step.CONFIRM


def _advance(
    state: TelegramState,
    ctx: _Context,
    *,
    answer: str | None = None,
    before: TelegramState | None = None,
    first: tuple[Message, ...] = (),
) -> TelegramTurn:
    """On to the first step the draft still needs, asking its question (after the
    ``first`` messages); ``before`` is the state the turn started from, if not ``state``."""
    moved = replace(state, step=_next(state), tries=0, updated_at=ctx.now)
    if moved.step is Step.PHOTO:
        moved = replace(moved, photo_offered=True)
    messages = [*first, *_question(moved, ctx)]
    return _turn(before or state, moved, messages, answer=answer)


def _again(state: TelegramState, ctx: _Context, *, answer: str | None = None) -> TelegramTurn:
    """The same step asked again, one more try counted."""
    moved = replace(state, tries=state.tries + 1, updated_at=ctx.now)
    return _turn(state, moved, _question(moved, ctx, again=True), answer=answer)


def _turn(
    before: TelegramState,
    after: TelegramState,
    messages: list[Message],
    *,
    answer: str | None = None,
    action: TelegramAction | None = None,
) -> TelegramTurn:
    """The turn; leaving the location step removes its reply keyboard (on the first
    message without markup, or on a message of its own; once filed, :func:`filed`'s
    message does)."""
    if before.step is Step.LOCATION and after.step is not Step.LOCATION:
        bare = next((i for i, m in enumerate(messages) if not m.has_markup), None)
        if bare is not None:
            messages[bare] = replace(messages[bare], remove_keyboard=True)
        elif after.step is not Step.IDLE:
            messages.insert(0, Message(text=texts.TG_PLACE_NOTED, remove_keyboard=True))
    return TelegramTurn(state=after, messages=tuple(messages), answer=answer, action=action)


# ----------------------------------------------------------------------- step


def step(
    state: TelegramState,
    event: Event,
    now: datetime,
    reader: Reader,
    *,
    prefix: str = "LIM",
    arrived: datetime | None = None,
) -> TelegramTurn:
    """One update of the chat: what to send and do, and the state to store. ``arrived``:
    when the update reached voicebridge, if before ``now`` (stored, then read)."""
    at = aware(now)
    ctx = _Context(now=at, reader=reader, prefix=prefix, arrived=min(arrived or at, at))
    if isinstance(event, Text) and event.text.lstrip().startswith("/"):
        name, _, args = event.text.strip().partition(" ")
        event = Command(name=name, args=args)
    if state.step is not Step.IDLE and state.updated_at and now - state.updated_at > IDLE_LIMIT:
        return _expired(state, event, ctx)
    if isinstance(event, Command):
        return _command(state, event, ctx)
    if isinstance(event, Button):
        return _button(state, event, ctx)
    if state.step is Step.IDLE:
        return _begin(state, event, ctx)
    return _input(state, event, ctx)


def _fresh(state: TelegramState, ctx: _Context) -> TelegramState:
    return TelegramState(
        step=Step.IDLE, draft=state.draft, updated_at=ctx.now, last_incident=state.last_incident
    )


def _expired(state: TelegramState, event: Event, ctx: _Context) -> TelegramTurn:
    """The draft waited too long: it is dropped and the event starts a new one."""
    fresh = _fresh(state, ctx)
    if isinstance(event, Button):
        turn = _begin(fresh, None, ctx)
        turn = replace(turn, answer=texts.TG_STALE)
    else:
        turn = step(fresh, event, ctx.now, ctx.reader, prefix=ctx.prefix, arrived=ctx.arrived)
    notice = Message(text=texts.TG_EXPIRED)
    return _turn(
        state, turn.state, [notice, *turn.messages], answer=turn.answer, action=turn.action
    )


def _begin(
    state: TelegramState, event: Text | Location | Photo | None, ctx: _Context
) -> TelegramTurn:
    """A new draft; a first message that says what and where goes to the summary."""
    draft = replace(_fresh(state, ctx), draft=state.draft + 1, began_at=ctx.arrived)
    if isinstance(event, Text):
        reading = ctx.reader(event.text)
        category = _category_of(reading)
        has_place = MISSING_PLACE not in reading.missing
        if category is not None and has_place:  # what and where: on to the summary
            draft = replace(
                draft,
                category=category,
                address=event.text,
                description=event.text,
                photo_offered=True,
            )
        elif has_place:
            draft = replace(draft, address=event.text)
        else:  # kept for the report; the description is asked for still
            draft = replace(draft, category=category, notes=(event.text,))
    elif event is not None:
        draft = _absorb(draft, event)
    return _advance(draft, ctx, before=state, first=(Message(text=texts.TG_GREETING),))


def _category_of(reading: Reading) -> str | None:
    if MISSING_CATEGORY in reading.missing or reading.category not in _CODES:
        return None
    return reading.category


def _absorb(state: TelegramState, event: Location | Photo) -> TelegramState:
    """Keep a location or a photo whatever the step (a photo's caption as words)."""
    if isinstance(event, Location):
        return replace(state, lat=event.lat, lon=event.lon)
    caption = (event.caption or "").strip()
    if caption and state.description is None:
        return replace(state, photo_file_id=event.file_id, description=caption)
    notes = (*state.notes, caption) if caption else state.notes
    return replace(state, photo_file_id=event.file_id, notes=notes)


def _input(state: TelegramState, event: Text | Location | Photo, ctx: _Context) -> TelegramTurn:
    """A message at a step of the draft."""
    if not isinstance(event, Text):
        absorbed = _absorb(state, event)
        done = {
            Step.LOCATION: isinstance(event, Location),
            Step.PHOTO: isinstance(event, Photo),
            Step.DESCRIPTION: absorbed.description is not None,
        }.get(state.step, False)
        if done:
            return _advance(absorbed, ctx)
        if state.step is Step.CONFIRM:  # a new location or photo: the summary again
            return _turn(state, replace(absorbed, updated_at=ctx.now), _question(absorbed, ctx))
        return _again(absorbed, ctx)
    text = event.text.strip()
    if not text:
        return _again(state, ctx)
    match state.step:
        case Step.CATEGORY:
            reading = ctx.reader(text)
            category = _category_of(reading)
            if category is None:
                return _again(replace(state, notes=(*state.notes, text)), ctx)
            if not state.has_place and MISSING_PLACE not in reading.missing:
                return _advance(replace(state, category=category, address=text), ctx)
            return _advance(replace(state, category=category, notes=(*state.notes, text)), ctx)
        case Step.LOCATION:
            if MISSING_PLACE in ctx.reader(text).missing:
                return _again(replace(state, notes=(*state.notes, text)), ctx)
            return _advance(replace(state, address=text), ctx)
        case Step.DESCRIPTION:
            category = state.category
            if category == "otro":  # the words may say which category it is
                category = _category_of(ctx.reader(text)) or category
            return _advance(replace(state, description=text, category=category), ctx)
        case Step.PHOTO:  # more words: added to the description
            return _again(replace(state, description=_joined(state.description, text)), ctx)
        case Step.CONFIRM:
            answer = texts.responder_answer(text)
            word = fold(text).strip(" .!¡")
            if answer == "accept" or word in ("confirmar", "enviar", "enviar asi"):
                return _file(state, ctx)
            if answer == "decline" or word in ("cancelar", "descartar"):
                return _cancel(state, ctx)
            return _again(replace(state, description=_joined(state.description, text)), ctx)
    raise AssertionError(state.step)  # pragma: no cover


def _joined(first: str | None, more: str) -> str:
    return more if not first else f"{first}\n{more}"


# -------------------------------------------------------------------- buttons


def _button(state: TelegramState, event: Button, ctx: _Context) -> TelegramTurn:
    kind, _, rest = event.data.partition(":")
    number, _, value = rest.partition(":")
    expected = {
        "cat": Step.CATEGORY,
        "skip": Step.PHOTO,
        "ok": Step.CONFIRM,
        "cancel": Step.CONFIRM,
    }
    current = number == str(state.draft) and state.step is not Step.IDLE
    fits = kind == "asis" or expected.get(kind) is state.step
    if not (current and fits) or (kind == "cat" and value not in _CODES):
        return TelegramTurn(state=state, answer=texts.TG_STALE)
    if kind == "cat":
        return _advance(replace(state, category=value), ctx, answer=texts.TG_ANSWER_NOTED)
    if kind == "skip":
        return _advance(replace(state, photo_offered=True), ctx, answer=texts.TG_ANSWER_NOTED)
    if kind == "cancel":
        return _cancel(state, ctx, answer=texts.TG_ANSWER_CANCELLED)
    return _file(state, ctx, answer=texts.TG_ANSWER_SENT)


def _cancel(state: TelegramState, ctx: _Context, *, answer: str | None = None) -> TelegramTurn:
    return _turn(
        state,
        _fresh(state, ctx),
        [Message(text=texts.TG_CANCELLED)],
        answer=answer,
        action=Cancelled(),
    )


# ------------------------------------------------------------------- commands

_COMMANDS = {
    "start": "start",
    "ayuda": "ayuda",
    "help": "ayuda",
    "cancelar": "cancelar",
    "cancel": "cancelar",
    "estado": "estado",
    "status": "estado",
}


def _command(state: TelegramState, event: Command, ctx: _Context) -> TelegramTurn:
    name = _COMMANDS.get(event.name.strip().lstrip("/").partition("@")[0].casefold())
    if name == "start":
        return _begin(state, None, ctx)
    if name == "cancelar":
        if state.step is Step.IDLE:
            return TelegramTurn(state=state, messages=(Message(text=texts.TG_NOTHING_TO_CANCEL),))
        return _cancel(state, ctx)
    if name == "estado":
        args = event.args.strip()
        found = parse_incident_id(args, now=ctx.now, prefix=ctx.prefix) if args else None
        incident_id = found if args else state.last_incident
        if incident_id is None:
            usage = texts.status_usage(Channel.TELEGRAM, example=example_id(ctx.prefix, ctx.now))
            return TelegramTurn(state=state, messages=(Message(text=usage),))
        return TelegramTurn(state=state, action=AskStatus(incident_id=incident_id))
    text = texts.tg_help(example=example_id(ctx.prefix, ctx.now))
    if name is None:
        text = texts.TG_UNKNOWN_COMMAND
    return TelegramTurn(state=state, messages=(Message(text=text), *_question(state, ctx)))


# --------------------------------------------------------------------- filing


def _file(state: TelegramState, ctx: _Context, *, answer: str | None = None) -> TelegramTurn:
    """The draft as a report: its texts read together, with the chosen category and the
    place of the typed address."""
    parts: list[str] = []
    for part in (state.description, state.address, *state.notes):
        if part and part not in parts:
            parts.append(part)
    text = "\n".join(parts)
    reading = ctx.reader(text)
    category = state.category or _category_of(reading) or UNCLASSIFIED
    priority = reading.priority
    if category != reading.category and category in _CODES:
        default = category_by_code(category).priority
        raised = bool(reading.raised_by) and _RANK[reading.priority] < _RANK[default]
        priority = reading.priority if raised else default
    place: dict[str, Any] = {}
    if state.address is not None:
        typed = ctx.reader(state.address)
        if MISSING_PLACE not in typed.missing:
            place = {
                "district": typed.district,
                "district_source": typed.district_source,
                "district_note": typed.district_note,
                "address": typed.address,
                "address_key": typed.address_key,
            }
    has_place = state.lat is not None or bool(place) or MISSING_PLACE not in reading.missing
    missing: tuple[str, ...] = (MISSING_CATEGORY,) if category == UNCLASSIFIED else ()
    missing += () if has_place else (MISSING_PLACE,)
    final = replace(reading, category=category, priority=priority, missing=missing, **place)
    report = FileReport(
        reading=final,
        text=text,
        lat=state.lat,
        lon=state.lon,
        photo_file_id=state.photo_file_id,
        began_at=state.began_at,
    )
    return _turn(state, _fresh(state, ctx), [], answer=answer, action=report)


def filed(
    state: TelegramState, *, incident_id: str, joined: bool = False, now: datetime
) -> TelegramTurn:
    """The messages once the report is filed, and the state to store; ``joined`` when it
    joined an incident already open for the same event."""
    aware(now)
    after = replace(state, last_incident=incident_id, updated_at=now)
    if joined:
        text = texts.report_joined(Channel.TELEGRAM, incident_id)
    else:
        text = texts.report_received(Channel.TELEGRAM, incident_id)
    # the reply keyboard of the location step, if the report was sent from there, goes
    return TelegramTurn(state=after, messages=(Message(text=text, remove_keyboard=True),))
