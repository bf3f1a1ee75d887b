"""Trial, switch and rollback of the dialplan templates on the live Asterisk, and the
last good rendering pushed again to an Asterisk found stale.

Asterisk loads extensions.conf leniently (a bad line is skipped with a WARNING), and
``dialplan reload`` says "Dialplan reloaded." whatever happened. So nothing is switched
on trust:

1. **Trial**: the set with the new revision is validated again and rendered under trial
   context names (``vb-t<N>-ack``...), written next to the live contexts by AMI
   UpdateConfig (with ``Reload: pbx_config``), and read back with ``ShowDialPlan``:
   every context must be there with exactly the extensions and priorities rendered,
   each running the application and data rendered (a line Asterisk skipped shows). The
   trial contexts are removed after.
2. **Switch**: after a trial that passes, the live contexts are replaced in one
   UpdateConfig action (staging categories renamed into place, with the reload:
   :func:`dialplans.render.to_update_config`) and read back the same way. Only then
   the revision is put in force. If the read-back fails, the previous rendering is
   pushed back and the previous revision stays in force.
3. **Rollback**: the revision in force before the last switch (or rollback) goes
   through the same trial and switch.
4. **Restore**: at every AMI login, the live contexts are read back; if they differ
   from the last rendering pushed (an Asterisk restarted with an older
   extensions.conf), that rendering is pushed again.

Every step is audited with its person. Two pushes never interleave: a Redis lock, held
for the whole step, serialises them across replicas and the CLI.
"""

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from redis import Redis
from redis.exceptions import LockError, RedisError

from dialplans.errors import DialplanError
from dialplans.lint import parse
from dialplans.render import STAGING_SUFFIX, CitizenLine, to_remove, to_update_config
from dialplans.validate import LIVE, trial_names, validate
from routing.errors import NotFound
from voicebridge.ami.protocol import LinkLost
from voicebridge.ami.session import AmiError, AmiSession, AmiTarget
from voicebridge.blocking import Blocking
from voicebridge.dialplan_admin import DialplanStore
from voicebridge.errors import VoicebridgeError

if TYPE_CHECKING:
    from voicebridge.runtime import Runtime

log = logging.getLogger(__name__)

LOCK_KEY: Final = "voicebridge:dialplan:push"
LOCK_SECONDS: Final = 120.0
LOCK_WAIT: Final = 30.0
ACTION_WAIT: Final = 15.0
CONNECT_WAIT: Final = 5.0


class PushError(VoicebridgeError):
    """A push could not be done; ``es`` says why in Spanish."""

    def __init__(self, en: str, es: str) -> None:
        super().__init__(en)
        self.es = es


class PushBusy(PushError):
    """Another push holds the lock."""


class NoAsterisk(PushError):
    """No Asterisk is configured: there is nothing to push to."""


@dataclass(frozen=True, slots=True)
class Said:
    """One thing to tell, in English (the CLI, the logs) and Spanish (the console)."""

    en: str
    es: str


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    revision: int | None
    steps: list[Said] = field(default_factory=list)
    """What was done, in order."""
    problems: list[Said] = field(default_factory=list)
    """Why it failed: validation problems or what Asterisk loaded."""


