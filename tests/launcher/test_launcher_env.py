"""torchrun's variables under plain mpiexec / srun: ``import disttorch`` sets RANK, LOCAL_RANK, WORLD_SIZE and
LOCAL_WORLD_SIZE from the launcher's own variables when they are absent (launcher/env.py)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from disttorch.launcher import env as launch_env

NAMES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")


@pytest.mark.parametrize("given,expected", [
    ({"PMI_RANK": "2", "PMI_SIZE": "3", "MPI_LOCALRANKID": "0", "MPI_LOCALNRANKS": "1"}, ("2", "3", "0", "1")),
    ({"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
      "OMPI_COMM_WORLD_LOCAL_SIZE": "2"}, ("3", "4", "1", "2")),
    ({"MV2_COMM_WORLD_RANK": "1", "MV2_COMM_WORLD_SIZE": "2", "MV2_COMM_WORLD_LOCAL_RANK": "1",
      "MV2_COMM_WORLD_LOCAL_SIZE": "2"}, ("1", "2", "1", "2")),
    ({"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1", "SLURM_NODEID": "2",
      "SLURM_TASKS_PER_NODE": "2(x4)", "SLURM_STEP_ID": "0"}, ("5", "8", "1", "2")),
])
def test_adopted_from_each_launcher(given, expected):
    env = dict(given)
    assert launch_env.adopt_launcher_env(env)
    assert tuple(env[n] for n in NAMES) == expected


def test_nothing_is_overwritten_or_invented():
    env = {"PMI_RANK": "1", "PMI_SIZE": "2", "RANK": "7"}  # torchrun (or the user) already said
    assert not launch_env.adopt_launcher_env(env) and env["RANK"] == "7" and "WORLD_SIZE" not in env
    batch = {"SLURM_PROCID": "0", "SLURM_NTASKS": "8"}  # an sbatch script itself, not a task of srun
    assert not launch_env.adopt_launcher_env(batch) and "RANK" not in batch
    assert not launch_env.adopt_launcher_env({})


def _clean_env() -> dict:
    return {k: v for k, v in os.environ.items()
            if k.startswith(_MPI_SETTINGS) or not k.startswith(("PMI", "OMPI_", "MV2_", "SLURM_", "MPI_", "HYDRA",
                                                                   "I_MPI")) and k not in NAMES}


_MPI_SETTINGS = ("OMPI_ALLOW_RUN_AS_ROOT", "OMPI_MCA_")  # Open MPI's settings, not a rank's launch variables


# each rank writes its variables to its own file (two ranks printing at once may interleave their lines)
SCRIPT = ("import os, sys, disttorch; v = [os.environ[n] for n in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', "
          "'LOCAL_WORLD_SIZE')]; open(os.path.join(sys.argv[1], 'rank' + v[0]), 'w').write(' '.join(v))")


@pytest.mark.timeout(120)
def test_a_torchrun_script_runs_under_plain_mpiexec(tmp_path):
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
    if mpiexec is None:
        pytest.fail("mpiexec (the mpich wheel) is a test dependency and must be installed")
    done = subprocess.run([mpiexec, "-n", "2", sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, timeout=100, env=_clean_env())
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "rank0").read_text() == "0 2 0 2" and (tmp_path / "rank1").read_text() == "1 2 1 2"


def test_a_plain_process_gets_no_variables():
    done = subprocess.run([sys.executable, "-c", "import os, disttorch; print('RANK' in os.environ)"],
                          capture_output=True, text=True, timeout=60, env=_clean_env())
    assert done.stdout.strip() == "False", done.stderr
