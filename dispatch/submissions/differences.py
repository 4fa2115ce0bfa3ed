"""What changed since a submission: every number of a report, compared path by path, whatever its fields."""

from __future__ import annotations

from typing import Any

from dispatch.submissions.schemas import Difference, Number

Path = tuple[str, ...]


def numbers(document: Any, prefix: Path = ()) -> dict[Path, Number]:
    """Every number (or empty number) in a JSON document, by its path; text and flags are not figures."""
    if isinstance(document, dict):
        found: dict[Path, Number] = {}
        for key, value in document.items():
            found.update(numbers(value, (*prefix, str(key))))
        return found
    if isinstance(document, list):
        found = {}
        for index, value in enumerate(document):
            found.update(numbers(value, (*prefix, str(index))))
        return found
    if document is None or (isinstance(document, int | float) and not isinstance(document, bool)):
        return {prefix: document} if prefix else {}
    return {}


def changed_paths(before: dict[Path, Number], after: dict[Path, Number]) -> list[Path]:
    """The paths whose number changed. A row missing on one side counts as zeros (a clinic with no use in
    the month has no row), so only a real change is listed."""
    changed = []
    for path in [*after, *(p for p in before if p not in after)]:
        old, new = before.get(path), after.get(path)
        if old == new or (path not in before and not new) or (path not in after and not old):
            continue
        changed.append(path)
    return changed


def differences(submitted: dict[str, Any], now: dict[str, Any]) -> list[Difference]:
    """Each number whose value now is not the submitted one, submitted → now."""
    before, after = numbers(submitted), numbers(now)
    return [
        Difference(
            path=".".join(path),
            section=path[0],
            name=".".join(path[1:-1]) or None,
            field=path[-1],
            submitted=before.get(path),
            now=after.get(path),
        )
        for path in changed_paths(before, after)
    ]