class Pusher:
    """Trials, switches, rollbacks and restores through one AMI session (an account with
    the ``config`` write class, for UpdateConfig and ShowDialPlan)."""

    def __init__(
        self,
        store: DialplanStore,
        session: AmiSession,
        blocking: Blocking,
        redis: Redis,
        *,
        citizen_lines: tuple[CitizenLine, ...] = (),
        room_prefix: str = "LIM",
        lint: bool = True,
    ) -> None:
        """``lint=False`` (tests only) renders without the parse-back checks, to show
        that the read-back from Asterisk catches what a validation misses."""
        self.store = store
        self.session = session
        self.blocking = blocking
        self.redis = redis
        self.citizen_lines = citizen_lines
        self.live = replace(LIVE, room_prefix=room_prefix)
        self.lint = lint
        self._held: _Lock | None = None

    # ------------------------------------------------------------- steps

    async def trial(self, revision_id: int, actor: str) -> Outcome:
        async with self._locked():
            return await self._guarded("trial", revision_id, actor, self._trial(revision_id, actor))

    async def switch(self, revision_id: int, actor: str) -> Outcome:
        async with self._locked():
            step = self._switch(revision_id, actor, "switch")
            return await self._guarded("switch", revision_id, actor, step)

    async def rollback(self, actor: str) -> Outcome:
        """Undo the latest switch not undone yet: its template back to the revision it
        replaced (a second rollback undoes the switch before, never the first rollback)."""
        async with self._locked():
            move = await self.blocking(self.store.last_undoable)
            if move is None or move.previous_id is None:
                raise NotFound("no hubo un cambio de revisión que deshacer")
            step = self._switch(move.previous_id, actor, "rollback", undoes=move.id)
            return await self._guarded("rollback", move.previous_id, actor, step)

    async def _guarded(
        self, action: str, revision_id: int, actor: str, step: Awaitable[Outcome]
    ) -> Outcome:
        """``step``'s outcome; Asterisk refusing an action or not answering midway, or a
        revision that cannot be written, is a failed outcome, audited (nothing was put
        in force)."""
        try:
            return await step
        except PushError as exc:
            said = Said(str(exc), exc.es)
        except DialplanError as exc:
            said = Said(str(exc), f"no se pudo escribir para Asterisk: {exc}")
        return await self._failed(action, revision_id, actor, [], [said])

    async def restore(self, actor: str = "voicebridge") -> Outcome | None:
        """Push the last good rendering again if the live contexts differ from it; None
        when nothing was ever pushed or Asterisk has it."""
        async with self._locked():  # (a switch may be finishing: its push is the last)
            pushed = await self.blocking(self.store.last_push)
            if pushed is None:
                return None
            differences = await self._read_back(pushed.contexts)
            if not differences:
                return None
            log.warning(
                "dialplan: Asterisk's live contexts are stale (%s); pushing again",
                differences[0].en,
            )
            await self._push(pushed.contexts)
            after = await self._read_back(pushed.contexts)
            ok = not after
            said = Said(
                f"Asterisk's dialplan differed from the last one pushed ({differences[0].en}); "
                "pushed again" + ("" if ok else f", and it still differs: {after[0].en}"),
                "Asterisk tenía planes de marcación distintos del último enviado "
                f"({differences[0].es}); se enviaron de nuevo"
                + ("" if ok else f", y siguen distintos: {after[0].es}"),
            )
            await self.blocking(self.store.audit, actor, "restore", None, ok, said.es)
            return Outcome(ok=ok, revision=None, steps=[said], problems=after)

    # ------------------------------------------------------------- the work

    async def _trial(self, revision_id: int, actor: str) -> Outcome:
        revision = await self.blocking(self.store.get, revision_id)
        sources = await self.blocking(self.store.sources, {revision.template: revision.id})
        names = replace(trial_names(revision.id), room_prefix=self.live.room_prefix)
        validated = await self.blocking(
            validate, sources, self.citizen_lines, names=names, lint=self.lint
        )
        steps = [
            Said(
                f"revision {revision.id} of {revision.template}: valid with the rest in force",
                f"revisión {revision.id} de {revision.template}: válida con las demás en vigor",
            )
        ]
        if not validated.ok:
            problems = [Said(str(p), f"{p.donde()}: {p.es}") for p in validated.problems]
            return await self._failed("trial", revision.id, actor, steps, problems)
        trial = list(validated.contexts)
        try:
            await self._push(validated.contexts)
            steps.append(
                Said(
                    f"loaded into Asterisk as trial contexts ({', '.join(trial)})",
                    f"cargada en Asterisk como contextos de prueba ({', '.join(trial)})",
                )
            )
            problems = await self._read_back(validated.contexts)
        finally:
            await self._clean_up(trial)
        if problems:
            return await self._failed("trial", revision.id, actor, steps, problems)
        steps.append(
            Said(
                "Asterisk loaded every extension and priority written; trial contexts removed",
                "Asterisk cargó cada extensión y prioridad escrita; contextos de prueba retirados",
            )
        )
        detail = "; ".join(s.es for s in steps)
        await self.blocking(self.store.audit, actor, "trial", revision.id, True, detail)
        return Outcome(ok=True, revision=revision.id, steps=steps)

    async def _switch(
        self, revision_id: int, actor: str, action: str, *, undoes: int | None = None
    ) -> Outcome:
        trial = await self._trial(revision_id, actor)
        if not trial.ok:
            return Outcome(
                ok=False, revision=revision_id, steps=trial.steps, problems=trial.problems
            )
        steps = list(trial.steps)
        revision = await self.blocking(self.store.get, revision_id)
        overrides = {revision.template: revision.id}
        sources = await self.blocking(self.store.sources, overrides)
        validated = await self.blocking(
            validate, sources, self.citizen_lines, names=self.live, lint=self.lint
        )
        if not validated.ok:  # (the trial rendered the same set under other names)
            problems = [Said(str(p), f"{p.donde()}: {p.es}") for p in validated.problems]
            return await self._failed(action, revision.id, actor, steps, problems)
        previous = await self._previous()
        try:
            await self._push(validated.contexts)
            names = ", ".join(validated.contexts)
            steps.append(
                Said(
                    f"live contexts replaced in one step ({names})",
                    f"contextos en vivo reemplazados en un paso ({names})",
                )
            )
            problems = await self._read_back(validated.contexts)
        except PushError as exc:  # the swap may have gone in: what was in force goes back
            problems = [Said(str(exc), exc.es)]
        if problems:
            steps += await self._push_back(previous, validated.contexts)
            return await self._failed(action, revision.id, actor, steps, problems)
        steps.append(
            Said(
                f"revision {revision.id} of {revision.template} in force",
                f"revisión {revision.id} de {revision.template} en vigor",
            )
        )
        detail = "; ".join(s.es for s in steps)
        await self.blocking(
            lambda: self.store.switched(
                revision.id,
                validated.contexts,
                actor=actor,
                action=action,
                detail=detail,
                undoes=undoes,
            )
        )
        return Outcome(ok=True, revision=revision.id, steps=steps)

    async def _previous(self) -> Mapping[str, str] | None:
        """What is live now, as voicebridge last pushed it, or (before its first push)
        the set in force rendered; None if that cannot be rendered."""
        pushed = await self.blocking(self.store.last_push)
        if pushed is not None:
            return pushed.contexts
        sources = await self.blocking(self.store.sources)
        found = await self.blocking(validate, sources, self.citizen_lines, names=self.live)
        return found.contexts if found.ok else None

    async def _push_back(
        self, previous: Mapping[str, str] | None, failed: Mapping[str, str]
    ) -> list[Said]:
        """After a live push that failed: what was live goes back (best effort: a link
        down now is set right by the restore at the next login), and the staging left."""
        said: list[Said] = []
        if previous is not None:
            try:
                await self._push(previous)
                said.append(
                    Said(
                        "the previous rendering was pushed back",
                        "se devolvió a Asterisk la versión anterior",
                    )
                )
            except PushError as exc:
                log.error("dialplan: could not push the previous rendering back: %s", exc)
        await self._clean_up([], staging=list(failed))
        return said

    async def _clean_up(self, contexts: list[str], *, staging: list[str] | None = None) -> None:
        """Remove ``contexts`` and the staging categories of these and of ``staging``
        (what a push that stopped midway leaves); best effort, never an error."""
        names = contexts + [f"{c}{STAGING_SUFFIX}" for c in contexts + (staging or [])]
        try:
            await self._send("UpdateConfig", to_remove(names), check=False)
        except PushError as exc:
            log.warning("dialplan: could not remove %s: %s", ", ".join(names), exc)

    async def _failed(
        self, action: str, revision_id: int, actor: str, steps: list[Said], problems: list[Said]
    ) -> Outcome:
        failed = "FALLÓ: " + "; ".join(p.es for p in problems[:5])
        detail = "; ".join([*(s.es for s in steps), failed])
        await self.blocking(self.store.audit, actor, action, revision_id, False, detail)
        return Outcome(ok=False, revision=revision_id, steps=steps, problems=problems)

    async def _push(self, contexts: Mapping[str, str]) -> None:
        for headers in to_update_config(contexts):
            await self._send("UpdateConfig", headers)

    async def _read_back(self, texts: Mapping[str, str]) -> list[Said]:
        """What Asterisk has loaded of the contexts ``texts`` (name -> rendered text)
        that differs from what was written (Spanish), none if all is there as rendered:
        every line written is a priority, each with its application and data."""
        expected, _ = parse(texts)
        contexts = list(texts)
        problems: list[Said] = []
        for context in contexts:
            result = await self._send(
                "ShowDialPlan", [("Context", context)], check=False, as_list=None
            )
            messages = result if isinstance(result, list) else [result]
            first = messages[0] if messages else {}
            if str(first.get("Response", "")) == "Error":
                why = first.get("Message", "")
                problems.append(
                    Said(
                        f"Asterisk has no context {context} ({why})",
                        f"Asterisk no tiene el contexto {context} ({why})",
                    )
                )
                continue
            loaded: dict[tuple[str, int], tuple[str, str]] = {}
            complete: dict[str, str] = {}
            for m in messages[1:]:
                event = str(m.get("Event", ""))
                if event == "ListDialplan" and str(m.get("Priority", "")).isdigit():
                    key = (str(m.get("Extension", "")), int(str(m.get("Priority"))))
                    loaded[key] = (str(m.get("Application", "")), str(m.get("AppData", "")))
                elif event == "ShowDialPlanComplete":
                    complete = {k: str(v) for k, v in m.items()}
            wanted = {
                (step.exten, step.number): (step.app, step.data)
                for steps in expected.contexts.get(context, {}).values()
                for step in steps
            }
            extensions, priorities = written(texts[context])
            said = (complete.get("ListExtensions"), complete.get("ListPriorities"))
            if said != (str(extensions), str(priorities)):
                problems.append(
                    Said(
                        f"in {context} Asterisk loaded {said[0]} extensions and {said[1]} "
                        f"priorities of the {extensions} and {priorities} written (a line "
                        "skipped? see Asterisk's log)",
                        f"en {context} Asterisk cargó {said[0]} extensiones y {said[1]} "
                        f"prioridades; se escribieron {extensions} y {priorities} (¿una línea "
                        "omitida? vea el registro de Asterisk)",
                    )
                )
            for key in sorted(set(wanted) - set(loaded)):
                app, data = wanted[key]
                problems.append(
                    Said(
                        f"{context} lacks {key[0]},{key[1]}: {app}({data})",
                        f"en {context} falta {key[0]},{key[1]}: {app}({data})",
                    )
                )
            for key in sorted(set(wanted) & set(loaded)):
                if wanted[key] != loaded[key]:
                    app, data = loaded[key]
                    problems.append(
                        Said(
                            f"in {context}, {key[0]},{key[1]} was loaded as {app}({data})",
                            f"en {context}, {key[0]},{key[1]} quedó como {app}({data})",
                        )
                    )
        return problems

    async def _send(
        self,
        action: str,
        headers: list[tuple[str, str]],
        *,
        check: bool = True,
        as_list: bool | None = False,
    ) -> Any:
        if self._held is not None and self._held.lost:
            raise PushError(
                "the push lock was lost (Redis): stopped before another push could interleave",
                "se perdió el cerrojo del envío (Redis): se detuvo antes de cruzarse con otro",
            )
        try:
            return await self.session.send(
                action, headers, wait=ACTION_WAIT, check=check, as_list=as_list
            )
        except AmiError as exc:
            raise PushError(
                f"Asterisk refused {action}: {exc.message}",
                f"Asterisk rechazó {action}: {exc.message}",
            ) from None
        except (LinkLost, TimeoutError):
            raise PushError(
                f"Asterisk did not answer {action}",
                f"Asterisk no respondió a {action} (¿reiniciándose?)",
            ) from None

    @contextlib.asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        held = _Lock(self.redis, self.blocking)
        await held.acquire()
        self._held = held
        try:
            yield
        finally:
            self._held = None
            await held.release()


