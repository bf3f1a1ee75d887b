"""The dialplan administration's records (issue 14, point 1): immutable revisions with
author, time, comment and diff; the shipped templates in force at first start; a save
validated with the rest of the set, refused with its problems; a save based on an old
revision refused with the diff of what changed meanwhile; an unchanged save stores
nothing; the pointer moves only when told; every step audited."""

import pytest

from dialplans.render import CitizenLine
from dialplans.templateset import EDITABLE, PARAMETERS, shipped
from routing.errors import NotFound
from voicebridge.dialplan_admin import Conflict, DialplanStore, Refused, checker
from voicebridge.runtime import Runtime

CHECK = checker((CitizenLine(number="105", district="01"),))


@pytest.fixture
def store(runtime: Runtime) -> DialplanStore:
    runtime.dialplans.seed()
    return runtime.dialplans


def test_the_first_start_puts_the_shipped_templates_in_force_once(runtime: Runtime) -> None:
    created = runtime.dialplans.seed()
    assert len(created) == len(EDITABLE)
    assert runtime.dialplans.seed() == []  # a second replica, a restart: nothing more
    in_force = runtime.dialplans.in_force()
    assert set(in_force) == set(EDITABLE)
    assert {name: r.content for name, r in in_force.items()} == shipped()
    assert {r.author for r in in_force.values()} == {"voicebridge"}
    [entry] = runtime.dialplans.audit_log()
    assert entry.action == "seed"


def test_a_save_is_a_new_revision_with_its_diff_and_changes_nothing_in_force(
    store: DialplanStore,
) -> None:
    base = store.latest("vb-ack")
    content = base.content.replace("{{ read_timeout }})", "{{ read_timeout }}0)")
    revision, created = store.propose(
        "vb-ack", content, base=base.id, comment="espera más larga", author="admin:ana", check=CHECK
    )
    assert created
    assert revision.base_id == base.id
    assert (revision.author, revision.comment) == ("admin:ana", "espera más larga")
    assert "- same => n,Read(VB_KEY,${VB_MESSAGE},1,,1,{{ read_timeout }})\n" in revision.diff
    assert "+ same => n,Read(VB_KEY,${VB_MESSAGE},1,,1,{{ read_timeout }}0)\n" in revision.diff
    assert store.pointers()["vb-ack"] == base.id  # in force only after a switch
    assert store.latest("vb-ack").id == revision.id
    again, created = store.propose(
        "vb-ack", content, base=revision.id, comment="otra vez", author="admin:ana", check=CHECK
    )
    assert (again.id, created) == (revision.id, False)
    assert [e.action for e in store.audit_log()][:1] == ["propose"]


def test_a_save_based_on_an_old_revision_is_refused_with_what_changed(
    store: DialplanStore,
) -> None:
    base = store.latest(PARAMETERS)
    first = base.content.replace("menu_tries: 3", "menu_tries: 4")
    mine, _ = store.propose(
        PARAMETERS, first, base=base.id, comment="4 intentos", author="admin:ana", check=CHECK
    )
    theirs = base.content.replace("read_timeout: 10", "read_timeout: 12")
    with pytest.raises(Conflict) as caught:
        store.propose(
            PARAMETERS, theirs, base=base.id, comment="12 s", author="admin:luis", check=CHECK
        )
    assert caught.value.latest.id == mine.id
    entry = store.audit_log()[0]
    assert (entry.action, entry.ok, entry.actor) == ("conflict", False, "admin:luis")
    assert "-menu_tries: 3" in caught.value.diff
    assert "+menu_tries: 4" in caught.value.diff
    assert store.latest(PARAMETERS).id == mine.id


def test_a_save_that_does_not_pass_is_never_stored_and_the_refusal_is_audited(
    store: DialplanStore,
) -> None:
    base = store.latest("vb-room")
    bad = base.content.replace(" same => n,Answer()\n", " same => n,System(id)\n", 1)
    with pytest.raises(Refused) as caught:
        store.propose("vb-room", bad, base=base.id, comment="x", author="admin:eve", check=CHECK)
    [problem] = caught.value.problems
    assert problem.template == "vb-room"
    assert "System()" in problem.es
    assert store.latest("vb-room").id == base.id
    entry = store.audit_log()[0]
    assert (entry.action, entry.ok, entry.actor) == ("refused", False, "admin:eve")


def test_the_validation_sees_the_other_templates_in_force(store: DialplanStore) -> None:
    """A partial's change is checked in every context that includes it."""
    base = store.latest("_conference")
    bad = base.content.replace(" same => n,ConfBridge(${VB_ROOM})\n", "")
    with pytest.raises(Refused) as caught:
        store.propose("_conference", bad, base=base.id, comment="x", author="admin:a", check=CHECK)
    said = {p.en for p in caught.value.problems}
    assert any("ConfBridge() in vb-ack" in s for s in said)
    assert any("ConfBridge() in vb-room" in s for s in said)


def test_the_pointer_moves_when_told_and_diffs_compare_any_two(store: DialplanStore) -> None:
    base = store.latest("vb-check")
    content = base.content.replace("NoOp(responder line check)", "NoOp(prueba de línea)")
    revision, _ = store.propose(
        "vb-check", content, base=base.id, comment="texto", author="admin:ana", check=CHECK
    )
    live = {"vb-check": "[vb-check]\nexten => s,1,NoOp(prueba de línea)\n"}
    previous = store.switched(
        revision.id, live, actor="admin:ana", action="switch", detail="prueba"
    )
    assert previous == base.id
    move = store.last_undoable()
    assert move is not None
    assert (move.revision_id, move.previous_id, move.actor) == (revision.id, base.id, "admin:ana")
    pushed = store.last_push()  # recorded with the pointer, in one transaction
    assert pushed is not None
    assert (pushed.contexts, pushed.revisions["vb-check"]) == (live, revision.id)
    assert store.in_force()["vb-check"].id == revision.id
    assert store.sources()["vb-check"] == content
    assert store.sources({"vb-check": base.id})["vb-check"] == base.content
    diff = store.diff(revision.id, base.id)
    assert "+exten => s,1,NoOp(responder line check)" in diff
    with pytest.raises(NotFound):
        store.get(9999)
    with pytest.raises(NotFound):
        store.propose("vb-nada", "x", base=1, comment="", author="a", check=CHECK)
