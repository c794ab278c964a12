"""examples/sbatch_train.sh as SLURM would run it, against a stand-in ``srun`` (tests/launcher/_fake_srun.py).

The template's own lines run unchanged (bash, set -euo pipefail, its disttorchrun options); only what the
cluster provides is stood in for: the allocation's variables, ``srun``, the venv it activates, and the
training program (a short one that reports what it was given, instead of 1000 steps)."""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys

import pytest
from _launcher_util import HERE, ROOT, clean_env

pytestmark = pytest.mark.timeout(60)

STAND_IN_TRAINING = """\
import os, sys
print("argv", sys.argv[1:], "rank", os.environ["RANK"], "of", os.environ["WORLD_SIZE"],
      "threads", os.environ.get("OMP_NUM_THREADS"), flush=True)
print("to stderr", os.environ["RANK"], file=sys.stderr, flush=True)
"""


def test_sbatch_template_runs(tmp_path):
    bin_dir, submit = tmp_path / "bin", tmp_path / "submit"
    bin_dir.mkdir()
    (submit / "examples").mkdir(parents=True)
    (submit / ".venv" / "bin").mkdir(parents=True)
    (submit / ".venv" / "bin" / "activate").write_text("# the job's venv: this test's Python is on PATH already\n")
    (submit / "examples" / "resumable_train.py").write_text(STAND_IN_TRAINING)
    srun = bin_dir / "srun"
    srun.write_text(f"#!{sys.executable}\n" + (HERE / "_fake_srun.py").read_text())
    runner = bin_dir / "disttorchrun"  # what `pip install` puts on PATH
    runner.write_text(f"#!/bin/sh\nexec {sys.executable} -m disttorch.launcher \"$@\"\n")
    for exe in (srun, runner):
        exe.chmod(0o755)
    log = tmp_path / "srun.log"
    env = clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", SLURM_JOB_ID="77", SLURM_JOB_NAME="train",
                    SLURM_SUBMIT_DIR=str(submit), SLURM_NTASKS="2", SLURM_TASKS_PER_NODE="2",
                    SLURM_CPUS_ON_NODE="4", FAKE_SRUN_LOG=str(log))
    bash = shutil.which("bash")
    if bash is None:
        pytest.fail("bash is needed to run the SLURM template")
    done = subprocess.run([bash, str(ROOT / "examples" / "sbatch_train.sh")], capture_output=True, text=True,
                          timeout=50, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    argv = ast.literal_eval(log.read_text().splitlines()[0])
    assert "--mpi=pmi2" in argv and "--kill-on-bad-exit=1" in argv  # --mpi-args "--mpi=pmi2" reached srun
    script_args = ["--steps", "1000", "--save-every", "100", "--ckpt-dir", "checkpoints/train"]
    assert argv[-len(script_args) - 1:] == ["examples/resumable_train.py", *script_args]
    for rank in (0, 1):  # --log-dir logs/$SLURM_JOB_ID and --tee: files and console
        folder = submit / "logs" / "77" / "attempt_0" / str(rank)
        stdout = (folder / "stdout.log").read_text()
        assert stdout == f"argv {script_args} rank {rank} of 2 threads 2\n"
        assert (folder / "stderr.log").read_text() == f"to stderr {rank}\n"
        assert f"[rank {rank}] {stdout}" in done.stdout and f"[rank {rank}] to stderr {rank}" in done.stderr
