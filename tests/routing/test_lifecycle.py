import pytest

from routing.errors import IllegalTransition
from routing.lifecycle import FINAL, TRANSITIONS, check_transition
from routing.models import Status

S = Status


def test_every_status_has_its_transitions_and_final_ones_have_none() -> None:
    assert set(TRANSITIONS) == set(Status)
    for status in FINAL:
        assert TRANSITIONS[status] == frozenset()
    for status, targets in TRANSITIONS.items():
        assert status not in targets, f"{status} -> itself"


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.RECEIVED, S.DISPATCHED),
        (S.DISPATCHED, S.RINGING),
        (S.RINGING, S.ACKNOWLEDGED),
        (S.ACKNOWLEDGED, S.BRIDGED),
        (S.BRIDGED, S.RESOLVED),
        (S.RINGING, S.UNANSWERED),
        (S.UNANSWERED, S.ACKNOWLEDGED),
        (S.UNANSWERED, S.RINGING),
        (S.BRIDGED, S.ACKNOWLEDGED),
        (S.RECEIVED, S.MERGED),
        (S.RECEIVED, S.CANCELLED),
    ],
)
def test_the_happy_and_escalation_paths(current: Status, target: Status) -> None:
    check_transition("LIM-2026-000001", current, target)


def test_every_pair_not_in_the_table_is_refused() -> None:
    for current in Status:
        for target in Status:
            if target in TRANSITIONS[current]:
                continue
            with pytest.raises(IllegalTransition):
                check_transition("LIM-2026-000001", current, target)


def test_the_refusal_says_what_is_allowed() -> None:
    with pytest.raises(
        IllegalTransition,
        match=r"no puede pasar de «recibido» a «en conferencia» \(desde «recibido» puede pasar "
        r"a: «cancelado», «despachado», «fusionado», «resuelto»\)",
    ):
        check_transition("LIM-2026-000009", S.RECEIVED, S.BRIDGED)
    with pytest.raises(IllegalTransition, match="LIM-2026-000009 está resuelto, un estado final"):
        check_transition("LIM-2026-000009", S.RESOLVED, S.RINGING)


def test_spanish_labels() -> None:
    assert S.UNANSWERED.label == "sin respuesta"
    assert S.BRIDGED.label == "en conferencia"
