"""Launch worker scripts under ``mpiexec -n N`` (or alone for a world of 1) with a hard timeout."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[3]


def mpiexec() -> str | None:
    local = Path(sys.executable).parent / "mpiexec"
    return str(local) if local.exists() else shutil.which("mpiexec")


def need_mpi() -> str:
    """The mpiexec to use; skips the test (saying why) when MPI is not installed."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed (pip install 'disttorch[mpi]')")
    exe = mpiexec()
    if exe is None:
        pytest.skip("no mpiexec on PATH (pip install mpich, or install an MPI)")
    return exe


def env() -> dict:
    e = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        e[k] = "1"
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def run(script: Path | str, args: list[str], n: int, timeout: float = 180) -> subprocess.CompletedProcess:
    """``python script args`` on n ranks (n=1: no launcher at all); fails the test on a timeout."""
    cmd = [sys.executable, str(script), *args]
    if n > 1:
        cmd = [need_mpi(), "-n", str(n), *cmd]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env(), cwd=ROOT)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(cmd)} did not finish within {timeout} s:\n{e.stdout}\n{e.stderr}")


def device_options(device: str, n: int) -> tuple[str, ...]:
    """The worker's options for ``device``: cuda alone runs over NCCL (a world of one), cuda on 2 or 3 ranks
    over MPI with the cuda arrays staged through host memory (the stand-in's NCCL has a world of one)."""
    if device == "cpu":
        return ()
    return (f"--device={device}", "--backend=nccl" if n == 1 else "--backend=mpi")


@cache
def run_scenarios(script: str, names: tuple[str, ...], n: int, options: tuple[str, ...] = ()
                  ) -> tuple[str, set[tuple[str, int]]]:
    """Run every scenario in one launch; returns the output and the (scenario, rank) pairs that passed."""
    proc = run(HERE / script, [*options, *names], n)
    out = proc.stdout + proc.stderr
    return out, {(m[0], int(m[1])) for m in re.findall(r"PASS (\w+) rank (\d+)", proc.stdout)}


def check_scenario(script: str, names: tuple[str, ...], name: str, n: int, device: str = "cpu") -> None:
    out, passed = run_scenarios(script, names, n, device_options(device, n))
    missing = [r for r in range(n) if (name, r) not in passed]
    assert not missing, f"scenario {name!r} did not pass on ranks {missing}:\n{out}"
