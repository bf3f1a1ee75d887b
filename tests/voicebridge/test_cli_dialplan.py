"""``voicebridge dialplan revisions | show | diff | propose`` (issue 14, point 4): the
admin's revisions from the command line, in English, with the problems of a refused
proposal named by template and line."""

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialplans.templateset import shipped
from tests.voicebridge.test_cli import env_for
from voicebridge.ami.sim import FakeAsterisk
from voicebridge.cli import main


@pytest.fixture
def env(tmp_path: Path, redis_url: str) -> dict[str, str]:
    return env_for(tmp_path, redis_url)


def listed(out: str) -> list[list[str]]:
    return [line.split("\t") for line in out.splitlines()]


def test_propose_show_diff_and_list(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dialplan", "revisions", "--template", "vb-ack"], environ=env) == 0
    [[first, template, _, author, comment]] = listed(capsys.readouterr().out)
    assert (template, author, comment) == ("vb-ack", "voicebridge", "plantilla de fábrica")
    assert first.startswith("*")  # in force
    base = first.lstrip("*")
    assert main(["dialplan", "show", base], environ=env) == 0
    assert capsys.readouterr().out == shipped()["vb-ack"]

    edited = tmp_path / "vb-ack.conf.j2"
    edited.write_text(
        shipped()["vb-ack"].replace("{{ read_timeout }})", "{{ read_timeout }}0)"), "utf-8"
    )
    command = ["dialplan", "propose", str(edited), "--base", base, "--comment", "más espera"]
    assert main(command, environ=env) == 0
    out = capsys.readouterr().out
    assert out.startswith("revision ")
    assert out.endswith(" of vb-ack saved (not in force until a trial and a switch)\n")
    new = out.split()[1]
    assert main(["dialplan", "diff", base, new], environ=env) == 0
    assert "+ same => n,Read(VB_KEY,${VB_MESSAGE},1,,1,{{ read_timeout }}0)" in (
        capsys.readouterr().out
    )
    assert main(["dialplan", "revisions", "--template", "vb-ack"], environ=env) == 0
    rows = listed(capsys.readouterr().out)
    assert [r[0] for r in rows] == [f" {new}", f"*{base}"]
    assert rows[0][4] == "más espera"

    # the same file again, based on the old revision: someone saved since
    assert main(command, environ=env) == 1
    err = capsys.readouterr().err
    assert f"vb-ack changed since revision {base}" in err
    assert "+ same => n,Read(VB_KEY,${VB_MESSAGE},1,,1,{{ read_timeout }}0)" in err


def test_a_refused_proposal_says_where_and_saves_nothing(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "vb-room.conf.j2"
    text = shipped()["vb-room"].replace(" same => n,Answer()\n", " same => n,System(id)\n", 1)
    bad.write_text(text, "utf-8")
    assert main(["dialplan", "propose", str(bad), "--base", "2"], environ=env) == 1
    err = capsys.readouterr().err.splitlines()
    line = next(n for n, t in enumerate(text.split("\n"), start=1) if "System(id)" in t)
    assert err[0].startswith(f"vb-room, line {line}: application System() is not allowed")
    assert err[-1] == "voicebridge: refused: nothing was saved"
    assert main(["dialplan", "revisions", "--template", "vb-room"], environ=env) == 0
    assert len(listed(capsys.readouterr().out)) == 1


def test_parameters_and_unknown_files(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = tmp_path / "parameters.yaml"
    params.write_text(shipped()["parameters"].replace("menu_tries: 3", "menu_tries: 9"), "utf-8")
    with pytest.raises(SystemExit):  # which revision it was edited from must be said
        main(["dialplan", "propose", str(params)], environ=env)
    assert "--base" in capsys.readouterr().err
    assert main(["dialplan", "propose", str(params), "--base", "8"], environ=env) == 1
    err = capsys.readouterr().err
    assert "parameters, line " in err
    assert "menu_tries must be 1 to 5, not 9" in err
    other = tmp_path / "notes.txt"
    other.write_text("x", "utf-8")
    assert main(["dialplan", "propose", str(other), "--base", "1"], environ=env) == 2
    assert "which template is notes.txt?" in capsys.readouterr().err
    assert main(["dialplan", "show", "999"], environ=env) == 1
    assert "no existe la revisión 999" in capsys.readouterr().err


@pytest.fixture
def asterisk() -> Iterator[int]:
    """A fake Asterisk on a loop of its own (the commands run their own): its AMI port."""
    loop = asyncio.new_event_loop()
    fake = FakeAsterisk()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake.port
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_trial_switch_and_rollback(
    env: dict[str, str], tmp_path: Path, asterisk: int, capsys: pytest.CaptureFixture[str]
) -> None:
    env = env | {"VOICEBRIDGE_AMI_ADMIN_URL": f"ami://voicebridge:voicebridge@127.0.0.1:{asterisk}"}
    params = tmp_path / "parameters.yaml"
    params.write_text(shipped()["parameters"].replace("menu_tries: 3", "menu_tries: 4"), "utf-8")
    assert main(["dialplan", "propose", str(params), "--base", "8"], environ=env) == 0
    revision = capsys.readouterr().out.split()[1]
    assert main(["dialplan", "trial", revision], environ=env) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"revision {revision} of parameters: valid with the rest in force"
    assert out[-1] == (
        "Asterisk loaded every extension and priority written; trial contexts removed"
    )
    assert main(["dialplan", "switch", revision], environ=env) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"revision {revision} of parameters in force"
    assert main(["dialplan", "revisions", "--template", "parameters"], environ=env) == 0
    assert listed(capsys.readouterr().out)[0][0] == f"*{revision}"
    assert main(["dialplan", "rollback"], environ=env) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(" of parameters in force")
    assert main(["dialplan", "revisions", "--template", "parameters"], environ=env) == 0
    assert listed(capsys.readouterr().out)[0][0] == f" {revision}"


def test_without_an_asterisk_there_is_nothing_to_push_to(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dialplan", "trial", "1"], environ=env) == 1
    assert "no Asterisk is configured" in capsys.readouterr().err
    assert main(["dialplan", "rollback"], environ=env) == 1
    assert "no Asterisk is configured" in capsys.readouterr().err
