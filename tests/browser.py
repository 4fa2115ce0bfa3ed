"""Headless Chromium for the console tests: Playwright from PyPI driving Debian's `chromium` package."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", "var/screenshots"))
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    """Debian's chromium (`.ci/run` installs it); CHROMIUM_PATH overrides."""
    if os.environ.get("CHROMIUM_PATH"):
        return os.environ["CHROMIUM_PATH"]
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def require_chromium() -> str:
    """The browser's path; in CI a missing browser fails the run instead of skipping the console tests."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run should have installed Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def screenshot(page, name: str) -> Path:
    """Save what the page shows now, full length, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
