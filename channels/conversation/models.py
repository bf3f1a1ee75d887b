"""The values the conversations exchange with the integrator: the actions they ask for,
the Telegram events they take and the messages they give, and their states, which
``to_data`` / ``from_data`` turn into JSON-ready dicts and back."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from channels.conversation.common import text_of, texts_of, time_data, time_of
from routing.reading import Reading

_VERSION = 1  # of the states' data


# -------------------------------------------------------------------- actions


@dataclass(frozen=True, kw_only=True, slots=True)
class FileReport:
    """A new report: the integrator creates an incident or joins an open one for the same
    event, then asks the conversation for the reply (``sms.filed``, ``telegram.filed``).
    ``reading`` is final:
    its category and priority are the ones to file (a Telegram button's choice already
    applied), its district and address the place the text gave."""

    reading: Reading
    text: str  # everything the citizen wrote for this report, as written
    lat: float | None = None  # a point the citizen shared (Telegram)
    lon: float | None = None
    photo_file_id: str | None = None  # a Telegram file id, fetched on demand
    began_at: datetime | None = None  # the conversation's first message (Telegram)


@dataclass(frozen=True, kw_only=True, slots=True)
class AskStatus:
    """The citizen asks for an incident's status: answer with ``texts.incident_status``
    or ``texts.incident_not_found``."""

    incident_id: str


# ------------------------------------------------------------------------ SMS


@dataclass(frozen=True, kw_only=True, slots=True)
class AddToIncident:
    """This SMS completes (or follows up) the number's previous incident: add it as
    another report of ``incident_id`` and fill in what that incident lacked from the
    reading. If that incident can no longer take it (closed, merged), file a
    ``FileReport(reading=..., text=...)`` instead and pass that to ``sms.filed``."""

    incident_id: str
    reading: Reading
    text: str
    still_missing: tuple[str, ...]  # what the incident lacks once this is added


@dataclass(frozen=True, kw_only=True, slots=True)
class OptOut:
    """Send nothing more to this number (the reply, a confirmation, is the last)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class OptIn:
    """The number may be sent messages again."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Help:
    """The number asked for help: the reply says how to report, ask and stop."""


SmsAction = FileReport | AddToIncident | AskStatus | OptOut | OptIn | Help


@dataclass(frozen=True, kw_only=True, slots=True)
class LastReport:
    """The number's last incident, and what it still lacked."""

    incident_id: str
    at: datetime  # when the SMS that created or last completed it arrived
    missing: tuple[str, ...] = ()
    category: str | None = None  # its category, when known
    district: str | None = None
    address_key: str | None = None
    asked: int = 0  # replies that asked for what it lacks


