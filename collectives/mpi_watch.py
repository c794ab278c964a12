"""Fault handling for MPI communicators: waits with a deadline, a per-rank flight recorder, peer-exit notices.

One :class:`Watch` per process (made with the first :class:`~disttorch.collectives.mpi.MPICommunicator`):

* **Waiting.** :meth:`Watch.wait` polls an MPI request: it spins for the first half millisecond, then sleeps with
  a growing nap (an eighth of the time waited so far, at most 10 ms), so a rank waiting for a late peer costs
  almost no CPU. It raises :class:`CollectiveError` when the group's timeout passes or when a member of the group
  has left the job.
* **Flight recorder.** The last ``DISTTORCH_FLIGHT_RECORDER`` (default 32) collectives of this rank, on any
  group: sequence number, collective, arguments, group, when it started and how long it took (or that it is
  still running). Written to stderr on a timeout, on a collective error, on a peer's request, and on demand with
  ``kill -USR1 <pid>``.
* **Alerts.** A communicator of its own (a duplicate of ``COMM_WORLD``) carries small messages between ranks:
  "I am leaving the job, and how" (sent from ``atexit``, ``sys.exit`` and ``os._exit``), "dump your state"
  (sent by a rank whose collective timed out) and the reply. A watchdog thread (when MPI runs with
  ``MPI_THREAD_MULTIPLE``) receives them ten times a second, so a rank busy outside any collective still
  answers, and it aborts the job when a blocking MPI call has outlived the group's timeout by 5 s.
* **Leaving.** A rank that leaves the job (end of script, ``sys.exit(n)``, ``os._exit(n)``) first tells every
  other rank, then waits until each of them leaves too. A rank that is in, or enters, a collective with a rank
  that left raises an error naming it and how it left; the error ends the job (uncaught: ``MPI_Abort`` by the
  fail-fast hook; caught: at this rank's own exit). After a timeout or a peer loss, the rank's communicators
  are unusable and its exit calls ``MPI_Abort`` so that the job's exit status is non-zero.
* **Ending otherwise.** Under MPICH's Hydra a watcher process per rank (:mod:`.mpi_sentinel`) names a rank that
  ends without leaving (SIGKILL, a crash): Hydra would kill the other ranks before any of them could report.
"""
from __future__ import annotations

import atexit
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections import deque
from typing import Any, Callable

import numpy as np

from . import mpi_sentinel
from .base import CollectiveError

_TAG = 0x5157
_MSG = 2048  # bytes of one alert message
_EXIT, _DUMP, _STATE = 1, 2, 3
_SPIN = 5e-4  # seconds of busy polling before the first nap
_MAX_NAP = 0.01
_REPLY_WAIT = 2.0  # seconds a timed-out rank waits for its peers' state
_STUCK_GRACE = 5.0  # seconds past the timeout before the watchdog aborts a rank stuck inside MPI


def _records() -> int:
    try:
        return max(1, int(os.environ.get("DISTTORCH_FLIGHT_RECORDER", "32")))
    except ValueError:
        return 32


def args_text(dtype: Any = None, shape: Any = None, op: Any = None, root: Any = None) -> str:
    """A collective's arguments as its messages show them: ``dtype=float32, shape=(4,), op=SUM``."""
    parts = []
    if dtype is not None:
        parts.append(f"dtype={dtype}")
    if shape is not None:
        parts.append(f"shape={tuple(shape)}")
    if op is not None:
        parts.append(f"op={op.name}")
    if root is not None:
        parts.append(f"root={root}")
    return ", ".join(parts)


def _fmt_record(rec: list, now: float) -> str:
    seq, what, args, ranks, start, end = rec
    text = f"#{seq} {what}({args_text(*args)}) on ranks {list(ranks)}"
    if end is None:
        return f"{text}: running for {now - start:.3f} s"
    if isinstance(end, str):
        return f"{text}: {end}"
    return f"{text}: done in {(end - start) * 1e3:.3f} ms"


