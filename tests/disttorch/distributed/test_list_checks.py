"""Collectives that take a list of tensors name the index of a wrong one (world of one, in a fresh process)."""
from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import disttorch, disttorch.distributed as dist
dist.init_process_group()
x = disttorch.ones(2)
cases = {
    "all_gather": lambda: dist.all_gather([disttorch.ones(3)], x),
    "reduce_scatter": lambda: dist.reduce_scatter(x, [disttorch.ones(3)]),
    "scatter": lambda: dist.scatter(x, [disttorch.ones(3)], src=0),
    "gather": lambda: dist.gather(x, [x, x], dst=0),
}
for name, run in cases.items():
    try:
        run()
        print(name, "no error")
    except (RuntimeError, ValueError) as exc:
        print(name, type(exc).__name__, exc)
"""


def test_wrong_list_entries_are_named():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60).stdout
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
    assert lines["all_gather"] == "RuntimeError all_gather: invalid tensor size at index 0 (expected (2,) " \
                                  "torch.float32, got (3,) torch.float32)"
    assert lines["reduce_scatter"] == "RuntimeError reduce_scatter: invalid tensor size at index 0 (expected (2,), " \
                                      "got (3,))"
    assert lines["scatter"] == "RuntimeError scatter: invalid tensor size at index 0 (expected (2,), got (3,))"
    assert lines["gather"] == "RuntimeError gather: invalid gather_list (expected length 1, got 2)"
