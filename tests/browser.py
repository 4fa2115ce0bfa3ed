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


AXE_TAGS = ["wcag2a", "wcag2aa"]
BLOCKING = {"serious", "critical"}


def accessibility_problems(page) -> list[str]:
    """axe-core (WCAG 2 A and AA) on the page as it is now: each serious or critical violation, by element."""
    from axe_playwright_python.base import AXE_SCRIPT

    if not page.evaluate("typeof window.axe === 'object'"):  # once per page load (the script is 500 kB)
        page.evaluate(AXE_SCRIPT)
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    results = page.evaluate("(options) => axe.run(document, options)", options)
    return [
        f"{violation['id']} ({violation['impact']}) {' '.join(map(str, node['target']))}: "
        f"{node.get('failureSummary', violation['help']).splitlines()[-1].strip()}"
        for violation in results["violations"]
        if violation["impact"] in BLOCKING
        for node in violation["nodes"]
    ]


def assert_accessible(page, label: str) -> None:
    """Fail, listing every element, if axe-core finds a serious or critical WCAG 2 A/AA violation here."""
    problems = accessibility_problems(page)
    assert not problems, (
        f"{label}: {len(problems)} serious or critical accessibility problem(s):\n" + "\n".join(problems)
    )


PHONE = {"width": 390, "height": 844}


def sideways_overflow(page) -> int:
    """How many CSS pixels the page is wider than its window (0 when nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def too_wide(page) -> list[str]:
    """The first elements that reach past the window's right edge, to say what makes a page scroll sideways."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8)
          .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
            + (e.classList.length ? '.' + [...e.classList].join('.') : ''))"""
    )


def broken_lines(page, selector: str) -> list[str]:
    """The texts among `selector` that the layout breaks over more than one line."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].filter((e) => {
          if (e.offsetParent === null) return false;
          const range = document.createRange();
          range.selectNodeContents(e);
          const lines = [...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top));
          return new Set(lines).size > 1;
        }).map((e) => e.textContent.trim())""",
        selector,
    )


def check_on_a_phone(page, name: str) -> None:
    """The page at 390x844: saved as `<name>_phone`, no sideways scrolling, accessible; then its size again."""
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        screenshot(page, f"{name}_phone")
        overflow = sideways_overflow(page)
        assert overflow <= 0, f"{name} at 390 px scrolls sideways by {overflow} px; too wide: {too_wide(page)}"
        assert_accessible(page, f"{name}_phone")
    finally:
        if size:
            page.set_viewport_size(size)
