"""A real browser for the console's end-to-end tests: Debian's chromium, headless, driven
by Playwright's async API in the tests' own event loop (the service runs in the same
loop, on a real port). Playwright's own browser download is never used: ``make test``
installs Debian's chromium (scripts/ensure_services.py)."""

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = os.environ.get("VOICEBRIDGE_TEST_CHROMIUM") or shutil.which("chromium") or ""
ROOT = Path(__file__).resolve().parents[3]
# where the tests write their screenshots: var/screenshots (not in git) unless this names
# another folder; the README's copies in docs/screenshots were written with
# VOICEBRIDGE_TEST_SCREENSHOTS=docs/screenshots
SCREENSHOTS = ROOT / os.environ.get("VOICEBRIDGE_TEST_SCREENSHOTS", "var/screenshots")
SCREEN = {"width": 1366, "height": 768}  # the smallest screen the console is made for


async def chromium() -> AsyncIterator[Browser]:
    if not CHROMIUM:
        pytest.fail("Debian's chromium is missing: make test installs it (apt-get chromium)")
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # --no-sandbox: the tests run as root in a container, where chromium's sandbox
            # cannot start; the pages are the service's own, on loopback
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield browser
        finally:
            await browser.close()
