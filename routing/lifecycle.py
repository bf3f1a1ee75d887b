"""The incident lifecycle: which status may follow which.

    received ──► dispatched ──► ringing ──► acknowledged ──► bridged ──► resolved
        │             │            │  ▲          │  ▲           │
        │             │            ▼  │          │  └───────────┘ (responder left)
        │             └────────► unanswered ─────┘ (late ack or manual ack)
        └─► resolved / cancelled / merged, from any state that is not final

The incident status is the aggregate over its agencies: ``ringing`` while some agency is
being called and none acknowledged; ``acknowledged`` once one did; ``unanswered`` when
every agency's escalation ended without an acknowledgement (the centre's supervisors are
then on it, and a late acknowledgement or a new dispatch may still follow).
"""

from routing.errors import IllegalTransition
from routing.models import Status

S = Status

FINAL: frozenset[Status] = frozenset({S.RESOLVED, S.CANCELLED, S.MERGED})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.RECEIVED: frozenset({S.DISPATCHED, S.RESOLVED, S.CANCELLED, S.MERGED}),
    S.DISPATCHED: frozenset(
        {S.RINGING, S.ACKNOWLEDGED, S.UNANSWERED, S.RESOLVED, S.CANCELLED, S.MERGED}
    ),
    S.RINGING: frozenset({S.ACKNOWLEDGED, S.UNANSWERED, S.RESOLVED, S.CANCELLED, S.MERGED}),
    S.ACKNOWLEDGED: frozenset({S.BRIDGED, S.RESOLVED, S.CANCELLED}),
    S.BRIDGED: frozenset({S.ACKNOWLEDGED, S.RESOLVED, S.CANCELLED}),
    S.UNANSWERED: frozenset(
        {S.DISPATCHED, S.RINGING, S.ACKNOWLEDGED, S.RESOLVED, S.CANCELLED, S.MERGED}
    ),
    S.RESOLVED: frozenset(),
    S.CANCELLED: frozenset(),
    S.MERGED: frozenset(),
}


def check_transition(incident_id: str, current: Status, target: Status) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> target`` is allowed."""
    if target in TRANSITIONS[current]:
        return
    if current in FINAL:
        raise IllegalTransition(
            f"{incident_id} está {current.label}, un estado final: no puede pasar a "
            f"«{target.label}»"
        )
    allowed = ", ".join(f"«{label}»" for label in sorted(s.label for s in TRANSITIONS[current]))
    raise IllegalTransition(
        f"{incident_id} no puede pasar de «{current.label}» a «{target.label}» "
        f"(desde «{current.label}» puede pasar a: {allowed})"
    )
