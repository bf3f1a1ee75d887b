"""The fields of a raw update the channel reads, checked before PTB sees them.

PTB's ``Update.de_json`` is tolerant (a string ``chat.id`` stays a string) and, on a
missing field, fails with a ``TypeError`` that names a Python class, not the place in the
update. This check walks the parts of an update the flows read and names the first
wrong field by its dotted path (``message.photo[1].file_unique_id``), in Spanish. The
required fields are PTB 22.8's (``_telegramobject.py`` ``_de_json``; CHANNELS.md A4).
Pure: no I/O.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias, Union

from channels.telegram.errors import BadUpdate


@dataclass(frozen=True, kw_only=True, slots=True)
class Field:
    kind: "Kind"
    required: bool = True
    many: bool = False  # a JSON array of ``kind``


Shape: TypeAlias = Mapping[str, Field]
Kind: TypeAlias = Union[type[int], type[float], type[str], type[bool], Shape]  # noqa: UP007


def _req(kind: Kind, *, many: bool = False) -> Field:
    return Field(kind=kind, many=many)


def _opt(kind: Kind, *, many: bool = False) -> Field:
    return Field(kind=kind, required=False, many=many)


USER: Shape = {"id": _req(int), "is_bot": _req(bool), "first_name": _req(str)}
CHAT: Shape = {"id": _req(int), "type": _req(str)}
ENTITY: Shape = {"type": _req(str), "offset": _req(int), "length": _req(int)}
LOCATION: Shape = {
    "latitude": _req(float),
    "longitude": _req(float),
    "horizontal_accuracy": _opt(float),
    "live_period": _opt(int),
}
PHOTO_SIZE: Shape = {
    "file_id": _req(str),
    "file_unique_id": _req(str),
    "width": _req(int),
    "height": _req(int),
    "file_size": _opt(int),
}
MESSAGE: Shape = {
    "message_id": _req(int),
    "date": _req(int),
    "chat": _req(CHAT),
    "from": _opt(USER),
    "text": _opt(str),
    "entities": _opt(ENTITY, many=True),
    "caption": _opt(str),
    "location": _opt(LOCATION),
    "venue": _opt({"location": _req(LOCATION), "title": _req(str), "address": _req(str)}),
    "photo": _opt(PHOTO_SIZE, many=True),
    "contact": _opt({"phone_number": _req(str), "first_name": _req(str), "user_id": _opt(int)}),
}
# what a callback query carries may be an InaccessibleMessage (date 0): the common part
MAYBE_MESSAGE: Shape = {"message_id": _req(int), "date": _req(int), "chat": _req(CHAT)}
CALLBACK_QUERY: Shape = {
    "id": _req(str),
    "from": _req(USER),
    "chat_instance": _req(str),
    "message": _opt(MAYBE_MESSAGE),
    "data": _opt(str),
}
MEMBER: Shape = {"user": _req(USER), "status": _req(str), "until_date": _opt(int)}
CHAT_MEMBER_UPDATED: Shape = {
    "chat": _req(CHAT),
    "from": _req(USER),
    "date": _req(int),
    "old_chat_member": _req(MEMBER),
    "new_chat_member": _req(MEMBER),
}
UPDATE_PARTS: Mapping[str, Shape] = {
    "message": MESSAGE,
    "edited_message": MESSAGE,
    "callback_query": CALLBACK_QUERY,
    "my_chat_member": CHAT_MEMBER_UPDATED,
}

_NAMES = {int: "un entero", float: "un número", str: "texto", bool: "verdadero o falso"}


def check(value: object, shape: Shape, path: str) -> None:
    """Raise :class:`BadUpdate` naming the first field of ``value`` that ``shape``
    requires and is missing, or that has the wrong JSON type."""
    if not isinstance(value, dict):
        raise BadUpdate(path, "debe ser un objeto JSON")
    for name, field in shape.items():
        where = f"{path}.{name}"
        if name not in value or value[name] is None:
            if field.required:
                raise BadUpdate(where, "falta este campo obligatorio")
            continue
        item = value[name]
        if field.many:
            if not isinstance(item, list):
                raise BadUpdate(where, "debe ser una lista")
            for index, element in enumerate(item):
                _check_one(element, field.kind, f"{where}[{index}]")
        else:
            _check_one(item, field.kind, where)


def _check_one(value: object, kind: Kind, path: str) -> None:
    if isinstance(kind, Mapping):
        check(value, kind, path)
        return
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise BadUpdate(path, f"debe ser {_NAMES[kind]}")