@dataclass(frozen=True, kw_only=True, slots=True)
class SmsState:
    last: LastReport | None = None

    def to_data(self) -> dict[str, Any]:
        last = self.last
        return {
            "v": _VERSION,
            "last": None
            if last is None
            else {
                "incident_id": last.incident_id,
                "at": time_data(last.at),
                "missing": list(last.missing),
                "category": last.category,
                "district": last.district,
                "address_key": last.address_key,
                "asked": last.asked,
            },
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "SmsState":
        """The state :meth:`to_data` wrote; ValueError when it is not one."""
        if not isinstance(data, dict) or data.get("v") != _VERSION:
            raise ValueError(f"not an SMS conversation state: {data!r}")
        last = data.get("last")
        if last is None:
            return cls()
        if not isinstance(last, dict) or not isinstance(last.get("asked", 0), int):
            raise ValueError(f"not an SMS conversation state: {data!r}")
        at = time_of(last.get("at"))
        incident_id = text_of(last.get("incident_id"), optional=False)
        if at is None or incident_id is None:
            raise ValueError(f"not an SMS conversation state: {data!r}")
        return cls(
            last=LastReport(
                incident_id=incident_id,
                at=at,
                missing=texts_of(last.get("missing", [])),
                category=text_of(last.get("category")),
                district=text_of(last.get("district")),
                address_key=text_of(last.get("address_key")),
                asked=last.get("asked", 0),
            )
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class SmsTurn:
    """What to do with one inbound SMS. ``reply`` is None exactly when the reply needs
    the integrator: after FileReport / AddToIncident (:func:`filed`) and after AskStatus
    (``texts.incident_status`` / ``texts.incident_not_found`` with ``Channel.SMS``).
    ``state`` is the one to store (after a report, ``sms.filed`` gives it)."""

    state: SmsState
    action: SmsAction | None
    reply: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class SmsReply:
    """The reply to a filed report, and the state to store."""

    state: SmsState
    reply: str


# ------------------------------------------------------------------- Telegram

# what the integrator makes of an update of a private chat


@dataclass(frozen=True, kw_only=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True, kw_only=True, slots=True)
class Photo:
    file_id: str  # the largest size's
    caption: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Button:
    data: str  # the pressed inline button's callback_data


@dataclass(frozen=True, kw_only=True, slots=True)
class Command:
    name: str  # "estado", "/estado" or "/estado@bot": case and the slash ignored
    args: str = ""


Event = Text | Location | Photo | Button | Command


# what to send

Buttons = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback_data)


@dataclass(frozen=True, kw_only=True, slots=True)
class Message:
    """A message to send. At most one markup: inline ``buttons``, a reply keyboard with
    one button labelled ``request_location`` that shares the location, or the removal
    of that keyboard."""

    text: str
    buttons: Buttons = ()
    request_location: str | None = None
    remove_keyboard: bool = False

    def __post_init__(self) -> None:
        if sum((bool(self.buttons), self.request_location is not None, self.remove_keyboard)) > 1:
            raise ValueError("a message carries one markup at most")

    @property
    def has_markup(self) -> bool:
        return bool(self.buttons) or self.request_location is not None or self.remove_keyboard


@dataclass(frozen=True, kw_only=True, slots=True)
class Cancelled:
    """The citizen abandoned the draft (nothing was filed)."""


TelegramAction = FileReport | AskStatus | Cancelled


class Step(StrEnum):
    IDLE = "idle"  # no draft
    CATEGORY = "category"
    LOCATION = "location"
    DESCRIPTION = "description"
    PHOTO = "photo"
    CONFIRM = "confirm"


@dataclass(frozen=True, kw_only=True, slots=True)
class TelegramState:
    step: Step = Step.IDLE
    draft: int = 0  # the number of the chat's current (or last) draft
    category: str | None = None
    lat: float | None = None
    lon: float | None = None
    address: str | None = None  # the place as typed
    description: str | None = None
    photo_file_id: str | None = None
    photo_offered: bool = False  # asked for (or skipped by a complete first message)
    notes: tuple[str, ...] = ()  # other words of the citizen's, kept for the report
    tries: int = 0  # unexpected inputs at this step
    updated_at: datetime | None = None
    last_incident: str | None = None
    began_at: datetime | None = None  # the draft's first message (the report's contact)

    @property
    def has_place(self) -> bool:
        return self.lat is not None or self.address is not None

    def to_data(self) -> dict[str, Any]:
        return {
            "v": _VERSION,
            "step": self.step.value,
            "draft": self.draft,
            "category": self.category,
            "lat": self.lat,
            "lon": self.lon,
            "address": self.address,
            "description": self.description,
            "photo_file_id": self.photo_file_id,
            "photo_offered": self.photo_offered,
            "notes": list(self.notes),
            "tries": self.tries,
            "updated_at": time_data(self.updated_at),
            "last_incident": self.last_incident,
            "began_at": time_data(self.began_at),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "TelegramState":
        """The state :meth:`to_data` wrote; ValueError when it is not one."""
        if not isinstance(data, dict) or data.get("v") != _VERSION:
            raise ValueError(f"not a Telegram conversation state: {data!r}")
        numbers = [data.get(k) for k in ("lat", "lon")]
        if not all(n is None or isinstance(n, int | float) for n in numbers):
            raise ValueError(f"not a Telegram conversation state: {data!r}")
        lat, lon = (None if n is None else float(n) for n in numbers)
        draft, tries = data.get("draft", 0), data.get("tries", 0)
        offered = data.get("photo_offered", False)
        if not (isinstance(draft, int) and isinstance(tries, int) and isinstance(offered, bool)):
            raise ValueError(f"not a Telegram conversation state: {data!r}")
        return cls(
            step=Step(str(data.get("step"))),
            draft=draft,
            category=text_of(data.get("category")),
            lat=lat,
            lon=lon,
            address=text_of(data.get("address")),
            description=text_of(data.get("description")),
            photo_file_id=text_of(data.get("photo_file_id")),
            photo_offered=offered,
            notes=texts_of(data.get("notes", [])),
            tries=tries,
            updated_at=time_of(data.get("updated_at")),
            last_incident=text_of(data.get("last_incident")),
            began_at=time_of(data.get("began_at")),  # absent in states stored before it
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class TelegramTurn:
    """What to do with one update: the messages to send in order, the answer to the
    pressed button (always a text when the event was a :class:`Button`, else None), at
    most one action, and the state to store. After :class:`AskStatus` the integrator
    also sends ``texts.incident_status`` / ``texts.incident_not_found`` (Channel.TELEGRAM)."""

    state: TelegramState
    messages: tuple[Message, ...] = ()
    answer: str | None = None
    action: TelegramAction | None = None
