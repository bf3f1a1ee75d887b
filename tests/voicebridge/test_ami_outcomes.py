"""Asterisk's words into the domain's (:mod:`voicebridge.ami.outcomes`), from what a real
Asterisk 22.10.1 sent."""

import pytest

from routing.models import AttemptOutcome
from tests.voicebridge.test_spanish import english_in
from voicebridge.ami.outcomes import (
    CAUSE_WORDS,
    CAUSES,
    Q850,
    hangup_outcome,
    originate_failure,
    prompt_report,
    spoken_cause,
)
from voicebridge.ami.sim.model import CAUSE_TEXT

Out = AttemptOutcome


@pytest.mark.parametrize(
    ("digit", "status", "kind", "cause"),
    [
        ("1", "OK", "acknowledged", "aceptó con la tecla 1"),
        ("2", "OK", "declined", "rechazó con la tecla 2; se pasa al siguiente destino"),
        ("9", "OK", "repeat", ""),
        ("", "TIMEOUT", "no_choice", "no marcó ninguna opción"),
        ("5", "OK", "no_choice", "marcó 5"),
        # a responder who hangs up during the prompt: Digit empty, ReadStatus HANGUP
        ("", "HANGUP", "no_choice", "colgó durante el mensaje, sin marcar"),
        ("", "ERROR", "no_choice", "colgó durante el mensaje, sin marcar"),
    ],
)
def test_the_prompt_s_report(digit: str, status: str, kind: str, cause: str) -> None:
    report = prompt_report(digit, status)
    assert (report.kind, report.cause) == (kind, cause)
    assert not report.cause.endswith("marcó ")


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [(3, Out.NO_ANSWER), (5, Out.BUSY), (8, Out.CONGESTION), (0, Out.FAILED), (1, Out.FAILED)],
)
def test_originate_reasons(reason: int, outcome: AttemptOutcome) -> None:
    assert originate_failure(reason)[0] is outcome


@pytest.mark.parametrize(
    ("code", "outcome"),
    [(19, Out.NO_ANSWER), (17, Out.BUSY), (34, Out.CONGESTION), (21, Out.FAILED), (0, None)],
)
def test_hangup_causes(code: int, outcome: AttemptOutcome | None) -> None:
    # Cause 0: a Local channel's ;1 says nothing; its OriginateResponse decides
    assert hangup_outcome(code) is outcome


def test_causes_in_spanish() -> None:
    assert spoken_cause(21, "Call Rejected") == "rechazó la llamada (llamada rechazada, Q.850 21)"
    assert spoken_cause(16, "Normal Clearing") == "colgó (fin normal de la llamada, Q.850 16)"
    assert spoken_cause(None, "el canal ya no existe") == "el canal ya no existe"
    # a cause the tables do not know: its number, never Asterisk's English text
    assert spoken_cause(4, "Some cause") == "la llamada terminó (causa sin nombre, Q.850 4)"


# every cause Asterisk 22 names (include/asterisk/causes.h, ast_cause2str)
ASTERISK_CAUSES = (
    0, 1, 2, 3, 5, 6, 7, 8, 14, 16, 17, 18, 19, 20, 21, 22, 23, 26, 27, 28, 29, 30, 31, 34,
    38, 41, 42, 43, 44, 50, 52, 54, 57, 58, 65, 66, 69, 81, 88, 95, 96, 97, 98, 99, 100,
    101, 102, 103, 111, 127,
)  # fmt: skip


@pytest.mark.parametrize("code", sorted({*ASTERISK_CAUSES, *CAUSE_TEXT, *CAUSES, *CAUSE_WORDS}))
def test_every_q850_cause_voicebridge_may_show_has_a_spanish_name(code: int) -> None:
    text = spoken_cause(code, CAUSE_TEXT.get(code, "Unknown"))
    assert code in Q850, code
    assert "causa sin nombre" not in text
    assert not english_in(text), text
    assert CAUSE_TEXT.get(code, "\0") not in text
