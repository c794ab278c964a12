"""Run a worker script on N MPI ranks with a hard timeout (the whole process group is killed on expiry)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_LAUNCH_VARS = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "MPI_LOCALRANKID",
                "SLURM_PROCID", "SLURM_STEP_ID")


def mpiexec() -> str | None:
    local = Path(sys.executable).parent / "mpiexec"
    return str(local) if local.exists() else shutil.which("mpiexec")


_FLAVOUR: list[str] = []


def flavour() -> str:
    """``"openmpi"`` when the mpiexec found is Open MPI's, else ``"mpich"`` (MPICH's Hydra, the test dependency)."""
    if not _FLAVOUR:
        exe = mpiexec()
        text = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout if exe else ""
        _FLAVOUR.append("openmpi" if "Open MPI" in text or "OpenRTE" in text else "mpich")
    return _FLAVOUR[0]


def need_mpi() -> str:
    """The mpiexec to use; skips the calling test, saying why, when MPI is missing."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed (pip install 'disttorch[mpi]' or mpi4py mpich)")
    exe = mpiexec()
    if exe is None:
        pytest.skip("no mpiexec found (pip install mpich, or install an MPI)")
    return exe


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _LAUNCH_VARS}
    env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")})
    env.pop("DISTTORCH_DEBUG", None)
    env.pop("TORCH_DISTRIBUTED_DEBUG", None)
    env.update(extra)
    return env


class Result:
    def __init__(self, returncode: int, output: str, seconds: float) -> None:
        self.returncode, self.output, self.seconds = returncode, output, seconds


def run(script: Path, args: list[str], n: int, timeout: float = 60, **env: str) -> Result:
    """``python script args`` on ``n`` ranks (``n == 0``: no launcher at all). Fails the test on a timeout."""
    cmd = [sys.executable, str(script), *args]
    if n > 0:
        cmd = [need_mpi(), "-n", str(n), *cmd]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            env=clean_env(**env), start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # mpiexec, its proxies and the ranks
        out, _ = proc.communicate()
        pytest.fail(f"{' '.join(cmd)} did not finish within {timeout} s; output:\n{out}")
    return Result(proc.returncode, out, time.perf_counter() - start)
