"""disttorchrun starting real ranks through MPI: environment, prefixes, logs, failures, signals, restarts."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest
from _launcher_util import HERE, RANK_SCRIPT, ROOT, clean_env, launch, launcher_cmd, need_mpi

sys.path.insert(0, str(HERE.parent / "collectives"))
import _mpirun  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def rank_lines(text: str) -> dict[int, list[str]]:
    lines: dict[int, list[str]] = {}
    for line in text.splitlines():
        m = re.match(r"^\[rank (\d+)\] (.*)$", line)
        if m:
            lines.setdefault(int(m.group(1)), []).append(m.group(2))
    return lines


@pytest.mark.parametrize("n", [1, 2, 3])
def test_ranks_get_torchrun_environment(n):
    need_mpi()
    r = launch("--nproc-per-node", n, RANK_SCRIPT, "ok", "x y")
    assert r.returncode == 0, r
    out, err = rank_lines(r.out), rank_lines(r.err)
    assert sorted(out) == list(range(n)), r
    threads = max(1, len(os.sched_getaffinity(0)) // n)
    for rank in range(n):
        assert out[rank][0] == (f"RANK={rank} LOCAL_RANK={rank} WORLD_SIZE={n} LOCAL_WORLD_SIZE={n} RESTART=0 "
                                f"THREADS={threads} ARGV=['ok', 'x y']"), r
        assert out[rank][-1] == f"rank {rank} done"
        assert err[rank] == [f"to stderr from {rank}"]
    assert all(line.startswith("[rank ") for line in r.out.splitlines()), r  # every line of the ranks prefixed


def test_single_process_without_mpi():
    r = launch("--launcher", "local", RANK_SCRIPT)
    assert r.returncode == 0, r
    assert rank_lines(r.out)[0][0].startswith("RANK=0 LOCAL_RANK=0 WORLD_SIZE=1 LOCAL_WORLD_SIZE=1 RESTART=0"), r


def test_module_target(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "job.py").write_text("import os, sys\nprint(__name__, os.environ['RANK'], sys.argv[1:])\n")
    r = launch("--launcher", "local", "-m", "pkg.job", "--flag", cwd=tmp_path)
    assert r.returncode == 0, r
    assert r.out.strip() == "[rank 0] __main__ 0 ['--flag']", r


def test_per_rank_log_files(tmp_path):
    need_mpi()
    logs = tmp_path / "logs"
    r = launch("--nproc-per-node", 2, "--log-dir", logs, RANK_SCRIPT)
    assert r.returncode == 0, r
    assert "[rank" not in r.out, r  # files only
    for rank in (0, 1):
        stdout = (logs / "attempt_0" / str(rank) / "stdout.log").read_text()
        stderr = (logs / "attempt_0" / str(rank) / "stderr.log").read_text()
        assert stdout.startswith(f"RANK={rank} ") and stdout.endswith(f"rank {rank} done\n")
        assert stderr == f"to stderr from {rank}\n"
    r = launch("--nproc-per-node", 2, "--log-dir", logs, "--tee", RANK_SCRIPT)
    assert sorted(rank_lines(r.out)) == [0, 1] and sorted(rank_lines(r.err)) == [0, 1], r


@pytest.mark.parametrize("mode, code, message", [
    ("raise", 1, "ValueError: deliberate failure on rank 1"),
    ("exit", 7, "failed with exit code 7"),
    ("kill", 128 + signal.SIGKILL, "was killed by SIGKILL"),
])
@pytest.mark.parametrize("ranks", [2, 3])
def test_failing_rank_stops_the_job(mode, code, message, ranks):
    need_mpi()
    r = launch("--nproc-per-node", ranks, RANK_SCRIPT, mode, 1)
    assert r.returncode == code, r
    assert r.seconds < 10, r  # the other rank would sleep 60 s
    report = r.err[r.err.index("disttorchrun: rank "):]
    assert message in report, r
    # a SIGKILLed rank's peers are killed moments later by the MPI launcher; rank 1 ended first and is named
    assert report.startswith("disttorchrun: rank 1 (pid "), r
    assert "rank 0 done" not in r.out


def test_failure_after_mpi_init_aborts_through_mpi(tmp_path):
    need_mpi()
    r = launch("--nproc-per-node", 3, RANK_SCRIPT, "mpi", 2, tmp_path)
    assert r.returncode == 1, r
    assert "disttorchrun: rank 2 (pid" in r.err and "ValueError: failure after MPI_Init" in r.err, r
    # the all-reduce ran on 3 ranks before the failure. A rank that MPI_Abort kills may lose the output it had in
    # flight through the pipes (under load, every rank's line can be lost), so the failing rank also writes the
    # result to a file before it raises: that record is certain; printed lines, when any arrive, must agree.
    assert (tmp_path / "rank2.txt").read_text() == "allreduce=6 size=3\n", r
    for rank, lines in rank_lines(r.out).items():
        assert all(line == "allreduce=6 size=3" for line in lines if line.startswith("allreduce=")), r
        assert f"rank {rank} done" not in lines, r  # MPI_Abort ended the others in their barrier


def test_restart_after_failure():
    need_mpi()
    r = launch("--nproc-per-node", 2, "--max-restarts", 2, RANK_SCRIPT, "fail-first-attempt", 0)
    assert r.returncode == 0, r
    assert "restarting the job: restart 1 of 2" in r.err and "RuntimeError: first attempt fails" in r.err, r
    out = rank_lines(r.out)
    for rank in (0, 1):
        attempts = [line.split()[4] for line in out[rank] if "RESTART=" in line]
        assert attempts[-1] == "RESTART=1" and out[rank][-1] == f"rank {rank} done", r
    assert [line.split()[4] for line in out[0] if "RESTART=" in line] == ["RESTART=0", "RESTART=1"], r
    r = launch("--nproc-per-node", 2, "--max-restarts", 1, RANK_SCRIPT, "exit", 0)
    assert r.returncode == 7 and "giving up after 2 attempts" in r.err, r


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_every_process(sig):
    need_mpi()
    marker = f"marker-{uuid.uuid4().hex}"
    proc = subprocess.Popen(launcher_cmd("--nproc-per-node", 2, RANK_SCRIPT, "sleep", marker),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=clean_env())
    try:
        started = set()
        deadline = time.monotonic() + 30
        while len(started) < 2 and time.monotonic() < deadline:  # both ranks are up and sleeping
            m = re.match(r"\[rank (\d+)\] RANK=", proc.stdout.readline())
            if m:
                started.add(m.group(1))
        assert started == {"0", "1"}
        proc.send_signal(sig)
        start = time.monotonic()
        out, err = proc.communicate(timeout=15)
        assert time.monotonic() - start < 10
        assert proc.returncode == 128 + sig, err
        assert f"stopped by {signal.Signals(sig).name}" in err
    finally:
        if proc.poll() is None:
            proc.kill()
    left = ""
    for _ in range(20):  # nothing with the marker in its command line survives
        left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
        if not left:
            break
        time.sleep(0.1)
    assert left == "", f"processes left behind: {left}"


def test_two_hosts_on_loopback():
    """Two host names that both resolve to this machine: Hydra starts one proxy per host (locally, no ssh), so
    each rank is alone on its "node"; Open MPI sees that both names are this machine: one node of two ranks."""
    need_mpi()
    r = launch("--hosts", "localhost:1,127.0.0.1:1", RANK_SCRIPT, "mpi")
    assert r.returncode == 0, r
    out = rank_lines(r.out)
    one_node = _mpirun.flavour() == "openmpi"
    for rank in (0, 1):
        local = f"LOCAL_RANK={rank} WORLD_SIZE=2 LOCAL_WORLD_SIZE=2" if one_node else \
            "LOCAL_RANK=0 WORLD_SIZE=2 LOCAL_WORLD_SIZE=1"
        assert out[rank][0].startswith(f"RANK={rank} {local} "), r
        assert out[rank][1] == "allreduce=3 size=2", r


def test_srun_inside_allocation(tmp_path):
    """A fake srun that starts the tasks like SLURM (SLURM_PROCID, ...): ranks come from the allocation."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    srun = bin_dir / "srun"
    shutil.copy(HERE / "_fake_srun.py", srun)
    srun.write_text(f"#!{sys.executable}\n" + srun.read_text())
    srun.chmod(0o755)
    log = tmp_path / "srun.log"
    env = clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", SLURM_JOB_ID="42", SLURM_NTASKS="3",
                    SLURM_CPUS_ON_NODE="6", SLURM_TASKS_PER_NODE="3", FAKE_SRUN_LOG=str(log))
    r = launch(RANK_SCRIPT, env=env)
    assert r.returncode == 0, r
    out = rank_lines(r.out)
    for rank in range(3):
        assert out[rank][0].startswith(f"RANK={rank} LOCAL_RANK={rank} WORLD_SIZE=3 LOCAL_WORLD_SIZE=3 RESTART=0 "
                                       f"THREADS=2 "), r
    argv = log.read_text()
    assert "--kill-on-bad-exit=1" in argv and "--ntasks" not in argv