class _Lock:
    """The Redis lock one push holds: renewed every third of its life while the push
    runs, and marked lost if a renewal fails (the push then stops at its next action)."""

    def __init__(self, redis: Redis, blocking: Blocking) -> None:
        self.lock = redis.lock(
            LOCK_KEY, timeout=LOCK_SECONDS, blocking_timeout=LOCK_WAIT, thread_local=False
        )
        self.blocking = blocking
        self.lost = False
        self._renewing: asyncio.Task[None] | None = None

    async def acquire(self) -> None:
        if not await self.blocking(self.lock.acquire):
            raise PushBusy(
                "another dialplan push is under way",
                "hay otro envío de planes de marcación en curso; reintente en un momento",
            )
        self._renewing = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(LOCK_SECONDS / 3)
            try:
                await self.blocking(self.lock.reacquire)
            except (LockError, RedisError) as exc:
                log.error("dialplan: the push lock could not be renewed: %s", exc)
                self.lost = True
                return

    async def release(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        with contextlib.suppress(LockError, RedisError):  # lost: another may hold it now
            await self.blocking(self.lock.release)


def written(text: str) -> tuple[int, int]:
    """(extensions, priorities) a context's text writes: every exten/same line is one
    priority, whatever Asterisk makes of it."""
    names: set[str] = set()
    priorities = 0
    for line in text.split("\n"):
        found = _WRITTEN.match(line)
        if found is None:
            continue
        priorities += 1
        if found.group(1) == "exten":
            names.add(found.group(2).split(",", 1)[0].strip())
    return len(names), priorities


_WRITTEN = re.compile(r"\s*(exten|same)\s*=>\s*(.*)")


async def wait_connected(session: AmiSession, seconds: float | None = None) -> None:
    try:
        async with asyncio.timeout(CONNECT_WAIT if seconds is None else seconds):
            await session.connected.wait()
    except TimeoutError:
        raise PushError(
            f"Asterisk at {session.target} does not answer",
            f"Asterisk ({session.target}) no responde",
        ) from None


@contextlib.asynccontextmanager
async def connected_pusher(runtime: "Runtime", blocking: Blocking) -> AsyncIterator[Pusher]:
    """A :class:`Pusher` on a session of its own to the admin AMI account
    (``VOICEBRIDGE_AMI_ADMIN_URL``, else ``VOICEBRIDGE_AMI_URL``), for one step."""
    url = runtime.settings.ami_admin_url or runtime.settings.ami_url
    if url is None:
        raise NoAsterisk(
            "no Asterisk is configured (VOICEBRIDGE_AMI_URL): there is nothing to push to",
            "no hay un Asterisk configurado (VOICEBRIDGE_AMI_URL): no hay adónde enviar",
        )
    session = AmiSession(AmiTarget.parse(url), events=False)
    session.start()
    try:
        await wait_connected(session)
        config, _ = await blocking(runtime.rules.current)
        yield Pusher(
            runtime.dialplans,
            session,
            blocking,
            runtime.redis,
            citizen_lines=CitizenLine.from_routing(config.citizen_lines()),
            room_prefix=runtime.settings.incident_prefix,
        )
    finally:
        await session.stop()
