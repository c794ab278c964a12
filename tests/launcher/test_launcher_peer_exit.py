"""A rank that leaves the job while the others are in a collective, under ``disttorchrun``: the job ends
non-zero within 10 s of the fault, and disttorchrun's report names the rank and how it ended (the same worker
as the bare-``mpiexec`` fault tests in tests/disttorch/distributed/test_collective_faults.py)."""
from __future__ import annotations

import re
import signal
import time

import pytest
from _launcher_util import ROOT, launch, need_mpi

pytestmark = pytest.mark.timeout(120)
WORKER = ROOT / "tests" / "disttorch" / "distributed" / "_exit_worker.py"


def _launch(mode: str, n: int):
    r = launch("--nproc-per-node", n, WORKER, mode, timeout=60)
    end = time.time()
    fault = re.search(r"FAULT (\d+\.\d+)", r.out)
    assert fault is not None, r
    assert end - float(fault.group(1)) < 10, r
    assert "finished 40 steps" not in r.out, r
    return r


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("mode, how", [("exit0", "sys.exit(0)"), ("osexit", "os._exit(0)"),
                                       ("early_return", "end of the script")])
def test_a_rank_leaving_mid_collective_ends_the_job(mode, how, n):
    """A rank that leaves with status 0 is not itself a failure: its peers raise, naming it and how it left,
    and disttorchrun reports the first peer that failed."""
    need_mpi()
    r = _launch(mode, n)
    assert r.returncode == 1, r
    assert f"rank {n - 1} left the job ({how}" in r.out + r.err, r
    assert re.search(rf"disttorchrun: rank [0-{n - 2}] \(pid \d+ on [^)]+\) failed with exit code 1", r.err), r


@pytest.mark.parametrize("n", [2, 3])
def test_a_rank_exiting_non_zero_mid_collective_is_named(n):
    need_mpi()
    r = _launch("exit3", n)
    assert r.returncode == 3, r
    assert f"disttorchrun: rank {n - 1} (pid" in r.err and "failed with exit code 3" in r.err, r


@pytest.mark.parametrize("n", [2, 3])
def test_a_sigkilled_rank_mid_collective_is_named(n):
    need_mpi()
    r = _launch("sigkill", n)
    assert r.returncode == 128 + signal.SIGKILL, r
    assert r.err[r.err.index("disttorchrun: rank "):].startswith(f"disttorchrun: rank {n - 1} (pid "), r
    assert "was killed by SIGKILL" in r.err, r
    assert "disttorch: rank " not in r.out + r.err, r  # one report: disttorchrun's (no exit watcher under it)
