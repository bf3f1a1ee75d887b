"""The voice adapter's reconciliation: the contacts in flight brought in line with a
snapshot of what Asterisk has (its channels, the members of each room), after every
login and now and then.

Pure: :func:`reconcile` compares and returns the changes; the bridge applies them
through the contact port. A responder found in the room accepted while the link was
down; a contact whose channel is gone ended unseen (or was claimed by a replica that
died before originating it): after a login the bridge reports those together as lost
with Asterisk (``gone``), which calls their lines back into their rooms; one found
answered was answered unseen. A contact changed
since the snapshot was taken is newer than it and left alone (the ledger gives only
older ones), and so is one claimed less than :data:`PLACING_GRACE` before it (its
Originate may be on its way).
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from routing.contacts import ContactPort, LiveContact
from routing.models import AttemptOutcome, ContactState

# a contact claimed this recently may have its Originate on the way to Asterisk still
PLACING_GRACE = timedelta(seconds=10)


@dataclass(frozen=True, kw_only=True, slots=True)
class Snapshot:
    live: frozenset[str]  # Uniqueids of Asterisk's channels
    up: frozenset[str]  # those answered
    rooms: Mapping[str, set[str]]  # the members of each room, by room
    taken_at: datetime  # when the snapshot was begun


@dataclass(frozen=True, kw_only=True, slots=True)
class Change:
    ref: str
    words: str  # for the service's log (English)
    apply: Callable[[ContactPort], None]
    gone: bool = False  # Asterisk no longer has its channel


def reconcile(contacts: Sequence[LiveContact], snapshot: Snapshot) -> list[Change]:
    changes = []
    for contact in contacts:
        ref, state = contact.ref, contact.state
        if ref in snapshot.rooms.get(contact.room, set()):
            if state is not ContactState.IN_ROOM:
                changes.append(_change(ref, "in the room", _joined))
        elif ref in snapshot.live:
            if state is ContactState.IN_ROOM:
                changes.append(_change(ref, "out of the room", _left))
            elif state is ContactState.PLACING and ref in snapshot.up:
                changes.append(_change(ref, "answered", _answered))
        elif (
            state is not ContactState.PLACING
            or contact.updated_at < snapshot.taken_at - PLACING_GRACE
        ):
            changes.append(_change(ref, "ended", _gone, gone=True))
    return changes


def _change(
    ref: str, words: str, report: Callable[[ContactPort, str], None], *, gone: bool = False
) -> Change:
    return Change(ref=ref, words=f"{ref}: {words}", apply=lambda port: report(port, ref), gone=gone)


def _joined(port: ContactPort, ref: str) -> None:
    port.joined(ref)


def _left(port: ContactPort, ref: str) -> None:
    port.left(ref)


def _answered(port: ContactPort, ref: str) -> None:
    port.answered(ref)


GONE = "el canal ya no existe en Asterisk"


def _gone(port: ContactPort, ref: str) -> None:
    port.ended(ref, GONE, AttemptOutcome.FAILED)