class Watch:
    """The process's flight recorder, alert channel, watchdog and exit handshake (see the module's doc)."""

    def __init__(self, MPI: Any) -> None:  # noqa: N803 (the module's name)
        self.MPI = MPI
        self.pid = os.getpid()
        world = MPI.COMM_WORLD
        self.me, self.size = world.Get_rank(), world.Get_size()
        self.records: deque = deque(maxlen=_records())
        self.total = 0  # collectives started by this rank, all groups
        self.waiting: tuple | None = None  # (what, ranks, start, timeout) while this rank waits in a collective
        self.left: dict[int, str] = {}  # world rank -> how it left the job
        self.replies: dict[int, str] = {}
        self.broken: str | None = None  # why this rank's communicators are unusable
        self.how: str | None = None  # how this rank is leaving (sys.exit(3), os._exit(0))
        self.done = False
        self._lock = threading.RLock()
        self._sends: list = []
        self._comm = world.Dup()
        self._comm.Set_errhandler(MPI.ERRORS_RETURN)
        self._buf = np.zeros(_MSG, np.uint8)
        self._status = MPI.Status()
        self._req = self._comm.Irecv(self._buf, MPI.ANY_SOURCE, _TAG)
        self._note: int | None = None  # the pipe to this rank's exit watcher (mpi_sentinel)
        if self.size > 1:
            host = socket.gethostname()
            where = self._comm.allgather((self.pid, host))  # once, at init: the pids of the ranks on this host
            self._note = mpi_sentinel.start(self.me, host, {r: p for r, (p, h) in enumerate(where) if h == host})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.size > 1 and MPI.Query_thread() == MPI.THREAD_MULTIPLE:
            self._thread = threading.Thread(target=self._watchdog, name="disttorch-watchdog", daemon=True)
            self._thread.start()
        self._install_exit_hooks()

    # -- the flight recorder ------------------------------------------------------------------------------
    def record(self, seq: int, what: str, args: tuple, ranks: tuple) -> list:
        """A new entry (a list: its last item, the end time, is set when the collective completes); ``args``
        is (dtype, shape, op, root), each None where the collective has none."""
        self.total += 1
        rec = [seq, what, args, ranks, time.perf_counter(), None]
        self.records.append(rec)
        return rec

    def report(self, headline: str) -> str:
        now = time.perf_counter()
        lines = [f"[rank {self.me}] {headline}"]
        if self.waiting is not None:
            what, ranks, start, _ = self.waiting
            lines.append(f"[rank {self.me}] waiting in {what} on ranks {list(ranks)} for {now - start:.3f} s")
        else:
            lines.append(f"[rank {self.me}] not waiting in a collective")
        lines.append(f"[rank {self.me}] last {len(self.records)} of {self.total} collectives (flight recorder):")
        lines += [f"[rank {self.me}]   {_fmt_record(rec, now)}" for rec in self.records]
        return "\n".join(lines)

    def state(self) -> str:
        """One line: what this rank is doing (for a peer's timeout message)."""
        now = time.perf_counter()
        if self.waiting is not None:
            what, ranks, start, _ = self.waiting
            return f"waiting in {what} on ranks {list(ranks)} for {now - start:.1f} s"
        last = f"last {_fmt_record(self.records[-1], now)}" if self.records else "no collective yet"
        frame = sys._current_frames().get(threading.main_thread().ident)
        where = ""
        if frame is not None:
            fs = traceback.extract_stack(frame)[-1]
            where = f", main thread at {os.path.basename(fs.filename)}:{fs.lineno} in {fs.name}"
        return f"not in a collective ({last}){where}"

    def dump(self, headline: str) -> None:
        try:
            sys.stderr.write(self.report(headline) + "\n")
            sys.stderr.flush()
        except Exception:
            pass

    # -- alerts --------------------------------------------------------------------------------------------
    def _send(self, dst: int, kind: int, text: str) -> None:
        data = np.frombuffer(bytes([kind]) + text.encode()[:_MSG - 1], np.uint8).copy()
        with self._lock:
            self._sends.append((self._comm.Isend(data, dst, _TAG), data))

    def poll(self) -> None:
        """Receive the alerts that arrived (from any thread; one at a time)."""
        if self.done or not self._lock.acquire(blocking=False):
            return
        try:
            while not self.done and self._req.Test(self._status):
                src, n = self._status.Get_source(), self._status.Get_count(self.MPI.BYTE)
                kind, text = int(self._buf[0]), bytes(self._buf[1:n]).decode(errors="replace")
                self._req = self._comm.Irecv(self._buf, self.MPI.ANY_SOURCE, _TAG)
                if kind == _EXIT:
                    self.left[src] = text
                elif kind == _DUMP:
                    self.dump(f"state requested by rank {src}: {text}")
                    self._send(src, _STATE, self.state())
                elif kind == _STATE:
                    self.replies[src] = text
            self._sends = [(r, d) for r, d in self._sends if not r.Test()]
        finally:
            self._lock.release()

    def check_peers(self, ranks: tuple, what: str) -> None:
        """Raise (and mark this rank's communicators unusable) when a rank of ``ranks`` has left the job."""
        gone = [r for r in ranks if r in self.left]
        if gone:
            how = "; ".join(f"rank {r} left the job ({self.left[r]})" for r in gone)
            msg = f"{how}, while rank {self.me} is in {what} with ranks {list(ranks)}"
            self.fail(msg)
            raise CollectiveError(msg)

    def fail(self, msg: str) -> None:
        """Mark this rank's communicators unusable and write the flight recorder."""
        if self.broken is None:
            self.broken = msg
        self.dump(msg)

    # -- waiting -------------------------------------------------------------------------------------------
    def wait(self, request: Any, what: str, ranks: tuple, timeout: float | None, status: Any = None) -> None:
        """Wait for ``request`` (already tested once by the caller) with a deadline and a growing nap."""
        start = time.perf_counter()
        self.waiting = (what, ranks, start, timeout)
        try:
            test = request.Test
            spins = 0
            while not (test(status) if status is not None else test()):
                spins += 1
                if spins & 15:
                    continue
                now = time.perf_counter()
                waited = now - start
                if waited < _SPIN:
                    continue
                if self._thread is None:
                    self.poll()
                if self.left:
                    self.check_peers(ranks, what)
                if timeout is not None and waited > timeout:
                    raise CollectiveError(self._timed_out(what, ranks, waited, timeout))
                time.sleep(min(_MAX_NAP, waited / 8))
        finally:
            self.waiting = None

    def _timed_out(self, what: str, ranks: tuple, waited: float, timeout: float) -> str:
        peers = [r for r in ranks if r != self.me and r not in self.left]
        for r in peers:
            self.replies.pop(r, None)
            self._send(r, _DUMP, f"{what} timed out on rank {self.me}")
        deadline = time.perf_counter() + _REPLY_WAIT
        while time.perf_counter() < deadline and any(r not in self.replies for r in peers):
            self.poll()
            time.sleep(0.01)
        states = "; ".join(f"rank {r} is {self.replies.get(r, 'not answering (busy inside MPI or gone)')}"
                           for r in peers)
        msg = (f"{what} timed out on rank {self.me} after {waited:.1f} s (timeout {timeout:g} s) on ranks "
               f"{list(ranks)}: not every rank joined it; {states}")
        self.fail(msg)
        return msg

    # -- the watchdog thread -------------------------------------------------------------------------------
    def _watchdog(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.poll()
                waiting = self.waiting
                if waiting is not None and waiting[3] is not None:
                    what, ranks, start, timeout = waiting
                    if time.perf_counter() - start > timeout + _STUCK_GRACE:
                        self.fail(f"{what} has been stuck inside MPI for more than its timeout ({timeout:g} s): "
                                  f"aborting all ranks (MPI_Abort)")
                        self.abort(1, "MPI_Abort: stuck inside MPI")
            except Exception:  # MPI finalized under us: stop quietly
                return

    # -- leaving the job -----------------------------------------------------------------------------------
    def _install_exit_hooks(self) -> None:
        atexit.register(self.leave)
        real_exit, real_os_exit = sys.exit, os._exit
        watch = self

        def exit(status: Any = None) -> None:  # noqa: A001 (sys.exit's name)
            if threading.current_thread() is threading.main_thread() and os.getpid() == watch.pid:
                watch.how = f"sys.exit({status!r})" if status is not None else "sys.exit()"
            real_exit(status)

        def _exit(status: int) -> None:
            if os.getpid() == watch.pid:
                watch.how = f"os._exit({status})"
                watch.leave()
            real_os_exit(status)

        exit.__doc__, _exit.__doc__ = real_exit.__doc__, real_os_exit.__doc__
        sys.exit, os._exit = exit, _exit
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGUSR1"):
            previous = signal.getsignal(signal.SIGUSR1)
            if previous in (signal.SIG_DFL, None):
                signal.signal(signal.SIGUSR1, lambda signum, frame: self.dump("flight recorder (SIGUSR1)"))

    def leave(self, finish: Callable[[], None] | None = None) -> None:
        """Tell the other ranks that this one leaves, and wait until they all do (or the job is aborted).
        Runs once, at exit; a rank whose communicators are unusable aborts the job instead."""
        if os.getpid() != self.pid:
            return
        mpi_sentinel.announce(self._note, self.how or "leaving")
        if self.done or self.MPI.Is_finalized():
            return
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        if self.size > 1:
            how = self.how or "end of the script or SystemExit"
            last = f"; its last collective: {_fmt_record(self.records[-1], time.perf_counter())}" \
                if self.records else ""
            for r in range(self.size):
                if r != self.me:
                    self._send(r, _EXIT, f"{how}, after {self.total} collectives{last}")
            # after an error, give the other ranks a moment to report theirs before the abort
            deadline = time.perf_counter() + (_REPLY_WAIT if self.broken is not None else float("inf"))
            nap = 1e-4
            while any(r not in self.left for r in range(self.size) if r != self.me) \
                    and time.perf_counter() < deadline:
                self.poll()
                time.sleep(nap)
                nap = min(_MAX_NAP, nap * 1.5)
        if self.broken is not None:
            sys.stderr.write(f"[rank {self.me}] leaving after a collective error: aborting all ranks (MPI_Abort)\n")
            sys.stderr.flush()
            self.abort(1, "MPI_Abort after a collective error")
        if self.size > 1:
            self.MPI.Request.Waitall([r for r, _ in self._sends])
        self.done = True
        self._req.Cancel()
        self._req.Wait()
        self._comm.Free()


    def abort(self, code: int, how: str = "MPI_Abort") -> None:
        """``MPI_Abort`` of the whole job, after telling this rank's exit watcher that the end is reported."""
        mpi_sentinel.announce(self._note, how)
        abort_job(self.MPI, code)


_watch: list[Watch] = []


def abort_job(MPI: Any, code: int) -> None:
    """``MPI_Abort`` of COMM_WORLD that never returns: MPICH's can return while the launcher is still tearing the
    job down, and the caller must not go on (into a collective or MPI_Finalize) meanwhile."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or broken stream: nothing more to say
            pass
    # the launcher kills every rank on the abort and may drop what it has not yet read from their pipes (seen once
    # under load: the aborting rank's whole report was missing); give it a moment to forward the report first
    time.sleep(0.2)
    MPI.COMM_WORLD.Abort(code)
    time.sleep(10)  # the launcher's kill normally arrives within milliseconds
    os._exit(code)


def announce_abort(how: str = "MPI_Abort") -> None:
    """Before an ``MPI_Abort`` outside this module: tell this rank's exit watcher (if any) to stay silent."""
    if _watch:
        mpi_sentinel.announce(_watch[0]._note, how)


def get_watch(MPI: Any) -> Watch:  # noqa: N803
    """The process's Watch (made on first use)."""
    if not _watch:
        _watch.append(Watch(MPI))
    return _watch[0]
