"""The routing file in force: the shipped one is checked as any other."""

from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import pytest

from routing.config import ConfigError
from voicebridge import rules


def test_a_shipped_file_that_is_not_utf8_is_a_problem_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Edited in place (``routing/data/lima.yaml``) and saved in Latin-1, the shipped
    file is refused as a routing problem (422 on reload, one line from the CLI), not a
    UnicodeDecodeError (a 500 and a traceback)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "lima.yaml").write_bytes(b"version: 1\n\xff\xfe mal\n")
    shipped = SimpleNamespace(files=lambda package: tmp_path, as_file=resources.as_file)
    monkeypatch.setattr(rules, "resources", shipped)
    with pytest.raises(ConfigError) as refused:
        rules.read_rules_file(None)
    assert refused.value.source == rules.BUNDLED
    assert [(p.line, p.message) for p in refused.value.problems] == [
        (2, "el archivo no está en UTF-8: el byte 0xff no es válido (guárdelo con la "
         "codificación UTF-8)")
    ]  # fmt: skip


def test_the_shipped_file_is_read() -> None:
    content, source = rules.read_rules_file(None)
    assert source == rules.BUNDLED
    assert content.startswith("#") or content.startswith("version")
