"""The benchmark's CPU accounting: a process tree's time is charged to the part that started it."""

from __future__ import annotations

import subprocess
import sys

from simulations import cpu

BUSY = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"


def test_a_finished_child_is_charged_to_the_part_that_started_it():
    # The root waits for a child that burns 0.4 s of CPU (as RQ waits for a work horse), then says so.
    parent = (
        "import subprocess, sys\ninput()\n"
        f"subprocess.run([sys.executable, '-c', {BUSY!r}])\n"
        "print('done', flush=True)\ninput()\n"
    )
    root = subprocess.Popen(
        [sys.executable, "-c", parent], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        before = cpu.snapshot({root.pid: "api"})
        root.stdin.write("go\n")
        root.stdin.flush()
        assert root.stdout.readline() == "done\n"
        after = cpu.snapshot({root.pid: "api"})
    finally:
        root.communicate("\n")
    per_call = cpu.per_call_ms(before, after, calls=4)
    # 0.4 s over 4 calls: ~100 ms a call, on the root's part; this test's own process counts as "other".
    assert 90 <= per_call["api"] <= 150, per_call
