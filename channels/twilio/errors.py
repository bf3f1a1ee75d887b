"""The errors of the Twilio channel, and the Spanish words for Twilio's error codes that
the incident log shows (the operators read them; accents are fine there, unlike SMS)."""

__all__ = [
    "BadForm",
    "Permanent",
    "Retryable",
    "SendError",
    "TwilioChannelError",
    "describe",
]


class TwilioChannelError(Exception):
    """Base class of every error raised by :mod:`channels.twilio`."""


class BadForm(TwilioChannelError):
    """A webhook's form is malformed. ``field`` names the parameter (``MessageSid``,
    ``From``, ``NumMedia``...) and ``message`` says in Spanish what is wrong with it, for
    a 400/422 answer that names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SendError(TwilioChannelError):
    """Sending an SMS failed. ``code`` is Twilio's error code (None for a connection
    error or a bare HTTP failure); ``reason`` is the Spanish line for the incident log,
    ending in the code, e.g. ``número inválido (21211)``."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Retryable(SendError):
    """The same request may succeed later (Twilio never processed it, or it is unknown
    whether it did): try again after ``after_seconds`` at the earliest."""

    def __init__(self, code: int | None, reason: str, after_seconds: float) -> None:
        super().__init__(code, reason)
        self.after_seconds = after_seconds


class Permanent(SendError):
    """Sending again the same message to the same number fails again."""


REASONS: dict[int, str] = {
    # REST API, answered to the create request
    20003: "credenciales de Twilio rechazadas",
    20404: "recurso de Twilio inexistente",
    20429: "demasiadas solicitudes simultáneas a Twilio",
    21211: "número inválido",
    21408: "Twilio no tiene permiso para enviar a esa región",
    21602: "mensaje sin texto",
    21603: "falta el número de origen",
    21604: "falta el número de destino",
    21606: "el número de origen no pertenece a la cuenta de Twilio",
    21610: "el destinatario pidió no recibir mensajes (STOP/PARA)",
    21612: "el número no puede recibir SMS",
    21614: "el número no es un celular",
    21617: "mensaje demasiado largo (más de 1600 caracteres)",
    21635: "número fijo: no recibe SMS",
    # delivery, told by the status callback
    30001: "cola de envío de Twilio llena",
    30002: "cuenta de Twilio suspendida",
    30003: "celular apagado o sin señal",
    30004: "mensaje bloqueado por el destinatario o el operador",
    30005: "número de destino desconocido o inexistente",
    30006: "número fijo u operador que no entrega SMS",
    30007: "mensaje filtrado por el operador (spam)",
    30008: "error desconocido del operador",
}


def describe(code: int | None, status: int | None = None) -> str:
    """The Spanish reason for Twilio's error ``code`` (or, without a code, the HTTP
    ``status``), ending in the code: ``número inválido (21211)``."""
    if code is None:
        if status is None:
            return "sin respuesta de Twilio"
        if status >= 500:
            return f"Twilio falló (HTTP {status})"
        return f"Twilio rechazó el envío (HTTP {status})"
    words = REASONS.get(code)
    if words is None:
        words = "error de Twilio" if code < 30000 else "no entregado"
    return f"{words} ({code})"
