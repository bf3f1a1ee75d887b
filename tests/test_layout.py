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


def _assigned_attributes(path: Path) -> set[tuple[str, str]]:
    """``(file, "other.attribute")`` for every ``other.attribute = ...`` not on
    ``self``/``cls``: a collaborator changed after it was built."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            if not isinstance(target, ast.Attribute):
                continue
            owner = target.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.add((str(path.relative_to(ROOT)), ast.unparse(target)))
    return found


# the DB-API connection SQLAlchemy's connect hook hands over: the driver's own object
SETUP_ALLOWED = {("routing/db.py", "dbapi_connection.isolation_level")}


def test_wiring_is_by_construction() -> None:
    """The composition root builds every collaborator with what it needs: no production
    module changes another object's attributes afterwards (the fake Asterisk and the
    radio simulator, simulations with their own state, aside)."""
    found = {
        assigned
        for package in ("routing", "voicebridge", "channels", "tetra", "dialplans")
        for path in sorted((ROOT / package).rglob("*.py"))
        if "sim" not in path.relative_to(ROOT).with_suffix("").parts
        for assigned in _assigned_attributes(path)
    }
    assert found - SETUP_ALLOWED == set()
