"""Running a job: start the MPI launcher in its own session, route the ranks' prefixed output (console and
per-rank log files), tear the job down when one rank fails or a signal arrives, report the failing rank,
and relaunch up to ``--max-restarts`` times."""
from __future__ import annotations

import collections
import json
import os
import re
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from . import mpi
from .cli import Job

PREFIX = re.compile(rb"^\[rank (\d+)\] ")
SIGNAL_TEXT = re.compile(r"signal:? (\d+)", re.IGNORECASE)
TAIL_LINES = 20
POLL_S = 0.1
TEARDOWN_AFTER_FAILURE_S = 1.0  # a rank failed but MPI keeps the job alive (it never called MPI_Abort)
KILL_GRACE_S = 5.0  # after SIGINT/SIGTERM to the MPI launcher, SIGKILL what is left


def say(message: str) -> None:
    sys.stderr.write(f"disttorchrun: {message}\n")
    sys.stderr.flush()


@dataclass
class Failure:
    rank: int | None
    code: int
    summary: str
    lines: list[str]


# -- processes ------------------------------------------------------------------------------------
def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = collections.defaultdict(list)
    try:
        names = os.listdir("/proc")
    except OSError:
        return children
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
        children[ppid].append(int(name))
    return children


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc); MPI puts ranks in sessions of their own, so process groups
    are not enough."""
    children, found, todo = _children_map(), [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _is_our_rank(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"bootstrap" in fh.read()
    except OSError:
        return False


def _kill(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _die_with_launcher(sig: int):
    """preexec_fn: if disttorchrun itself is killed, the MPI launcher gets ``sig`` (Linux PR_SET_PDEATHSIG).
    SIGKILL for mpiexec (its proxies then end the ranks even if they ignore SIGTERM), SIGTERM for srun
    (which then cancels the job step)."""
    def preexec() -> None:
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                ctypes.CDLL(None).prctl(1, sig)
            except (OSError, AttributeError):
                pass
    return preexec


_LOG_PROBLEMS_SAID: set[str | None] = set()


def _close_quietly(fh: object) -> None:
    try:
        fh.close()  # type: ignore[attr-defined]
    except OSError:
        pass


def private_run_root() -> str:
    """A new directory for the ranks' records that only this user can enter (``tempfile.mkdtemp``: a random
    name, mode 0700), checked to be a real directory owned by us: no other local user can plant records
    that would make the launcher tear a job down."""
    root = tempfile.mkdtemp(prefix="disttorchrun-")
    st = os.lstat(root)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"the run directory {root} is not a private directory of this user "
                           f"(mode {stat.filemode(st.st_mode)}, owner uid {st.st_uid})")
    return root


# -- records written by the bootstrap -------------------------------------------------------------
def read_records(run_dir: str) -> dict[str, dict[int, dict]]:
    records: dict[str, dict[int, dict]] = {"start": {}, "exit": {}, "ended": {}}
    try:
        names = os.listdir(run_dir)
    except OSError:
        return records
    for name in names:
        m = re.fullmatch(r"rank_(\d+)\.(start|exit|ended)\.json", name)
        if not m:
            continue
        try:
            with open(os.path.join(run_dir, name)) as fh:
                records[m.group(2)][int(m.group(1))] = json.load(fh)
        except (OSError, ValueError):
            continue
    return records


def failed_ranks(records: dict[str, dict[int, dict]]) -> list[int]:
    """Ranks that exited with a non-zero code, or whose process ended without an exit record (killed). A rank
    whose output streams closed is not one of them (it may have redirected its stdout/stderr)."""
    bad = [r for r, rec in records["exit"].items() if rec.get("code")]
    bad += [r for r in records["ended"] if r not in records["exit"]]
    return bad


def signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


# -- one attempt ----------------------------------------------------------------------------------
class Attempt:
    def __init__(self, job: Job, number: int) -> None:
        self.job, self.number = job, number
        self.env = job.env_for(number)
        self.run_dir = self.env["DISTTORCH_RUN_DIR"]
        self.cmd = job.command(number)
        self.tails: dict[int, collections.deque] = collections.defaultdict(lambda: collections.deque(maxlen=TAIL_LINES))
        self.launcher_lines: collections.deque = collections.deque(maxlen=200)
        self.files: dict[tuple[int, str], object] = {}
        self.broken_logs: set[tuple[int, str]] = set()
        self.pending = {"stdout": b"", "stderr": b""}
        self.log_root = os.path.join(job.log_dir, f"attempt_{number}") if job.log_dir else None
        self.signal_received: int | None = None
        self.failure_seen_at: float | None = None
        self.kill_at: float | None = None
        self.stopping = False
        self.scratch_files: set[str] = set()  # MPICH's proxies' topology files in /tmp: deleted at the end
        self.scratch_complete = False
        self.next_scratch_scan = self.started_at = 0.0

    # output ----------------------------------------------------------------------------------
    def _console(self, stream: str, data: bytes) -> None:
        out = sys.stdout if stream == "stdout" else sys.stderr
        out.buffer.write(data)
        out.flush()

    def _log(self, rank: int, stream: str, data: bytes) -> bool:
        """Append to the rank's log file; False (said once per job) when that fails: a full or failing disk
        must not stop the launcher, or the job."""
        key = (rank, stream)
        if key in self.broken_logs:
            return False
        try:
            fh = self.files.get(key)
            if fh is None:
                folder = os.path.join(self.log_root, str(rank))
                os.makedirs(folder, exist_ok=True)
                fh = self.files[key] = open(os.path.join(folder, f"{stream}.log"), "ab")
            fh.write(data)
            fh.flush()
            return True
        except OSError as exc:
            self.broken_logs.add(key)
            fh = self.files.pop(key, None)
            if fh is not None:
                _close_quietly(fh)
            if self.job.log_dir not in _LOG_PROBLEMS_SAID:
                _LOG_PROBLEMS_SAID.add(self.job.log_dir)
                say(f"cannot write the log of rank {rank} ({stream}) under {self.log_root}: {exc}; the job goes on, "
                    "and the output that cannot be logged goes to this console instead")
            return False

    def _line(self, stream: str, line: bytes) -> None:
        m = PREFIX.match(line)
        if m is None:  # the MPI launcher's own messages
            self.launcher_lines.append(line.decode(errors="replace").rstrip("\n"))
            self._console(stream, line)
            return
        rank, body = int(m.group(1)), line[m.end():]
        self.tails[rank].append(body.decode(errors="replace").rstrip("\n"))
        bit = 1 if stream == "stdout" else 2
        logged = True
        if self.log_root is not None and self.job.file_streams(rank) & bit:
            logged = self._log(rank, stream, body)
        if not logged or self.job.console_streams(rank) & bit:
            self._console(stream, line)

    def make_log_folders(self, ranks) -> None:
        """Every rank gets its folder and (empty) log files, also one that prints nothing."""
        if self.log_root is None:
            return
        for rank in ranks:
            try:
                os.makedirs(os.path.join(self.log_root, str(rank)), exist_ok=True)
                for bit, stream in ((1, "stdout"), (2, "stderr")):
                    if self.job.file_streams(rank) & bit:
                        open(os.path.join(self.log_root, str(rank), f"{stream}.log"), "ab").close()
            except OSError:
                pass  # reported by _log when the rank's first line cannot be written

    def _feed(self, stream: str, chunk: bytes) -> None:
        data = self.pending[stream] + chunk
        if not chunk:
            if data:
                self._line(stream, data if data.endswith(b"\n") else data + b"\n")
            self.pending[stream] = b""
            return
        *lines, self.pending[stream] = data.split(b"\n")
        for line in lines:
            self._line(stream, line + b"\n")

    # signals and teardown ---------------------------------------------------------------------
    def on_signal(self, signum: int, _frame: object) -> None:
        if self.signal_received is not None:  # a second Ctrl-C: no more waiting
            self.kill_at = time.monotonic()
            return
        self.signal_received = signum
        self.stop(signum)

    def stop(self, signum: int) -> None:
        """Ask the MPI launcher to stop the job (it forwards to the ranks), SIGKILL everything after a grace."""
        if self.stopping:
            return
        self.stopping = True
        if self.job.kind == mpi.SRUN and signum == signal.SIGINT:
            signum = signal.SIGTERM  # srun's first SIGINT only prints the job state
        _kill([self.proc.pid], signum)
        self.kill_at = time.monotonic() + KILL_GRACE_S

    def kill_everything(self) -> None:
        pids = descendants(self.proc.pid)
        self._note_scratch(pids)
        pids += [r["pid"] for r in read_records(self.run_dir)["start"].values()
                 if r.get("pid") not in pids and _is_our_rank(r.get("pid", -1))]
        _kill([self.proc.pid, *pids], signal.SIGKILL)

    def _watch(self) -> None:
        now = time.monotonic()
        if self.kill_at is not None and now >= self.kill_at:
            self.kill_at = None
            self.kill_everything()
            return
        if self.job.kind == mpi.MPICH and not self.scratch_complete and now >= self.next_scratch_scan:
            self.next_scratch_scan = now + (POLL_S if now - self.started_at < 30 else 1.0)
            self._note_scratch(descendants(self.proc.pid))
        if self.stopping:
            return
        if self.failure_seen_at is None:
            if failed_ranks(read_records(self.run_dir)):
                self.failure_seen_at = now
        elif now - self.failure_seen_at >= TEARDOWN_AFTER_FAILURE_S:
            self.stop(signal.SIGTERM)

    def _note_scratch(self, pids: list[int]) -> None:
        files = mpi.proxy_scratch_files(pids)
        for names in files.values():
            self.scratch_files.update(names)
        self.scratch_complete = bool(files) and all(files.values())  # each proxy has made its file

    # the run ----------------------------------------------------------------------------------
    def run(self) -> int:
        shutil.rmtree(self.run_dir, ignore_errors=True)
        os.mkdir(self.run_dir, 0o700)
        self.make_log_folders(range(self.job.nprocs or 0))
        self.started_at = time.monotonic()
        scratch_before = mpi.scratch_snapshot() if self.job.kind == mpi.MPICH else None
        env = dict(os.environ)
        env.update(self.env)
        self.proc = subprocess.Popen(self.cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True,
                                     preexec_fn=_die_with_launcher(signal.SIGTERM if self.job.kind == mpi.SRUN
                                                                   else signal.SIGKILL))
        handlers = {sig: signal.signal(sig, self.on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            self._pump()
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            for fh in self.files.values():
                _close_quietly(fh)
            self.make_log_folders(read_records(self.run_dir)["start"])
            if scratch_before is not None:
                self.scratch_files |= mpi.orphaned_scratch_files(scratch_before, self.proc.pid)
            mpi.remove_scratch_files(self.scratch_files)
        return self.proc.returncode

    def _pump(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ, "stdout")
        sel.register(self.proc.stderr, selectors.EVENT_READ, "stderr")
        exited_at = None
        while sel.get_map():
            for key, _ in sel.select(POLL_S):
                chunk = os.read(key.fileobj.fileno(), 65536)
                self._feed(key.data, chunk)
                if not chunk:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
            self._watch()
            if exited_at is None and self.proc.poll() is not None:
                exited_at = time.monotonic()
            if exited_at is not None and time.monotonic() - exited_at > 2.0:
                # the launcher is gone but something still holds its output open: a rank it left behind
                self.kill_everything()
                for key in list(sel.get_map().values()):
                    self._feed(key.data, b"")
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
        while True:
            try:
                self.proc.wait(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                self._watch()
        leftovers = [r["pid"] for r in read_records(self.run_dir)["start"].values() if _is_our_rank(r.get("pid", -1))]
        _kill(leftovers, signal.SIGKILL)  # ranks of this job whose MPI launcher did not take them along

    # what went wrong --------------------------------------------------------------------------
    def failure(self, returncode: int) -> Failure | None:
        records = read_records(self.run_dir)
        exits = records["exit"]
        errors = [(rec["time"], r) for r, rec in exits.items() if rec.get("code") and not rec.get("interrupted")]
        errors = errors or [(rec["time"], r) for r, rec in exits.items() if rec.get("code")]
        if errors:
            rank = min(errors)[1]
            rec = exits[rank]
            lines = rec.get("error") or list(self.tails[rank])
            what = "traceback" if rec.get("error") else "output"
            where = self._where(records, rank)
            how = f" (it called {rec['how']}({rec['code']}))" if rec.get("how") else ""
            return Failure(rank, rec["code"], f"rank {rank}{where} failed with exit code {rec['code']}{how}; "
                                               f"last lines of its {what}:", lines[-TAIL_LINES:] or ["(no output)"])
        vanished = [(rec["time"], r) for r, rec in records["ended"].items() if r not in exits]
        if self.job.kind == mpi.LOCAL and returncode < 0:
            vanished = vanished or [(0.0, 0)]
        if vanished or returncode != 0:
            rank = min(vanished)[1] if vanished else None
            sig = -returncode if returncode < 0 else self._signal_from_launcher()
            code = 128 + sig if sig else (returncode if returncode > 0 else 1)
            if sig:
                how = f"was killed by {signal_name(sig)} (no Python exception)"
            elif rank is not None:
                how = (f"ended without reporting an exit code (killed, or it called os._exit); "
                       f"the MPI launcher exited with {code}")
            else:
                how = f"ended with exit code {code}"
            who = f"rank {rank}{self._where(records, rank)}" if rank is not None else "the job"
            if vanished and rank is not None:
                # ranks the MPI launcher kills while tearing the job down end within moments of the first;
                # which of them ended first can then not be told apart reliably
                first = min(vanished)[0]
                close = sorted(r for t, r in vanished if r != rank and t - first < 1.0)
                if close:
                    how += (f" (rank(s) {', '.join(map(str, close))} ended within 1 s of it: the first to fail "
                            "is one of these)")
            lines = list(self.tails[rank]) if rank is not None else list(self.launcher_lines)[-TAIL_LINES:]
            return Failure(rank, code, f"{who} {how}; last lines of its output:", lines or ["(no output)"])
        return None

    @staticmethod
    def _where(records: dict, rank: int | None) -> str:
        start = records["start"].get(rank)
        return f" (pid {start['pid']} on {start['host']})" if start else ""

    def _signal_from_launcher(self) -> int | None:
        for line in reversed(self.launcher_lines):
            m = SIGNAL_TEXT.search(line)
            if m:
                return int(m.group(1))
        return None


def run_job(job: Job) -> int:
    if job.log_dir:
        say(f"rank output goes to {os.path.abspath(job.log_dir)}/attempt_<k>/<rank>/{{stdout,stderr}}.log")
    code = 0
    try:
        job.run_root = private_run_root()
    except (OSError, RuntimeError) as exc:
        say(f"error: cannot make a private run directory: {exc}")
        return 1
    try:
        for number in range(job.max_restarts + 1):
            attempt = Attempt(job, number)
            returncode = attempt.run()
            if attempt.signal_received is not None:
                say(f"stopped by {signal_name(attempt.signal_received)}")
                return 128 + attempt.signal_received
            failure = attempt.failure(returncode)
            if failure is None:
                return 0
            code = failure.code
            say(failure.summary)
            for line in failure.lines:
                sys.stderr.write(f"    {line}\n")
            if number < job.max_restarts:
                say(f"restarting the job: restart {number + 1} of {job.max_restarts} "
                    f"(DISTTORCH_RESTART_COUNT={number + 1})")
        say(f"giving up after {job.max_restarts + 1} attempts" if job.max_restarts else f"job failed (exit {code})")
        return code
    finally:
        shutil.rmtree(job.run_root, ignore_errors=True)
