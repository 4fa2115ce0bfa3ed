"""CPU time by part of the stack, read from /proc: where a benchmark's cycles went, which throughput alone
does not say on two shared cores."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command name, parent pid, CPU seconds) of a live process, with those of its children it has waited
    for (a forked work horse, a finished helper), or None if it has gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself hold spaces or parentheses.
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, int(fields[1]), sum(int(f) for f in fields[11:15]) * TICK_S  # utime stime cutime cstime


def snapshot(roots: dict[int, str]) -> Counter[str]:
    """CPU seconds so far per part: each of `roots` (pid → part) with its descendants, then PostgreSQL,
    Redis and wrk by command name, and the rest of the machine as `other`."""
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            processes[int(entry.name)] = stat

    def part_of(pid: int) -> str:
        seen = pid
        while seen in processes:
            if seen in roots:
                return roots[seen]
            seen = processes[seen][1]
        name = processes[pid][0]
        if name.startswith("postgres"):
            return "postgresql"
        if name.startswith("redis"):
            return "redis"
        return "wrk" if name == "wrk" else "other"

    totals: Counter[str] = Counter()
    for pid, (_, _, seconds) in processes.items():
        totals[part_of(pid)] += seconds
    return totals


def per_call_ms(before: Counter[str], after: Counter[str], calls: int) -> dict[str, float]:
    """CPU milliseconds per call for each part between two snapshots (a process that ended in between
    counts if its parent waited for it; one whose parent also ended does not)."""
    return {
        part: round((after[part] - before.get(part, 0.0)) * 1000 / calls, 2)
        for part in sorted(after)
        if after[part] - before.get(part, 0.0) > 0
    }
