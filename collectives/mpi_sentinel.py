"""Naming a rank that ends without leaving the job (SIGKILL, a crash, a C-level ``exit``) under MPICH's Hydra.

Hydra's proxy notices a rank's end when the rank's PMI socket closes, and then SIGKILLs every rank on its node at
once: no rank lives long enough to report, and Hydra's own banner names a pid, not a rank. So each rank started
by Hydra (``PMI_FD`` and Hydra's ``MPI_LOCALRANKID`` set; not under ``disttorchrun``, whose helper reports
already) starts, in :func:`start`, a small watcher process: this file run by a fresh interpreter (``python -I
-S``, standard library only, about 11 MB). The watcher

* holds copies of the rank's PMI socket, stdout and stderr, so Hydra only learns of the rank's end from the
  watcher;
* waits for the rank's end (a pidfd, Linux >= 5.3; else it polls its parent pid) or for a line on a pipe by which
  the rank says it leaves the job through Python (end of the script, ``sys.exit``, ``os._exit``, ``MPI_Abort``
  after an error): those ends are reported by the ranks themselves, and the watcher then exits silently;
* otherwise reads how the rank ended (its exit status, from ``/proc/<pid>/stat`` while the rank is a zombie, or
  from the pidfd on Linux >= 6.15), leaves the rank's process group, closes its copy of the PMI socket (Hydra
  now tears the job down, as it would have without the watcher), writes one line to stderr naming the rank, its
  pid and host, how it ended, and the pids of the ranks on that host (to match Hydra's banner), and exits.
* Hydra ignores the PMI socket of a rank it has reaped already, and only a signal makes a reaped rank end the
  job: a rank that exited (no signal) and was reaped between its end and the watcher's close (Hydra woke up
  for something else, such as the rank's last output) would leave the others waiting. So the watcher waits up
  to 2 s for the other ranks of its host to end and SIGKILLs, as Hydra would, those still there.

Under ``srun`` (a task of a numbered SLURM step, no Hydra) the same watcher is started without a PMI socket:
slurmstepd notices a task's end by itself, and srun prints "task 1: Killed", but unless the user passed
``--kill-on-bad-exit`` it leaves the other tasks waiting in their collective. So there the watcher names the
rank and runs ``scancel <job>.<step>``, which ends the step's tasks on every node (where scancel cannot be run,
it SIGKILLs the other tasks of its host, the children of the same slurmstepd).

Until its rank has ended the watcher stays in the rank's process group, which Hydra kills as a whole when it
tears a job down: ranks that Hydra kills take their watcher with them (in the same ``killpg``, before the watcher
could see its rank end), so only a rank that ended on its own (a signal sent to that process alone, by a user, a
job limit or the kernel's out-of-memory killer; a crash; a C-level exit) is reported. Nothing here runs per
collective.
"""
from __future__ import annotations

import os
import select
import signal
import struct
import sys
import time
from typing import Any

_POLL_S = 1.0  # with a pidfd: how often the watcher also checks its parent pid (belt and braces)
_NO_PIDFD_POLL_S = 0.05
_TEARDOWN_GRACE_S = 2.0  # after the report: how long Hydra gets to end the other ranks of the host
_READY_WAIT_S = 30.0  # the most the rank waits, at its start, for its watcher to be in place
_PIDFD_GET_INFO = 0xC040FF0B  # _IOWR(0xFF, 11, struct pidfd_info) with the 64-byte version 0 of the struct
_PIDFD_INFO_EXIT = 1 << 3


# -- in the rank ---------------------------------------------------------------------------------------------
_started: list = []  # the watcher's Popen, kept (it outlives the rank; a collected Popen would warn)


