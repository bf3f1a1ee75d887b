"""The routing rules in force.

The file (``VOICEBRIDGE_ROUTING_FILE``, or the shipped Lima defaults) is validated and
recorded as a revision in the database when a process starts and on reload; the newest
revision is in force for every process, so replicas and workers agree on it, and every
dispatch names the revision that decided it.
"""

import logging
import threading
from importlib import resources
from pathlib import Path

from routing.config import ConfigError, RoutingConfig, parse_config, read_config_file
from routing.directory import Names
from routing.models import Revision
from routing.revisions import RevisionStore

log = logging.getLogger(__name__)

BUNDLED = "routing/data/lima.yaml"


def read_rules_file(path: Path | None) -> tuple[str, str]:
    """``(content, source)`` of the routing file; the shipped defaults when ``path`` is
    None. :class:`~routing.config.ConfigError` when the file cannot be read, is not
    UTF-8 or is too large."""
    if path is None:  # the shipped file, checked as any other (it may have been edited)
        with resources.as_file(resources.files("routing").joinpath("data/lima.yaml")) as shipped:
            try:
                return read_config_file(shipped), BUNDLED
            except ConfigError as exc:
                raise ConfigError(BUNDLED, exc.problems) from None
    return read_config_file(path), str(path)


class RulesInForce:
    def __init__(self, revisions: RevisionStore, path: Path | None) -> None:
        self.revisions = revisions
        self.path = path
        self._lock = threading.Lock()
        self._cached: tuple[RoutingConfig, Revision] | None = None
        self._names: tuple[int, Names] | None = None

    def load_file(self, *, actor: str) -> tuple[Revision, bool]:
        """Validate the file and record it (a new revision only if it changed):
        ``(revision in force, changed)``; :class:`~routing.config.ConfigError` if invalid,
        and then nothing changes."""
        content, source = read_rules_file(self.path)
        config = parse_config(content, source)
        revision, changed = self.revisions.record(content, source=source, actor=actor)
        with self._lock:
            self._cached = (config, revision)
        if changed:
            log.info("routing rules: revision %d from %s (%s)", revision.id, source, actor)
        return revision, changed

    def current(self) -> tuple[RoutingConfig, Revision]:
        """The configuration of the newest revision (parsed once per revision)."""
        latest = self.revisions.current_id()
        with self._lock:
            cached = self._cached
        if cached is not None and cached[1].id == latest:
            return cached
        if latest is None:  # nobody recorded the file yet
            self.load_file(actor="system:first-use")
            return self.current()
        revision = self.revisions.get(latest)
        config = parse_config(revision.content, f"revision {revision.id} ({revision.source})")
        with self._lock:
            self._cached = (config, revision)
        return config, revision

    def names(self) -> Names:
        """How people call what the configuration in force names by code (the timeline's
        agencies and lines), made once per revision."""
        config, revision = self.current()
        with self._lock:
            cached = self._names
        if cached is not None and cached[0] == revision.id:
            return cached[1]
        names = Names.of(config)
        with self._lock:
            self._names = (revision.id, names)
        return names
