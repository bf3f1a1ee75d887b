"""The fake Asterisk (``voicebridge/ami/sim/``) is for tests, the benchmark and the
``voicebridge fake-asterisk`` dev command only: the production path never imports it.

Two checks: importing the service's entry points in a fresh interpreter loads no module
of the fake; and no module outside the fake imports it at module level (an AST check,
tests and bench aside). The imports of it elsewhere are the dev commands', inside their
functions (``voicebridge/cli_asterisk.py``: ``fake-asterisk``; ``voicebridge/demo_call.py``:
``demo call``, for the fake's played caller)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKE = "voicebridge.ami.sim"
PRODUCTION = ("voicebridge", "routing", "channels", "tetra", "dialplans", "scripts")
LAZY_ALLOWED = {"voicebridge/cli_asterisk.py", "voicebridge/demo_call.py"}
"""Modules that may import the fake inside a function (never at module level)."""
ENTRY_POINTS = (
    "import voicebridge.app, voicebridge.worker, voicebridge.cli, voicebridge.runtime; "
    "import sys; print(sorted(m for m in sys.modules if '.sim' in m))"
)


def is_fake(module: str) -> bool:
    return module == FAKE or module.startswith(FAKE + ".")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def fake_imports(source: str, module: str, *, package: bool = False) -> list[tuple[int, bool]]:
    """(line, at module level) of each import of the fake in ``source``, the code of
    ``module`` (``package``: an ``__init__``, whose relative imports start at itself).
    Module level is anything but the inside of a function (class bodies and ``if``
    blocks, ``TYPE_CHECKING`` included, run or name the fake at import)."""
    found: list[tuple[int, bool]] = []
    base = module.split(".") if package else module.split(".")[:-1]

    def imported(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        if node.level:
            parent = base[: len(base) - node.level + 1]
            origin = ".".join([*parent, *([node.module] if node.module else [])])
        else:
            origin = node.module or ""
        return [origin, *(f"{origin}.{alias.name}" for alias in node.names)]

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom) and any(
                is_fake(name) for name in imported(child)
            ):
                found.append((child.lineno, top))
            inside = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(child, top and not inside)

    visit(ast.parse(source), True)
    return found


def production_files() -> list[Path]:
    files = sorted(ROOT.glob("*.py"))
    for name in PRODUCTION:
        files += sorted((ROOT / name).rglob("*.py"))
    sim = ROOT / "voicebridge" / "ami" / "sim"
    return [p for p in files if sim not in p.parents]


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from voicebridge.ami.sim import FakeAsterisk", "voicebridge.x", [(1, True)]),
        ("import voicebridge.ami.sim.server", "voicebridge.x", [(1, True)]),
        ("from voicebridge.ami import sim", "voicebridge.x", [(1, True)]),
        ("from .sim import wire", "voicebridge.ami.bridge", [(1, True)]),
        ("from . import sim", "voicebridge.ami.bridge", [(1, True)]),
        ("from .. import ami", "voicebridge.ami.bridge", []),
        ("if TYPE_CHECKING:\n    from voicebridge.ami.sim import Endpoint", "m", [(2, True)]),
        ("class A:\n    from voicebridge.ami.sim import Endpoint", "m", [(2, True)]),
        ("def f():\n    from voicebridge.ami.sim import FakeAsterisk", "m", [(2, False)]),
        ("from voicebridge.ami.session import AmiSession", "voicebridge.x", []),
        ("from voicebridge.ami.simple import x", "voicebridge.x", []),
    ],
)
def test_the_check_finds_imports_of_the_fake(
    source: str, module: str, expected: list[tuple[int, bool]]
) -> None:
    assert fake_imports(source, module) == expected


def test_the_production_entry_points_load_no_module_of_the_fake() -> None:
    result = subprocess.run(
        [sys.executable, "-c", ENTRY_POINTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    loaded = ast.literal_eval(result.stdout.strip())
    assert [m for m in loaded if is_fake(m)] == []


def test_no_module_outside_the_fake_imports_it_at_module_level() -> None:
    bad, lazy = [], set()
    files = production_files()
    assert ROOT / "voicebridge" / "app.py" in files
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        source = path.read_text(encoding="utf-8")
        found = fake_imports(source, module_name(path), package=path.name == "__init__.py")
        bad += [f"{rel}:{line}" for line, top in found if top or rel not in LAZY_ALLOWED]
        if found:
            lazy.add(rel)
    assert bad == [], f"the fake Asterisk imported outside tests: {', '.join(bad)}"
    assert lazy <= LAZY_ALLOWED