def start(rank: int, host: str, peers: dict[int, int]) -> int | None:
    """Start the watcher of this rank (see the module's doc); returns the write end of its "leaving" pipe, or None
    where there is none (not under Hydra, under ``disttorchrun``, ``DISTTORCH_EXIT_WATCHER=0``, not Linux).
    ``peers``: world rank -> pid of the ranks on this host."""
    env = os.environ
    if env.get("DISTTORCH_EXIT_WATCHER", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    if env.get("DISTTORCH_LAUNCHER") or not sys.platform.startswith("linux") or not sys.executable \
            or not os.path.isfile(__file__):  # (run by path: not from inside a zip)
        return None
    step = _slurm_step(env)
    if "MPI_LOCALRANKID" in env:  # set by Hydra's proxies (also inside a SLURM job)
        try:
            pmi = int(env.get("PMI_FD", ""))
            os.fstat(pmi)
        except (ValueError, OSError):
            return None
    elif step:  # a task of ``srun``: srun names a dead task but, without --kill-on-bad-exit, lets the rest wait
        pmi = -1
    else:
        return None
    import subprocess

    r, w = os.pipe()
    ready_r, ready_w = os.pipe()
    mapping = ",".join(f"{q}={p}" for q, p in sorted(peers.items()))
    try:
        # start_new_session stays False on purpose: the watcher must die with the rank's process group
        _started.append(subprocess.Popen(
            [sys.executable, "-I", "-S", os.path.abspath(__file__), str(rank), str(os.getpid()), host, str(r),
             str(pmi), mapping, str(ready_w), str(os.getppid()), step], stdin=subprocess.DEVNULL,
            pass_fds=(r, ready_w) if pmi < 0 else (r, pmi, ready_w)))
    except OSError:
        os.close(w)
        return None
    finally:
        os.close(r)
        os.close(ready_w)
    # wait until the watcher holds its handle on this rank: a rank ending before that (and reaped by Hydra)
    # would leave the others waiting, since Hydra ignores the PMI socket of a reaped rank. About 20 ms on an
    # idle machine; seconds on a loaded one (bounded: a watcher that never answers is not waited for)
    try:
        select.select([ready_r], [], [], _READY_WAIT_S)
    finally:
        os.close(ready_r)
    return w


def _slurm_step(env: Any) -> str:
    """``jobid.stepid`` of the srun step this process is a task of ('' outside one; batch scripts are step
    ``batch``/``extern``, whose processes are not srun's tasks)."""
    job, step = env.get("SLURM_JOB_ID", ""), env.get("SLURM_STEP_ID", "")
    return f"{job}.{step}" if job and step.isdigit() and "SLURM_PROCID" in env else ""


def announce(fd: int | None, how: str) -> None:
    """Tell the watcher that this rank leaves the job through Python (it then stays silent)."""
    if fd is None:
        return
    try:
        os.write(fd, (how.replace("\n", " ") + "\n").encode()[:512])
    except OSError:
        pass


# -- in the watcher ------------------------------------------------------------------------------------------
def _read_all(fd: int) -> tuple[bytes, bool]:
    """What the pipe holds now, and whether it is at its end."""
    data = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            return data, False
        except OSError:
            return data, True
        if not chunk:
            return data, True
        data += chunk


def _wait(pid: int, pidfd: int | None, note: int) -> bool:
    """Wait until the rank ends; whether it said first that it leaves the job."""
    said = b""
    poller = select.poll()
    poller.register(note, select.POLLIN)
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    note_open = True
    while True:
        events = dict(poller.poll(1000 * (_POLL_S if pidfd is not None else _NO_PIDFD_POLL_S)))
        if note_open and note in events:
            data, end = _read_all(note)
            said += data
            if end:
                poller.unregister(note)
                note_open = False
        if (pidfd is not None and pidfd in events) or os.getppid() != pid:
            break
    if note_open:
        said += _read_all(note)[0]  # the last words before the end
    return bool(said)


def _exit_status(pid: int, pidfd: int | None) -> int | None:
    """The rank's wait status: from /proc while it is a zombie (not yet reaped by Hydra), else from the pidfd
    (Linux >= 6.15 keeps it after the reaping); None when neither says."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            return int(fields[49])  # field 52, exit_code (Linux >= 3.5)
    except (OSError, IndexError, ValueError):
        pass
    if pidfd is not None:
        try:
            import fcntl

            buf = bytearray(64)
            struct.pack_into("Q", buf, 0, _PIDFD_INFO_EXIT)
            fcntl.ioctl(pidfd, _PIDFD_GET_INFO, buf)
            if struct.unpack_from("Q", buf, 0)[0] & _PIDFD_INFO_EXIT:
                return struct.unpack_from("i", buf, 60)[0]
        except (OSError, ImportError):
            pass
    return None


def how_it_ended(status: int | None) -> str:
    """A wait status in words."""
    if status is None:
        return "ended (how is not known)"
    if status & 0x7F:
        sig = status & 0x7F
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        why = ": sent by a user, a job limit or the kernel's out-of-memory killer" if sig == signal.SIGKILL else ""
        return f"was killed by signal {sig} ({name}{why})"
    return (f"exited with status {(status >> 8) & 0xFF} without leaving the job through Python (a C-level exit, "
            f"or MPI_Abort called outside disttorch)")


def report_line(rank: int, pid: int, host: str, status: int | None, peers: dict[int, int], step: str = "") -> str:
    ranks = ", ".join(f"rank {q} = pid {p}" for q, p in sorted(peers.items()))
    ending = f"cancelling SLURM job step {step} (scancel)" if step else "the MPI launcher now ends the job"
    return (f"[rank {rank}] disttorch: rank {rank} (pid {pid} on {host}) {how_it_ended(status)}, while the job was "
            f"running; {ending} (ranks on {host}: {ranks}; the launcher's own report may name any of these pids)\n")


def _parent_of(pid: int) -> int | None:
    """The parent pid of a live process (None when it is gone or a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def _end_the_others(peers: dict[int, int], me: int, proxy: int) -> list[int]:
    """Hydra tears the job down when it sees the ended rank's PMI socket close before it reaps the rank, or when
    it reaps a rank killed by a signal; a rank that exited (no signal) and was reaped first would leave the others
    waiting. So: wait a moment for the other ranks of this host to end, and SIGKILL (as Hydra would) those still
    there, checking that each is still a child of the same Hydra proxy. Returns the ranks it killed."""
    others = {q: p for q, p in peers.items() if q != me}
    deadline = time.monotonic() + _TEARDOWN_GRACE_S
    while others and time.monotonic() < deadline:
        others = {q: p for q, p in others.items() if _parent_of(p) == proxy}
        time.sleep(0.01)
    killed = []
    for q, p in others.items():
        if _parent_of(p) == proxy:
            try:
                os.kill(p, signal.SIGKILL)
                killed.append(q)
            except OSError:
                pass
    return killed


def main(argv: list[str]) -> None:
    rank, pid, host, note, pmi = int(argv[0]), int(argv[1]), argv[2], int(argv[3]), int(argv[4])
    peers = {int(q): int(p) for q, p in (item.split("=") for item in argv[5].split(",") if item)}
    ready, proxy = int(argv[6]), int(argv[7])
    step = argv[8] if len(argv) > 8 else ""
    # a signal to the process group (Hydra's teardown, Ctrl-C forwarded) ends the watcher silently
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    os.set_blocking(note, False)
    try:
        pidfd: Any = os.pidfd_open(pid)
    except ProcessLookupError:  # the rank ended (and was reaped) before the watcher was in place
        pidfd = -1
    except (AttributeError, OSError):
        pidfd = None
    os.close(ready)  # the rank goes on now
    if pidfd == -1:
        if not _read_all(note)[0]:
            (_cancel_step if step else _report)(rank, pid, host, pmi, None, peers, proxy, step)
        return
    if _wait(pid, pidfd, note):
        return
    (_cancel_step if step else _report)(rank, pid, host, pmi, _exit_status(pid, pidfd), peers, proxy, step)


def _cancel_step(rank: int, pid: int, host: str, pmi: int, status: int | None, peers: dict[int, int], proxy: int,
                 step: str) -> None:
    """An srun task ended without leaving the job: name it and cancel the whole step (every node's tasks); where
    scancel cannot be run, end this host's other tasks (children of the same slurmstepd) as under Hydra."""
    try:
        os.setpgid(0, 0)  # out of the rank's process group: the step's teardown must not end this report
    except OSError:
        pass
    try:
        os.write(2, report_line(rank, pid, host, status, peers, step).encode())
    except OSError:
        pass
    import subprocess

    try:
        done = subprocess.run(["scancel", "--quiet", step], stdin=subprocess.DEVNULL, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        done = False
    if not done:
        _end_the_others(peers, rank, proxy)


def _report(rank: int, pid: int, host: str, pmi: int, status: int | None, peers: dict[int, int],
            proxy: int, step: str = "") -> None:
    """The rank ended without leaving the job: let Hydra see it, name the rank, and make sure the others end."""
    # Hydra must see the end now, before anything wakes it up to reap the rank: out of the rank's process group
    # first, so that Hydra's teardown (killpg of each rank's group) does not end this report too
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    os.close(pmi)
    try:
        os.write(2, report_line(rank, pid, host, status, peers).encode())
    except OSError:
        pass
    signaled = status is not None and status & 0x7F
    if signaled:
        # Hydra ends the job on a reaped rank killed by a signal in any case (no 2 s note needed): let go of the
        # rank's output now, with its PMI socket, as the rank's own end would have, so that Hydra reaps it first
        # and its banner can name it
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
    killed = _end_the_others(peers, rank, proxy)
    if killed:
        try:
            os.write(2, f"[rank {rank}] disttorch: the MPI launcher had not ended ranks {killed} on {host} "
                        f"{_TEARDOWN_GRACE_S:g} s after rank {rank} ended: killed them (SIGKILL)\n".encode())
        except OSError:
            pass


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    finally:
        os._exit(0)  # releases the rank's PMI socket and output: Hydra now sees the rank's end
