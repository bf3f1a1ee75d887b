"""Golden files: expected renderings kept byte for byte under ``golden/``.

Run the tests with ``VOICEBRIDGE_TEST_UPDATE_GOLDEN=1`` to (re)write them after a deliberate
template change, then review the diff before committing it.
"""

import os
from pathlib import Path

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE_ENV = "VOICEBRIDGE_TEST_UPDATE_GOLDEN"


def assert_golden(name: str, text: str) -> None:
    """``text`` equals ``golden/<name>`` byte for byte (or rewrites it, see above)."""
    path = GOLDEN_DIR / name
    data = text.encode("utf-8")
    if os.environ.get(UPDATE_ENV) == "1":
        path.write_bytes(data)
        return
    assert path.is_file(), f"{path.name} is missing: run the tests with {UPDATE_ENV}=1"
    assert path.read_bytes() == data, (
        f"{path.name} differs from the rendering; if the change is deliberate, "
        f"run the tests with {UPDATE_ENV}=1 and review the diff"
    )
