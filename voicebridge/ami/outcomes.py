"""Asterisk's words into the domain's: Originate Reasons, Hangup causes (Q.850), the
responder prompt's report, and the channel variables ``vb-ack`` and ``vb-room`` read.

Pure: the bridge feeds it what Asterisk said and reports the result through the contact
port. Facts from a real Asterisk 22.10.1 (``shared/asterisk/README.md`` and its traces).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from routing.contacts import ToPlace
from routing.models import AckMethod, AttemptOutcome

Out = AttemptOutcome

ANSWERED_REASON = 4
# Originate Reason codes: 3 no answer, 5 busy, 8 congestion (0: failed, see the Hangup)
REASONS = {3: (Out.NO_ANSWER, "no contestó"), 5: (Out.BUSY, "ocupado"),
           8: (Out.CONGESTION, "red congestionada")}  # fmt: skip
# Hangup Cause codes before answer (Q.850)
CAUSES = {
    18: Out.NO_ANSWER,
    19: Out.NO_ANSWER,
    17: Out.BUSY,
    34: Out.CONGESTION,
    38: Out.CONGESTION,
    42: Out.CONGESTION,
}

# Q.850 causes in the words the console shows (Asterisk's Cause-txt is English): what
# happened, in short
CAUSE_WORDS = {
    0: "causa desconocida", 1: "número inexistente", 16: "colgó", 17: "ocupado",
    18: "el equipo no respondió", 19: "no contestó", 20: "abonado ausente",
    21: "rechazó la llamada", 27: "destino fuera de servicio", 28: "número mal formado",
    31: "colgó", 34: "red congestionada", 38: "red fuera de servicio",
    41: "falla temporal de la red", 42: "central congestionada",
}  # fmt: skip

# and the cause's name, in Spanish: every cause Asterisk names (its causes.h,
# ast_cause2str), so that no English Cause-txt reaches people
Q850 = {
    0: "causa no definida",
    1: "número no asignado",
    2: "sin ruta hacia la red de tránsito",
    3: "sin ruta hacia el destino",
    5: "prefijo de troncal mal marcado",
    6: "canal no aceptable",
    7: "llamada entregada en un canal ya establecido",
    8: "llamada desplazada por otra de mayor prioridad",
    14: "número portado a otra red",
    16: "fin normal de la llamada",
    17: "usuario ocupado",
    18: "el usuario no responde",
    19: "timbró sin que nadie contestara",
    20: "abonado ausente",
    21: "llamada rechazada",
    22: "el número cambió",
    23: "redirigida a otro destino",
    26: "contestada en otro equipo",
    27: "destino fuera de servicio",
    28: "formato de número no válido",
    29: "servicio rechazado",
    30: "respuesta a una consulta de estado",
    31: "fin normal, sin especificar",
    34: "no hay circuito disponible",
    38: "red fuera de servicio",
    41: "falla temporal",
    42: "central congestionada",
    43: "información de acceso descartada",
    44: "el canal pedido no está disponible",
    47: "recurso no disponible, sin especificar",
    50: "servicio no contratado",
    52: "llamadas salientes bloqueadas",
    54: "llamadas entrantes bloqueadas",
    57: "capacidad portadora no autorizada",
    58: "capacidad portadora no disponible",
    65: "capacidad portadora no implementada",
    66: "tipo de canal no implementado",
    69: "servicio no implementado",
    81: "referencia de llamada no válida",
    88: "destino incompatible",
    95: "mensaje no válido, sin especificar",
    96: "falta un elemento de información obligatorio",
    97: "tipo de mensaje inexistente o no implementado",
    98: "mensaje incompatible con el estado de la llamada",
    99: "elemento de información inexistente o no implementado",
    100: "contenido no válido de un elemento de información",
    101: "mensaje incompatible con el estado de la llamada",
    102: "venció un temporizador de recuperación",
    103: "longitud errónea de un elemento de información obligatorio",
    111: "error de protocolo, sin especificar",
    127: "falla de interconexión, sin especificar",
}


def spoken_cause(code: int | None, text: str) -> str:
    """``rechazó la llamada (llamada rechazada, Q.850 21)`` from a Hangup's Cause (its
    English Cause-txt is not shown); our own words (no code) unchanged."""
    if code is None:
        return text
    words = CAUSE_WORDS.get(code, "la llamada terminó")
    name = Q850.get(code, "causa sin nombre")
    return f"{words} ({name}, Q.850 {code})"


def originate_failure(reason: int) -> tuple[AttemptOutcome, str]:
    """What an OriginateResponse that is not "answered" means."""
    return REASONS.get(
        reason, (Out.FAILED, f"Asterisk no pudo hacer la llamada (código de resultado {reason})")
    )


def hangup_outcome(code: int | None) -> AttemptOutcome | None:
    """Why a channel that was never answered ended, from its Hangup's Cause; None when
    the Cause does not tell. A Local channel's ``;1`` ends with Cause 0 whatever happened
    to its far end, before or after the OriginateResponse (busy: before, on Asterisk
    22.10.1): its Reason says why."""
    if not code:
        return None
    return CAUSES.get(code, Out.FAILED)


@dataclass(frozen=True, kw_only=True, slots=True)
class PromptReport:
    """The domain's reading of the prompt's UserEvent ResponderAck."""

    kind: str  # "acknowledged", "declined", "no_choice", "repeat"
    method: AckMethod = AckMethod.KEYPRESS
    cause: str = ""


def prompt_report(digit: str, status: str) -> PromptReport:
    """1 accepts, 2 declines, 9 repeats (the prompt plays again); a timeout, a hang-up
    during the prompt or any other key is no acknowledgement."""
    if digit == "1":
        return PromptReport(kind="acknowledged", cause="aceptó con la tecla 1")
    if digit == "2":
        return PromptReport(
            kind="declined", cause="rechazó con la tecla 2; se pasa al siguiente destino"
        )
    if digit == "9":
        return PromptReport(kind="repeat")
    if status == "HANGUP" or (not digit and status != "TIMEOUT"):
        return PromptReport(kind="no_choice", cause="colgó durante el mensaje, sin marcar")
    if status == "TIMEOUT" or not digit:
        return PromptReport(kind="no_choice", cause="no marcó ninguna opción")
    return PromptReport(kind="no_choice", cause=f"marcó {digit}")


def channel_variables(call: ToPlace) -> Mapping[str, str]:
    """What ``vb-ack`` and ``vb-room`` read (each one FILTERed again in the dialplan)."""
    variables = {
        "VB_ROOM": call.room,
        "VB_INCIDENT": call.room,
        "VB_DIGITS": call.room.rsplit("-", 1)[-1],
        "VB_CATEGORY": call.category,
    }
    if call.dtmf and call.contact.asks_for_ack:  # dialled once the line answers (vb-ack)
        variables["VB_DTMF"] = call.dtmf
    return variables
