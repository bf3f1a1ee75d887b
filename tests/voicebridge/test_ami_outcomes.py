"""Asterisk's words into the domain's (:mod:`voicebridge.ami.outcomes`), from what a real
Asterisk 22.10.1 sent."""

import pytest

from routing.models import AttemptOutcome
from voicebridge.ami.outcomes import (
    hangup_outcome,
    originate_failure,
    prompt_report,
    spoken_cause,
)

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
    assert spoken_cause(21, "Call Rejected") == "rechazó la llamada (Call Rejected, 21)"
    assert spoken_cause(None, "el canal ya no existe") == "el canal ya no existe"
