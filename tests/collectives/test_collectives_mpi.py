"""MPICommunicator on real ranks (mpiexec -n 2 and -n 3): every collective against numpy's answer."""
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _mpirun  # noqa: E402

WORKER = Path(__file__).parent / "_comm_worker.py"
ALL = ["numeric", "special", "overlap", "p2p", "objects", "groups", "staging"]


def _ok(result, n):
    counts = {int(r): int(k) for r, k in re.findall(r"OK rank (\d+) checks (\d+)", result.output)}
    assert result.returncode == 0 and sorted(counts) == list(range(n)), result.output
    return counts


@pytest.mark.parametrize("n", [2, 3])
def test_every_collective_against_numpy(n):
    counts = _ok(_mpirun.run(WORKER, ALL, n, timeout=120), n)
    assert min(counts.values()) > 500  # the worker really ran its checks on every rank


def test_mismatch_in_debug_mode_names_the_ranks():
    _ok(_mpirun.run(WORKER, ["mismatch"], 2, timeout=60, DISTTORCH_DEBUG="DETAIL"), 2)


def test_worker_failure_is_reported():
    """A failing check ends the job non-zero (the harness itself can fail)."""
    result = _mpirun.run(WORKER, ["no_such_scenario"], 2, timeout=60)
    # both ranks raise KeyError; MPI's launcher kills the second when the first exits, and under load it may cut
    # the tracebacks short (the exit status is certain, the text is not)
    assert result.returncode != 0 and ("KeyError" in result.output or "Traceback" in result.output), result.output


def test_mismatch_in_default_mode_ends_the_job():
    """Without debug mode every collective is checked too; a mismatch then ends the job (non-zero) after every
    rank raised an error naming the ranks and the field."""
    result = _mpirun.run(WORKER, ["first_call"], 2, timeout=60)
    assert result.returncode != 0, result.output
    for r in (0, 1):
        assert f"[rank {r}] Detected mismatch between collectives" in result.output, result.output
    # (a later collective on a rank then says "unusable after an earlier error", unless a peer's abort ends the
    # rank first, as it may under load)
    assert "differ in op" in result.output, result.output
