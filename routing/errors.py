"""The error hierarchy of the domain. Every error raised by :mod:`routing` derives from
:class:`RoutingError` and carries a stable ``code`` that the HTTP edge maps to a status."""


class RoutingError(Exception):
    """Base class of the domain's errors."""

    code = "routing_error"


class NotFound(RoutingError):
    code = "not_found"


class IllegalTransition(RoutingError):
    """A status change the incident lifecycle does not allow."""

    code = "illegal_transition"


class Conflict(RoutingError):
    """The incident changed under us (another writer won) or the request contradicts it."""

    code = "conflict"


class InvalidValue(RoutingError):
    """A value that does not belong to the domain (unknown district, category, ...)."""

    code = "invalid_value"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
