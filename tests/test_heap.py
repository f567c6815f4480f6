"""The collector settings of exportgate's own processes (`_heap`)."""
from __future__ import annotations

import gc
import subprocess
import sys

from exportgate import _heap


def test_the_command_line_runs_with_the_tuned_collector() -> None:
    code = ("import gc, sys; from exportgate import _cli; "
            "_cli.build_parser = lambda: (_ for _ in ()).throw(SystemExit(gc.get_threshold()[0]))"
            "; _cli.main([])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == _heap.THRESHOLDS[0] % 256, proc.stderr


def test_settle_sets_aside_what_start_up_built() -> None:
    before = gc.get_threshold()
    try:
        _heap.tune()
        assert gc.get_threshold() == _heap.THRESHOLDS
        _heap.settle()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
