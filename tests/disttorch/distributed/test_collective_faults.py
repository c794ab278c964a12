"""Faults in default mode under bare ``mpiexec``: mismatched collectives, timeouts and ranks that leave the job
end with errors naming the ranks, never a hang or a wrong answer with exit status 0. The misbehaving rank is the
last one; each job is timed from the fault it prints (``FAULT <time>``) to its end."""
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "collectives"))
import _mpirun  # noqa: E402

WORKER = Path(__file__).parent / "_exit_worker.py"


def _run(mode, n=2):
    result = _mpirun.run(WORKER, mode.split(), n, timeout=90)
    end = time.time()
    fault = re.search(r"FAULT (\d+\.\d+)", result.output)
    result.after_fault = end - float(fault.group(1)) if fault else None
    return result


def _ended(result, *words):
    """Non-zero exit within 10 s of the fault, the output holding every one of ``words``."""
    assert result.returncode != 0, result.output
    assert result.after_fault is not None and result.after_fault < 10, (result.after_fault, result.output)
    for w in words:
        assert w in result.output, (w, result.output)
    assert "finished 40 steps" not in result.output, result.output


@pytest.mark.parametrize("kind, n, words", [
    ("shape", 2, ["shape=(5,)", "shape=(4,)", "differ in shape"]),
    ("dtype", 2, ["dtype=int32", "dtype=float32", "differ in dtype"]),
    ("op", 3, ["op=MAX", "op=SUM", "differ in op", "ranks 0, 1 are running"]),
    ("root", 3, ["root=1", "root=0", "differ in root"]),
    ("collective", 2, ["broadcast(", "all_reduce(", "differ in collective"]),
    ("barrier", 3, ["barrier(", "all_reduce(", "differ in collective"]),
])
def test_mismatch_raises_on_every_rank_and_ends_the_job(kind, n, words):
    result = _run(f"mismatch {kind}", n)
    _ended(result)
    odd = n - 1
    for r in range(n):
        # the worker's own line after it caught the error, or (when a peer's abort ended the rank before it could
        # print, as happens under load) the report the rank wrote just before raising
        lines = result.output.splitlines()
        line = next((ln for ln in lines if ln.startswith(f"PASS rank {r}:")), None) or next(
            (ln for ln in lines if ln.startswith(f"[rank {r}] Detected mismatch between collectives")), None)
        assert line is not None, (r, result.output)
        for w in (f"rank {odd} is running", *words):
            assert w in line, (w, line)
    assert "no mismatch detected" not in result.output


def test_clean_exit_is_zero():
    result = _run("clean", 3)
    assert result.returncode == 0 and result.output.count("finished 5 steps") == 3, result.output


@pytest.mark.parametrize("mode, how", [("exit0", "sys.exit(0)"), ("exit3", "sys.exit(3)"),
                                       ("osexit", "os._exit(0)"), ("early_return", "end of the script")])
def test_a_rank_leaving_ends_the_job(mode, how):
    _ended(_run(mode), f"rank 1 left the job ({how}", "while rank 0 is in all_reduce #4")


def test_a_rank_leaving_ends_the_job_of_three():
    result = _run("exit0", 3)
    _ended(result, "rank 2 left the job (sys.exit(0)")
    assert "while rank 0 is in" in result.output or "while rank 1 is in" in result.output, result.output


# (worker mode, ranks, how the watcher words the end): the ends below Python, also run under srun
BELOW_PYTHON = [
    ("sigkill", 2, "was killed by signal 9 (SIGKILL"),
    ("sigkill", 3, "was killed by signal 9 (SIGKILL"),
    ("sigterm", 3, "was killed by signal 15 (SIGTERM)"),
    ("c_exit", 2, "exited with status 5 without leaving the job through Python"),
]


@pytest.mark.parametrize("mode, n, how", BELOW_PYTHON)
def test_a_rank_ending_without_leaving_is_named(mode, n, how):
    """Hydra SIGKILLs the other ranks the moment it sees a rank end; the rank's exit watcher reports first, naming
    the rank, its pid and how it ended, and only that rank (not the ones Hydra kills afterwards)."""
    result = _run(mode, n)
    odd = n - 1
    pid = re.search(r"^PID (\d+)$", result.output, re.M).group(1)
    if _mpirun.flavour() == "openmpi":  # Open MPI's own daemon names the rank at once (no watcher runs)
        banner = (f"process rank {odd} with PID {pid} on node", "signal 9" if mode == "sigkill" else "signal 15") \
            if mode.startswith("sig") else (f",{odd}]", "Exit code:    5")
        _ended(result, *banner)
        return
    _ended(result, how)
    reports = [ln for ln in result.output.splitlines() if "disttorch: rank " in ln]
    assert len(reports) == 1, result.output
    assert reports[0].startswith(f"[rank {odd}] disttorch: rank {odd} (pid {pid} on "), result.output
    assert f"rank {odd} = pid {pid}" in reports[0] and "rank 0 = pid " in reports[0], result.output
    if mode == "sigkill":
        assert "EXIT CODE: 9" in result.output, result.output  # Hydra's own banner follows


def test_no_exit_watcher_report_when_ranks_leave_through_python():
    """Ends that the ranks report themselves (a rank leaving, an uncaught exception, a mismatch, a clean exit)
    leave the exit watchers silent."""
    for mode, n in (("exit3", 3), ("finally_destroy", 2), ("mismatch shape", 2), ("clean", 2)):
        result = _run(mode, n)
        assert "disttorch: rank " not in result.output, (mode, result.output)


def test_exception_inside_try_finally_destroy():
    _ended(_run("finally_destroy"), "[rank 1] uncaught ValueError", "boom on the odd rank")


def test_exception_before_init_process_group():
    result = _mpirun.run(WORKER, ["before_init"], 2, timeout=90)
    assert result.returncode != 0 and "[rank 1] uncaught ValueError" in result.output, result.output


def test_timeout_reports_every_rank():
    result = _run("timeout")
    _ended(result, "all_reduce #4 timed out on rank 0 after 2.", "rank 1 is not in a collective",
           "[rank 1] state requested by rank 0", "flight recorder", "#3 all_reduce(dtype=float32, shape=(256,)")


def test_work_objects():
    result = _run("work", 3)
    assert result.returncode == 0 and all(f"PASS work rank {r}" in result.output for r in range(3)), result.output


def test_uneven_ddp_without_join_ends_with_an_error():
    _ended(_run("uneven_ddp"), "rank 1 left the job (end of the script")


@pytest.mark.parametrize("n", [2, 3])
def test_ddp_join_with_uneven_inputs(n):
    result = _run("join", n)
    assert result.returncode == 0 and all(f"PASS join rank {r}" in result.output for r in range(n)), result.output
