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

# Q.850 causes in the words the console shows (Asterisk's Cause-txt is English)
CAUSE_WORDS = {
    0: "causa desconocida", 1: "número inexistente", 16: "colgó", 17: "ocupado",
    18: "el equipo no respondió", 19: "no contestó", 20: "abonado ausente",
    21: "rechazó la llamada", 27: "destino fuera de servicio", 28: "número mal formado",
    31: "colgó", 34: "red congestionada", 38: "red fuera de servicio",
    41: "falla temporal de la red", 42: "central congestionada",
}  # fmt: skip


def spoken_cause(code: int | None, text: str) -> str:
    """``rechazó la llamada (Call Rejected, 21)`` from a Hangup's Cause and Cause-txt;
    our own words (no code) unchanged."""
    if code is None:
        return text
    words = CAUSE_WORDS.get(code, "la llamada terminó")
    return f"{words} ({text}, {code})" if text else f"{words} ({code})"


def originate_failure(reason: int) -> tuple[AttemptOutcome, str]:
    """What an OriginateResponse that is not "answered" means."""
    return REASONS.get(reason, (Out.FAILED, f"Asterisk no pudo hacer la llamada (Reason {reason})"))


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
