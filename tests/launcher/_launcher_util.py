"""Helpers for the launcher tests: run disttorchrun as a subprocess with a hard timeout."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RANK_SCRIPT = HERE / "_rank_script.py"
_LAUNCH_VARS = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "MPI_LOCALRANKID",
                "SLURM_JOB_ID", "SLURM_PROCID", "SLURM_STEP_ID", "SLURM_NTASKS", "RANK", "WORLD_SIZE", "LOCAL_RANK",
                "LOCAL_WORLD_SIZE", "DISTTORCH_RESTART_COUNT", "DISTTORCH_RUN_DIR", "DISTTORCH_LAUNCHER",
                "OMP_NUM_THREADS")


def need_mpi() -> None:
    """Skips the calling test, saying why, when mpiexec or mpi4py is missing."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed (pip install 'disttorch[mpi]')")
    if not (Path(sys.executable).parent / "mpiexec").exists() and shutil.which("mpiexec") is None:
        pytest.skip("no mpiexec found (pip install mpich, or install an MPI)")


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _LAUNCH_VARS}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class Result:
    def __init__(self, returncode: int, out: str, err: str, seconds: float) -> None:
        self.returncode, self.out, self.err, self.seconds = returncode, out, err, seconds

    def __repr__(self) -> str:
        return f"rc={self.returncode} ({self.seconds:.1f} s)\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def launcher_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "disttorch.launcher", *map(str, args)]


def launch(*args: str, timeout: float = 45, cwd: Path | None = None, env: dict | None = None) -> Result:
    """``disttorchrun args...``; a run past ``timeout`` is killed and fails the test."""
    start = time.perf_counter()
    proc = subprocess.Popen(launcher_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=cwd or ROOT, env=env or clean_env(), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"disttorchrun {' '.join(map(str, args))} did not finish in {timeout} s:\n{out}\n{err}")
    return Result(proc.returncode, out, err, time.perf_counter() - start)
