"""The layout the product card fixes, and the package boundaries of ARCHITECTURE.md."""

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

FORBIDDEN = {
    "routing": {"voicebridge", "channels", "tetra", "panoramisk", "aiohttp"},
    "channels": {"voicebridge", "tetra"},
    "tetra": {"voicebridge", "channels"},
    "dialplans": {"voicebridge"},
}


def test_the_top_level() -> None:
    for name in ("voicebridge", "channels", "routing", "tetra", "dialplans", "tests", "bench"):
        assert (ROOT / name).is_dir(), name
    for name in ("pyproject.toml", "docker-compose.yml", "README.md", "Makefile", ".ci/run"):
        assert (ROOT / name).is_file(), name
    assert "make test" in (ROOT / ".ci/run").read_text()


def test_one_distribution_with_the_voicebridge_command() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "voicebridge"
    assert project["scripts"]["voicebridge"] == "voicebridge.cli:main"
    names = " ".join(project["dependencies"])
    for package in (
        "aiohttp",
        "panoramisk",
        "twilio",
        "python-telegram-bot",
        "redis",
        "rq",
        "jinja2",
    ):
        assert package in names, package


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_boundaries(package: str) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imports(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}"
