"""The exit watcher of collectives/mpi_sentinel.py on its own, without MPI: a stand-in rank (a Python process with
a socketpair as its "PMI socket") starts the watcher and ends in different ways; the test process plays Hydra's
proxy (the rank's parent). Under real mpiexec the watcher is tested by
tests/disttorch/distributed/test_collective_faults.py."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RANK = """
import os, signal, socket, sys, time
from disttorch.collectives import mpi_sentinel
pmi, hydra_end = socket.socketpair()
os.environ.update(PMI_FD=str(pmi.fileno()), MPI_LOCALRANKID="0")
peers = {int(q): int(p) for q, p in (x.split("=") for x in sys.argv[2].split(",") if x)}
peers[1] = os.getpid()
note = mpi_sentinel.start(1, "testhost", peers)
print("PID", os.getpid(), "WATCHED", note is not None, flush=True)
how = sys.argv[1]
if how == "announce":
    mpi_sentinel.announce(note, "sys.exit(0)")
    os._exit(0)
if how == "c_exit":
    os._exit(5)  # nothing announced: as a C-level exit
os.kill(os.getpid(), getattr(signal, how))
"""


@pytest.fixture(autouse=True)
def _linux_only():
    if not sys.platform.startswith("linux"):
        pytest.skip("the exit watcher is Linux only (pidfd, /proc)")


def _rank(how, peers="", **env):
    env = {**{k: v for k, v in os.environ.items() if k != "DISTTORCH_LAUNCHER"}, "PYTHONPATH": str(ROOT), **env}
    start = time.monotonic()
    # the watcher holds the rank's stdout and stderr: run() returns once the watcher is done too
    r = subprocess.run([sys.executable, "-c", RANK, how, peers], capture_output=True, text=True, env=env,
                       timeout=30)
    r.seconds = time.monotonic() - start
    r.pid = int(r.stdout.split()[1])
    return r


@pytest.mark.parametrize("how, words", [("SIGKILL", "was killed by signal 9 (SIGKILL: sent by a user"),
                                        ("SIGSEGV", "was killed by signal 11 (SIGSEGV)"),
                                        ("c_exit", "exited with status 5 without leaving the job through Python")])
def test_an_unannounced_end_is_reported_with_rank_pid_and_how(how, words):
    r = _rank(how)
    assert "WATCHED True" in r.stdout, r
    line = f"[rank 1] disttorch: rank 1 (pid {r.pid} on testhost) "
    assert line in r.stderr and words in r.stderr, r
    assert f"(ranks on testhost: rank 1 = pid {r.pid};" in r.stderr, r
    assert r.stderr.count("disttorch: rank") == 1, r


def test_an_announced_end_is_silent():
    r = _rank("announce")
    assert r.returncode == 0 and "WATCHED True" in r.stdout and "disttorch" not in r.stderr, r


@pytest.mark.parametrize("how", ["c_exit", "SIGKILL"])
def test_other_ranks_the_launcher_left_running_are_killed(how):
    """The stand-in launcher (this test) ends nobody: the watcher SIGKILLs the host's other rank (a child of the
    same parent) 2 s after the report; after an exit without a signal it says so."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        r = _rank(how, peers=f"0={other.pid}")
        assert other.wait(timeout=10) == -signal.SIGKILL, r
        if how == "c_exit":  # (after a signal the watcher let go of the rank's output right after its report)
            assert 1.5 < r.seconds < 10, r
            assert "the MPI launcher had not ended ranks [0] on testhost" in r.stderr, r
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()


def test_start_returns_once_the_watcher_holds_the_rank():
    """A rank that ends right after start() (here at once) is still reported: start() waits for the watcher."""
    r = _rank("c_exit")
    assert "exited with status 5" in r.stderr, r


def test_a_rank_gone_before_its_watcher_started_is_reported_and_the_others_ended():
    """The watcher run on a rank that has ended and been reaped already (as Hydra would have reaped it): it
    reports the rank, how unknown, and kills the host's other ranks (children of the same parent)."""
    import socket

    from disttorch.collectives import mpi_sentinel

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    pmi, hydra_end = socket.socketpair()
    note_r, note_w = os.pipe()
    ready_r, ready_w = os.pipe()
    try:
        args = ["1", str(gone.pid), "testhost", str(note_r), str(pmi.fileno()), f"0={other.pid},1={gone.pid}",
                str(ready_w), str(os.getpid())]
        w = subprocess.run([sys.executable, "-I", "-S", mpi_sentinel.__file__, *args], capture_output=True,
                           text=True, timeout=30, pass_fds=(note_r, pmi.fileno(), ready_w))
        assert f"rank 1 (pid {gone.pid} on testhost) ended (how is not known)" in w.stderr, w
        assert other.wait(timeout=10) == -signal.SIGKILL, w
    finally:
        for fd in (note_r, note_w, ready_r, ready_w):
            os.close(fd)
        pmi.close()
        hydra_end.close()
        if other.poll() is None:
            other.kill()
            other.wait()


def test_not_started_without_hydra_or_under_disttorchrun():
    for env in ({"DISTTORCH_LAUNCHER": "1"}, {"DISTTORCH_EXIT_WATCHER": "0"}):
        r = _rank("announce", **env)
        assert "WATCHED False" in r.stdout, (env, r)
