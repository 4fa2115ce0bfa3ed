"""What an API process loads: the matching round's solver (SciPy, some 50 MB resident) is the worker's alone;
the API, which runs no round, must not import it (`python -m simulations scale` measures each process's
memory against its 400 MB bound)."""

from __future__ import annotations

import subprocess
import sys


def test_the_api_process_never_loads_the_matching_solver():
    probe = (
        "import sys; from dispatch.app import create_app; from dispatch import memory_trim;"
        "print('scipy' in sys.modules, memory_trim.release())"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    loaded, trimmed = out.stdout.split()
    assert loaded == "False", "the API imports SciPy: a module it loads imports dispatch.matching's solver"
    assert trimmed == "True"  # glibc: the heap a report counted with goes back to the system
