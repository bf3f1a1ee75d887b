"""Reading a webhook's ``application/x-www-form-urlencoded`` body into multi-values, and
taking single fields out of it with the checks every Twilio webhook shares. Pure."""

import re
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl

from channels.twilio.errors import BadForm

__all__ = ["MAX_FIELDS", "parse_form"]

MAX_FIELDS = 200
"""More parameters than any Twilio webhook sends (an MMS with 10 media has about 40)."""

FORM_FIELD = "(formulario)"
"""The ``field`` of a :class:`BadForm` about the whole body rather than one parameter."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_form(body: bytes) -> dict[str, list[str]]:
    """The parameters of a form body, each with its values in arrival order (blank values
    kept: Twilio signs them too). Not UTF-8, or more than :data:`MAX_FIELDS` parameters:
    :class:`BadForm`."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError as exc:
        raise BadForm(FORM_FIELD, "el cuerpo no es UTF-8 válido") from exc
    except ValueError as exc:
        raise BadForm(FORM_FIELD, f"más de {MAX_FIELDS} parámetros") from exc
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
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
