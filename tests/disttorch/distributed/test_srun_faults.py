"""Faults under a real ``srun`` (a one-node SLURM cluster: ``.ci/slurm.sh`` installs and starts one in CI): a rank
that ends by any means ends the whole step within seconds, naming the rank, although bare ``srun`` (no
``--kill-on-bad-exit``) would leave the other tasks waiting in their collective."""
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "collectives"))
import _mpirun  # noqa: E402
from test_collective_faults import BELOW_PYTHON  # noqa: E402

WORKER = Path(__file__).parent / "_exit_worker.py"


def _cluster() -> bool:
    if shutil.which("srun") is None or shutil.which("sinfo") is None:
        return False
    try:  # the partition up and a task really started (a partition is "up" with its node down)
        return subprocess.run(["sinfo", "-h", "-o", "%a"], capture_output=True, text=True,
                              timeout=20).stdout.strip().startswith("up") and \
            subprocess.run(["srun", "-n", "1", "--immediate=15", "true"], capture_output=True,
                           timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


pytestmark = [pytest.mark.timeout(150),
              pytest.mark.skipif(not _cluster(), reason="no SLURM cluster answers here (.ci/slurm.sh starts a "
                                                        "one-node one, as CI does)")]


def _srun(mode: str, n: int):
    # --overcommit: more tasks than the node's CPUs; --mpi=pmi2: the PMI that MPICH's wheel speaks
    cmd = ["srun", "--mpi=pmi2", "--overcommit", "-n", str(n), sys.executable, str(WORKER), *mode.split()]
    start = time.time()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120,
                          env=_mpirun.clean_env())
    end = time.time()
    fault = re.search(r"FAULT (\d+\.\d+)", done.stdout)
    return done, (end - float(fault.group(1)) if fault else end - start)


def test_clean_run():
    done, _ = _srun("clean", 3)
    assert done.returncode == 0 and done.stdout.count("finished 5 steps") == 3, done.stdout


@pytest.mark.parametrize("mode, n, how", BELOW_PYTHON)
def test_a_task_ending_below_python_cancels_the_step(mode, n, how):
    done, after = _srun(mode, n)
    odd = n - 1
    assert done.returncode != 0 and after < 10, (after, done.stdout)
    assert f"disttorch: rank {odd} (pid " in done.stdout and how in done.stdout, done.stdout
    assert "cancelling SLURM job step" in done.stdout, done.stdout
    assert "finished 40 steps" not in done.stdout, done.stdout


@pytest.mark.parametrize("mode, n, words", [
    ("exit0", 2, "rank 1 left the job (sys.exit(0)"),
    ("osexit", 3, "rank 2 left the job (os._exit(0)"),
    ("before_init", 2, "[rank 1] uncaught ValueError"),
    ("mismatch shape", 2, "differ in shape"),
])
def test_python_level_ends_are_reported_by_the_ranks(mode, n, words):
    done, after = _srun(mode, n)
    assert done.returncode != 0 and after < 10, (after, done.stdout)
    assert words in done.stdout, done.stdout
    assert "disttorch: rank" not in done.stdout or "cancelling" not in done.stdout, done.stdout
