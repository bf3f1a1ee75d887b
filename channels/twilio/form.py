"""Reading a webhook's ``application/x-www-form-urlencoded`` body into multi-values, and
taking single fields out of it with the checks every Twilio webhook shares. Pure."""

import re
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import unquote, unquote_to_bytes

from channels.twilio.errors import BadForm

__all__ = ["MAX_FIELDS", "parse_form"]

MAX_FIELDS = 200
"""More parameters than any Twilio webhook sends (an MMS with 10 media has about 40)."""

FORM_FIELD = "(formulario)"
"""The ``field`` of a :class:`BadForm` about the whole body rather than one parameter."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _unquote_ascii(text: str) -> str:
    """``unquote(text, errors="strict")`` of an ASCII ``text``: the whole of it is one
    ASCII run, which unquote turns into bytes and decodes, without its splitting."""
    return unquote_to_bytes(text).decode("utf-8") if "%" in text else text


def _unquote_strict(text: str) -> str:
    return unquote(text, encoding="utf-8", errors="strict") if "%" in text else text


def parse_form(body: bytes) -> dict[str, list[str]]:
    """The parameters of a form body, each with its values in arrival order (blank values
    kept: Twilio signs them too). Not UTF-8, or more than :data:`MAX_FIELDS` parameters:
    :class:`BadForm`.

    What ``urllib.parse.parse_qsl(text, keep_blank_values=True, errors="strict",
    max_num_fields=MAX_FIELDS)`` reads, in one pass that fills the multi-values: fields
    split on ``&`` (empty ones skipped, but counted against the limit as parse_qsl counts
    them), a name without ``=`` has the value ``""``, ``+`` is a space, ``%XX`` escapes
    are UTF-8."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadForm(FORM_FIELD, "el cuerpo no es UTF-8 válido") from exc
    if text.count("&") >= MAX_FIELDS:  # parse_qsl's count: one more field than separators
        raise BadForm(FORM_FIELD, f"más de {MAX_FIELDS} parámetros")
    # a form Twilio posts is ASCII (everything else is escaped)
    decoded: Callable[[str], str] = _unquote_ascii if text.isascii() else _unquote_strict
    form: dict[str, list[str]] = {}
    try:
        for field in text.split("&"):
            if not field:
                continue
            name, _, value = field.partition("=")
            name = decoded(name.replace("+", " ") if "+" in name else name)
            value = decoded(value.replace("+", " ") if "+" in value else value)
            values = form.get(name)
            if values is None:
                form[name] = [value]
            else:
                values.append(value)
    except UnicodeDecodeError as exc:
        raise BadForm(FORM_FIELD, "el cuerpo no es UTF-8 válido") from exc
    return form


def optional(form: Mapping[str, Sequence[str]], name: str) -> str | None:
    """The single value of ``name``, None when absent; given twice: :class:`BadForm`."""
    values = form.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadForm(name, "viene repetido")
    return values[0]


def required(form: Mapping[str, Sequence[str]], name: str) -> str:
    """The single, non-empty value of ``name``; else :class:`BadForm` naming it."""
    value = optional(form, name)
    if not value:
        raise BadForm(name, "falta")
    return value


def matching(form: Mapping[str, Sequence[str]], name: str, pattern: re.Pattern[str]) -> str:
    """The value of ``name``, which must match ``pattern`` entirely."""
    value = required(form, name)
    if not pattern.fullmatch(value):
        raise BadForm(name, "no tiene el formato de Twilio")
    return value


def address(form: Mapping[str, Sequence[str]], name: str) -> str:
    """A ``From``/``To`` value: present, at most 64 characters, no control character
    (its form, E.164 or short code, is for the phone-number normaliser to judge)."""
    value = required(form, name)
    if len(value) > 64 or _CONTROL.search(value):
        raise BadForm(name, "no es un número de teléfono")
    return value


def count(
    form: Mapping[str, Sequence[str]], name: str, *, default: int, low: int, high: int
) -> int:
    """A small whole number (``NumMedia``, ``NumSegments``), ``default`` when absent."""
    value = optional(form, name)
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 4:
        raise BadForm(name, "no es un número")
    number = int(value)
    if not low <= number <= high:
        raise BadForm(name, f"fuera de rango ({low} a {high})")
    return number
