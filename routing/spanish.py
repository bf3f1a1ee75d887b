"""pydantic's validation errors in Spanish, by error ``type``, with the constraint's
values. pydantic's own texts are English ("Field required", "Value should have at least
3 items"); people read these instead: the API's operators (``voicebridge.api``) and the
admins who write the routing file (:mod:`routing.config`). A type not listed gets a
generic Spanish message; our own validators raise ``ValueError`` with Spanish text, which
is passed on. ``overrides`` replaces the text of some types for one reader (a YAML
mapping is not a JSON object)."""

from collections.abc import Callable, Mapping
from typing import Any

Ctx = Mapping[str, Any]


def _num(value: Any) -> str:
    """90.0 as 90, 0.5 as 0.5."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _n(count: Any, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _choices(ctx: Ctx) -> str:
    # pydantic writes the allowed values as "'a', 'b' or 'c'"
    expected = str(ctx.get("expected", ""))
    head, sep, last = expected.rpartition(" or ")
    return f"{head} o {last}" if sep else expected


def _value_error(ctx: Ctx) -> str:
    return str(ctx.get("error", "")).removeprefix("Value error, ") or "valor no válido"


def _size(ctx: Ctx, key: str, bound: str, one: str, many: str) -> str:
    if key not in ctx:
        return GENERIC
    return f"debe tener {bound} {_n(ctx[key], one, many)}"


_TEXTS: dict[str, Callable[[Ctx], str]] = {
    "missing": lambda c: "falta este campo, que es obligatorio",
    "extra_forbidden": lambda c: "campo desconocido: no se admite aquí",
    "string_type": lambda c: "debe ser un texto",
    "string_unicode": lambda c: "debe ser un texto en UTF-8 válido",
    "string_too_short": lambda c: _size(c, "min_length", "al menos", "carácter", "caracteres"),
    "string_too_long": lambda c: _size(c, "max_length", "como máximo", "carácter", "caracteres"),
    "string_pattern_mismatch": lambda c: "no tiene el formato esperado",
    "string_not_ascii": lambda c: "solo admite caracteres ASCII",
    "int_type": lambda c: "debe ser un número entero",
    "int_parsing": lambda c: "debe ser un número entero",
    "int_parsing_size": lambda c: "es un número entero demasiado grande",
    "int_from_float": lambda c: "debe ser un número entero, sin decimales",
    "float_type": lambda c: "debe ser un número",
    "float_parsing": lambda c: "debe ser un número",
    "finite_number": lambda c: "debe ser un número finito",
    "greater_than": lambda c: f"debe ser mayor que {_num(c['gt'])}" if "gt" in c else GENERIC,
    "greater_than_equal": lambda c: (
        f"debe ser mayor o igual que {_num(c['ge'])}" if "ge" in c else GENERIC
    ),
    "less_than": lambda c: f"debe ser menor que {_num(c['lt'])}" if "lt" in c else GENERIC,
    "less_than_equal": lambda c: (
        f"debe ser menor o igual que {_num(c['le'])}" if "le" in c else GENERIC
    ),
    "multiple_of": lambda c: (
        f"debe ser múltiplo de {_num(c['multiple_of'])}" if "multiple_of" in c else GENERIC
    ),
    "bool_type": lambda c: "debe ser true o false",
    "bool_parsing": lambda c: "debe ser true o false",
    "literal_error": lambda c: f"debe ser {_choices(c)}" if "expected" in c else GENERIC,
    "enum": lambda c: f"debe ser {_choices(c)}" if "expected" in c else GENERIC,
    "none_required": lambda c: "debe ser null",
    "dict_type": lambda c: "debe ser un objeto JSON",
    "model_type": lambda c: "debe ser un objeto JSON",
    "model_attributes_type": lambda c: "debe ser un objeto JSON",
    "mapping_type": lambda c: "debe ser un objeto JSON",
    "list_type": lambda c: "debe ser una lista",
    "tuple_type": lambda c: "debe ser una lista",
    "set_type": lambda c: "debe ser una lista",
    "iterable_type": lambda c: "debe ser una lista",
    "json_invalid": lambda c: "no es JSON válido",
    "json_type": lambda c: "no es JSON válido",
    "recursion_loop": lambda c: "tiene demasiados niveles de anidamiento",
    "recursion_depth_exceeded": lambda c: "tiene demasiados niveles de anidamiento",
    "date_type": lambda c: "debe ser una fecha (AAAA-MM-DD)",
    "date_parsing": lambda c: "debe ser una fecha (AAAA-MM-DD)",
    "datetime_type": lambda c: "debe ser una fecha y hora ISO 8601 con su desfase horario",
    "datetime_parsing": lambda c: "debe ser una fecha y hora ISO 8601 con su desfase horario",
    "timezone_naive": lambda c: "no debe llevar desfase horario",
    "timezone_aware": lambda c: "debe llevar su desfase horario, p. ej. -05:00",
    "url_type": lambda c: "debe ser una URL",
    "url_parsing": lambda c: "debe ser una URL",
    "uuid_type": lambda c: "debe ser un UUID",
    "uuid_parsing": lambda c: "debe ser un UUID",
    "value_error": _value_error,
    "assertion_error": _value_error,
}

GENERIC = "valor no válido"


def _length(error: Mapping[str, Any], key: str, bound: str) -> str:
    """``too_short``/``too_long``: a text's characters, a list's items (pydantic says
    "items" either way when a validator wraps the text)."""
    ctx = error.get("ctx") or {}
    if isinstance(error.get("input"), str):
        return _size(ctx, key, bound, "carácter", "caracteres")
    return _size(ctx, key, bound, "elemento", "elementos")


def message(error: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> str:
    """The Spanish text of one of pydantic's ``ValidationError.errors()``."""
    kind = str(error.get("type", ""))
    if overrides is not None and kind in overrides:
        return overrides[kind]
    if kind == "too_short":
        return _length(error, "min_length", "al menos")
    if kind == "too_long":
        return _length(error, "max_length", "como máximo")
    text = _TEXTS.get(kind)
    if text is None:
        return GENERIC
    return text(error.get("ctx") or {})


def where(loc: tuple[int | str, ...]) -> str:
    """The field's dotted path, ``location.lat``; ``body`` for the body itself."""
    return ".".join(str(p) for p in loc) or "body"
