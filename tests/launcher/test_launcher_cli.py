"""disttorchrun's command lines (dry runs against fake mpiexec / srun executables) and rank discovery."""
from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

import pytest
from disttorch.launcher import bootstrap, cli, mpi

VERSIONS = {
    "mpich": "HYDRA build details:\n    Version:                                 5.0.2\n",
    "openmpi": "mpirun (Open MPI) 4.1.5\n\nReport bugs to http://www.open-mpi.org/community/help/\n",
    "intel": "Intel(R) MPI Library for Linux* OS, Version 2021.10 Build 20230619 (id: c2e19c2f3e)\n",
}


def fake_exe(folder: Path, name: str, text: str) -> str:
    """An executable that prints ``text`` (its ``--version``) and records its argv."""
    path = folder / name
    path.write_text(f"#!/bin/sh\necho \"$@\" >> {folder}/{name}.argv\ncat <<'EOF'\n{text}EOF\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def dry_run(capsys, *args: str) -> tuple[dict[str, str], list[str], str]:
    """Run ``disttorchrun --dry-run args`` in this process: (environment, command argv, whole text)."""
    assert cli.main(["--dry-run", *args]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    env_at, cmd_at = lines.index("environment:"), lines.index("command:")
    env = dict(line.strip().split("=", 1) for line in lines[env_at + 1:cmd_at])
    return env, shlex.split(lines[cmd_at + 1]), text


@pytest.fixture
def clean(monkeypatch):
    for name in ("SLURM_JOB_ID", "SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE", "SLURM_CPUS_ON_NODE",
                 "OMP_NUM_THREADS", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_flavour_detection():
    assert mpi.flavour_of(VERSIONS["mpich"]) == mpi.MPICH
    assert mpi.flavour_of(VERSIONS["openmpi"]) == mpi.OPENMPI
    assert mpi.flavour_of(VERSIONS["intel"]) == mpi.INTEL
    assert mpi.flavour_of("mpirun (Open MPI) 5.0.3") == mpi.OPENMPI
    assert mpi.flavour_of("something else") is None


def test_hosts_and_hostfiles(tmp_path):
    assert mpi.parse_hosts("a:4,b:2") == [mpi.Host("a", 4), mpi.Host("b", 2)]
    assert mpi.parse_hosts("a,b") == [mpi.Host("a"), mpi.Host("b")]
    f = tmp_path / "hosts"
    f.write_text("# cluster\nnode1 slots=4\nnode2:2\nnode3   # no count\n\n")
    assert mpi.parse_hostfile(str(f)) == [mpi.Host("node1", 4), mpi.Host("node2", 2), mpi.Host("node3")]
    with pytest.raises(mpi.LaunchError, match="cannot read hostfile"):
        mpi.parse_hostfile(str(tmp_path / "missing"))


def test_mpich_dry_run(tmp_path, clean, capsys):
    exe = fake_exe(tmp_path, "mpiexec", VERSIONS["mpich"])
    env, cmd, text = dry_run(capsys, "--mpiexec", exe, "--nproc-per-node", "4", "--threads-per-rank", "3",
                             "--mpi-args", "-bind-to core", "train.py", "--lr", "0.1")
    assert "MPICH (Hydra)" in text
    assert cmd[:3] == [exe, "-n", "4"]
    genv = {cmd[i + 1]: cmd[i + 2] for i, a in enumerate(cmd) if a == "-genv"}
    assert genv["OMP_NUM_THREADS"] == genv["OPENBLAS_NUM_THREADS"] == genv["MKL_NUM_THREADS"] == "3"
    assert genv["DISTTORCH_RESTART_COUNT"] == "0" and env["DISTTORCH_RESTART_COUNT"] == "0"
    assert not any(name.startswith(("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")) for name in genv)
    tail = cmd[cmd.index("-bind-to"):]
    assert tail == ["-bind-to", "core", sys.executable, cli.BOOTSTRAP, "train.py", "--lr", "0.1"]
    assert (tmp_path / "mpiexec.argv").read_text() == "--version\n"  # a dry run only asked for the version


def test_mpich_hosts_and_hostfile(tmp_path, clean, capsys):
    exe = fake_exe(tmp_path, "mpiexec", VERSIONS["mpich"])
    _, cmd, _ = dry_run(capsys, "--mpiexec", exe, "--hosts", "n1:2,n2:2", "t.py")
    assert cmd[1:5] == ["-n", "4", "-hosts", "n1:2,n2:2"]
    f = tmp_path / "hosts"
    f.write_text("n1 slots=8\nn2 slots=8\n")
    _, cmd, _ = dry_run(capsys, "--mpiexec", exe, "--nnodes", "2", "--nproc-per-node", "3", "--hostfile", str(f),
                        "t.py")
    assert cmd[1:7] == ["-n", "6", "-ppn", "3", "-hosts", "n1,n2"]


def test_openmpi_dry_run(tmp_path, clean, capsys):
    exe = fake_exe(tmp_path, "mpirun", VERSIONS["openmpi"])
    env, cmd, text = dry_run(capsys, "--mpiexec", exe, "--hosts", "a:2,b:2", "--nproc-per-node", "2",
                             "-m", "pkg.train", "x")
    assert "Open MPI" in text
    assert cmd[1:7] == ["-np", "4", "--host", "a:2,b:2", "--map-by", "ppr:2:node"]
    exports = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-x"]
    assert "DISTTORCH_RESTART_COUNT=0" in exports and any(e.startswith("OMP_NUM_THREADS=") for e in exports)
    assert cmd[-5:] == [sys.executable, cli.BOOTSTRAP, "-m", "pkg.train", "x"]
    many = str(os.cpu_count() * 2 + 1)
    _, cmd, _ = dry_run(capsys, "--mpiexec", exe, "--nproc-per-node", many, "t.py")
    assert cmd[1:6] == ["-np", many, "--map-by", "slot", "--oversubscribe"]


def test_intel_dry_run(tmp_path, clean, capsys):
    exe = fake_exe(tmp_path, "mpiexec", VERSIONS["intel"])
    _, cmd, text = dry_run(capsys, "--mpiexec", exe, "--hosts", "a,b", "--nproc-per-node", "2", "t.py")
    assert "Intel MPI" in text
    assert cmd[1:7] == ["-n", "4", "-ppn", "2", "-hosts", "a,b"] and "-genv" in cmd


def test_srun_inside_allocation(tmp_path, clean, capsys):
    fake_exe(tmp_path, "srun", "slurm 23.02.6\n")
    clean.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    clean.setenv("SLURM_JOB_ID", "1234")
    clean.setenv("SLURM_CPUS_ON_NODE", "16")
    clean.setenv("SLURM_TASKS_PER_NODE", "4(x2)")
    env, cmd, text = dry_run(capsys, "train.py", "--epochs", "3")
    assert "SLURM srun" in text and "the SLURM allocation's tasks" in text
    assert cmd[0] == str(tmp_path / "srun")
    assert not any(a.startswith("--ntasks=") for a in cmd)  # the allocation decides
    assert "--kill-on-bad-exit=1" in cmd
    export = next(a for a in cmd if a.startswith("--export="))[len("--export="):].split(",")
    assert export[0] == "ALL" and "OMP_NUM_THREADS=4" in export and "DISTTORCH_RESTART_COUNT=0" in export
    assert env["OMP_NUM_THREADS"] == "4"  # 16 cores / 4 tasks per node
    _, cmd, _ = dry_run(capsys, "--nnodes", "2", "--nproc-per-node", "8", "train.py")
    assert cmd[1:4] == ["--ntasks=16", "--nodes=2", "--ntasks-per-node=8"]
    # told otherwise: MPI even inside the allocation
    exe = fake_exe(tmp_path, "mpiexec", VERSIONS["mpich"])
    _, cmd, text = dry_run(capsys, "--launcher", "mpich", "--mpiexec", exe, "--nproc-per-node", "2", "t.py")
    assert cmd[:3] == [exe, "-n", "2"]


def test_local_and_errors(tmp_path, clean, capsys):
    env, cmd, text = dry_run(capsys, "--launcher", "local", "t.py", "a")
    assert cmd == [sys.executable, cli.BOOTSTRAP, "t.py", "a"] and "no MPI" in text
    for args, message in [
        (["--launcher", "local", "--nproc-per-node", "2", "t.py"], "need an MPI launcher"),
        (["--nnodes", "2", "t.py"], "needs the machines"),
        (["--hosts", "a", "--hostfile", "f", "t.py"], "not both"),
        (["--nproc-per-node", "many", "t.py"], "must be a number, 'cpu', 'gpu' or 'auto'"),
        ([], "no script given"),
    ]:
        assert cli.main(args) == 2
        assert message in capsys.readouterr().err


def test_threads_default_and_respected(tmp_path, clean, capsys):
    exe = fake_exe(tmp_path, "mpiexec", VERSIONS["mpich"])
    env, _, _ = dry_run(capsys, "--mpiexec", exe, "--nproc-per-node", "2", "t.py")
    assert env["OMP_NUM_THREADS"] == str(max(1, len(os.sched_getaffinity(0)) // 2))
    env, cmd, _ = dry_run(capsys, "--mpiexec", exe, "--nproc-per-node", "auto", "t.py")  # one per GPU, else core
    cores = len(os.sched_getaffinity(0))
    ranks = cli.gpu_count() or cores
    assert cmd[1:3] == ["-n", str(ranks)] and env["OMP_NUM_THREADS"] == str(max(1, cores // ranks))
    clean.setenv("OMP_NUM_THREADS", "5")
    env, _, text = dry_run(capsys, "--mpiexec", exe, "--nproc-per-node", "2", "t.py")
    assert "OMP_NUM_THREADS" not in env and "left as they are" in text


def test_options_before_script_only(tmp_path, clean, capsys):
    exe = fake_exe(tmp_path, "mpiexec", VERSIONS["mpich"])
    _, cmd, _ = dry_run(capsys, "--mpiexec", exe, "--log-dir", "logs", "--tee", "t.py", "--tee", "--nnodes", "9")
    assert cmd[-4:] == ["t.py", "--tee", "--nnodes", "9"]  # the script's own options are left alone


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("disttorchrun (disttorch ")
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    for option in ("--nproc-per-node", "--nnodes", "--hosts", "--hostfile", "--max-restarts", "--log-dir", "--tee",
                   "--threads-per-rank", "--mpi-args", "--dry-run", "-m", "mpiexec -n 4 python train.py"):
        assert option in text


@pytest.mark.parametrize("env, layout", [
    ({"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
      "OMPI_COMM_WORLD_LOCAL_SIZE": "2"}, (3, 4, 1, 2)),
    ({"PMI_RANK": "2", "PMI_SIZE": "3", "MPI_LOCALRANKID": "0", "MPI_LOCALNRANKS": "1"}, (2, 3, 0, 1)),
    ({"SLURM_PROCID": "7", "SLURM_NTASKS": "9", "SLURM_LOCALID": "1", "SLURM_NODEID": "3",
      "SLURM_TASKS_PER_NODE": "2(x3),3"}, (7, 9, 1, 3)),
    ({"SLURM_PROCID": "1", "SLURM_NTASKS": "4", "SLURM_LOCALID": "1", "SLURM_NODEID": "1",
      "SLURM_TASKS_PER_NODE": "2(x2)"}, (1, 4, 1, 2)),
    ({"PMI_RANK": "1", "PMI_SIZE": "2"}, (1, 2, 1, 2)),
    ({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1"}, (1, 2, 0, 1)),
    ({}, (0, 1, 0, 1)),
])
def test_rank_discovery(env, layout):
    assert bootstrap.rank_layout(env) == layout
    exported = dict(env)
    bootstrap.export_torchrun_env(exported)
    assert [int(exported[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")] == list(layout)
    assert exported["DISTTORCH_RESTART_COUNT"] == "0"
