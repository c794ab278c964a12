"""disttorchrun under faults: a rank redirecting its own output is alive, os._exit codes and thread
exceptions are reported as they were (naming the rank), a failing log disk is reported once while the
job goes on, and the ranks' records live in a private run directory."""
from __future__ import annotations

import os
import re
import stat

import pytest
from _launcher_util import HERE, clean_env, launch, need_mpi

pytestmark = pytest.mark.timeout(60)
SCRIPT = HERE / "_faults_script.py"


def test_rank_redirecting_its_own_output_is_not_dead(tmp_path):
    need_mpi()
    own = tmp_path / "rank1.out"
    r = launch("--nproc-per-node", 2, SCRIPT, "dup2", 1, own, timeout=30)
    assert r.returncode == 0, r  # streams closing is not a death: nobody is torn down
    assert "rank 0 done" in r.out and "disttorchrun:" not in r.err, r
    assert own.read_text() == "rank 1 still alive\nrank 1 done\n"
    assert r.seconds < 15, r


@pytest.mark.parametrize("n", [2, 3])
def test_os_exit_code_is_reported_as_it_was(n):
    need_mpi()
    r = launch("--nproc-per-node", n, SCRIPT, "os_exit", n - 1, timeout=30)
    assert r.returncode == 3, r  # not the SIGTERM/SIGKILL of the teardown that followed
    assert r.seconds < 10, r  # the healthy ranks would sleep 60 s
    assert re.search(rf"disttorchrun: rank {n - 1} \(pid \d+ on \S+\) failed with exit code 3 "
                     r"\(it called os._exit\(3\)\)", r.err), r
    assert "killed by" not in r.err and "rank 0 done" not in r.out, r


def test_thread_exception_is_reported_with_rank_and_traceback():
    need_mpi()
    r = launch("--nproc-per-node", 2, SCRIPT, "thread", 1, timeout=30)
    assert r.returncode == 1, r
    assert r.seconds < 10, r
    assert "[rank 1] rank 1: uncaught exception in thread 'loader':" in r.err, r
    report = r.err[r.err.index("disttorchrun: rank 1 (pid"):]
    assert "failed with exit code 1 (it called os._exit(1)); last lines of its traceback:" in report, r
    assert "uncaught exception in thread 'loader':" in report and "in load" in report, r
    assert "ValueError: helper thread of rank 1 broke" in report and "(no output)" not in report, r


def test_full_log_disk_is_reported_once_and_the_job_goes_on(tmp_path):
    need_mpi()
    if not os.path.exists("/dev/full"):
        pytest.fail("this test needs Linux's /dev/full (a device whose writes fail with ENOSPC)")
    logs = tmp_path / "logs"
    (logs / "attempt_0" / "0").mkdir(parents=True)
    (logs / "attempt_0" / "0" / "stdout.log").symlink_to("/dev/full")  # rank 0's stdout log: a full disk
    r = launch("--nproc-per-node", 2, "--log-dir", logs, SCRIPT, "logs", 0, timeout=30)
    assert r.returncode == 0, r
    assert r.err.count("disttorchrun: cannot write the log") == 1, r
    assert "No space left on device" in r.err and "the job goes on" in r.err, r
    for i in range(4):  # what could not be logged reaches the console
        assert f"[rank 0] line {i}" in r.out, r
    assert (logs / "attempt_0" / "1" / "stdout.log").read_text() == (
        "rank 1 started\n" + "".join(f"line {i}\n" for i in range(4)) + "rank 1 done\n")
    assert "[rank 1]" not in r.out, r  # the healthy log still gets rank 1's lines, the console does not


def test_run_directory_is_private(tmp_path):
    need_mpi()
    r = launch("--nproc-per-node", 2, SCRIPT, "rundir", 0, timeout=30, env=clean_env(TMPDIR=str(tmp_path)))
    assert r.returncode == 0, r
    dirs = re.findall(r"\[rank \d\] dir (\S+) mode (\d+) uid (\d+) isdir True", r.out)
    assert len(dirs) == 4, r
    roots = {d[0] for d in dirs if not d[0].endswith("attempt_0")}
    assert len(roots) == 1, r
    root = roots.pop()
    assert os.path.dirname(root) == str(tmp_path) and re.fullmatch(r"disttorchrun-\w{8}", os.path.basename(root)), root
    assert all(mode == "700" and int(uid) == os.geteuid() for _d, mode, uid in dirs), r
    assert not os.path.exists(root), root  # removed when the job ends


def test_run_directory_owner_is_checked(monkeypatch, tmp_path):
    from disttorch.launcher import run

    monkeypatch.setattr(run.tempfile, "tempdir", str(tmp_path))
    root = run.private_run_root()
    assert stat.S_IMODE(os.lstat(root).st_mode) == 0o700 and os.listdir(tmp_path) == [os.path.basename(root)]
    monkeypatch.setattr(run.os, "geteuid", lambda: os.getuid() + 1)  # as if someone else owned what we got
    with pytest.raises(RuntimeError, match=r"disttorchrun-\w+ is not a private directory of this user"):
        run.private_run_root()
    assert os.listdir(tmp_path) == [os.path.basename(root)]  # the suspicious one is not kept
