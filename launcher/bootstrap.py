"""Per-rank bootstrap: ``mpiexec -n N python -m disttorch.launcher.bootstrap train.py args...``.

MPI (or SLURM) assigns the ranks, so torchrun's variables cannot be set by the launcher; this small
program runs first in every rank and

1. reads the rank layout from whichever launcher started it (Open MPI's ``OMPI_COMM_WORLD_*``, Hydra's
   ``PMI_RANK``/``PMI_SIZE``/``MPI_LOCALRANKID``/``MPI_LOCALNRANKS`` (MPICH, Intel MPI), SLURM's
   ``SLURM_PROCID``/``SLURM_LOCALID``/..., or ``RANK``/``WORLD_SIZE`` already set) and exports
   ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE`` and ``DISTTORCH_RESTART_COUNT``;
2. prefixes every line the rank writes with ``[rank N] `` (a forked helper reads the rank's stdout and
   stderr through pipes; ``DISTTORCH_PREFIX_OUTPUT=0`` turns this off);
3. selects the cuda device ``LOCAL_RANK % device_count`` when cupy is installed, before the script runs;
4. runs the script (or ``-m module``) as ``__main__`` in this process, so MPI sees the script itself;
5. on an uncaught exception or a non-zero exit, prints the traceback under the rank's prefix and, when
   the script initialised MPI through mpi4py, calls ``MPI_Abort`` so no other rank is left blocked in a
   collective. Otherwise it exits with the code and the launcher (``disttorchrun``) tears the job down.

When ``DISTTORCH_RUN_DIR`` is set (``disttorchrun`` sets it), small JSON records of the rank's start,
exit code (``os._exit`` included), traceback tail and end are written there for the launcher's failure
report. The end of a rank is its process ending (the prefixing helper watches its parent), never its output
streams closing: a rank that redirects its own stdout/stderr (``os.dup2``) is not taken for dead. An
exception in any of the rank's threads is printed with the rank's number (``threading.excepthook``) and
becomes the traceback of the failure report if the rank then fails.

This file uses the standard library and, to select the device where cupy is installed, disttorch's cuda
backend (``disttorch.backends``) only: nothing of the framework (the Tensor) is initialised before the
script runs. It can also be run by path.
"""
from __future__ import annotations

import importlib.util
import json
import os
import runpy
import select
import selectors
import signal
import socket
import sys
import threading
import time
import traceback

from disttorch.launcher.env import export_torchrun_env, rank_layout  # noqa: F401 (rank_layout: for tests)

USAGE = "usage: python -m disttorch.launcher.bootstrap [-m module | --no-python program | script.py] [args...]"
PREFIX_FORMAT = "[rank {}] "
TRACEBACK_TAIL = 30


# -- records for the launcher ---------------------------------------------------------------------
def write_record(kind: str, rank: int, data: dict) -> None:
    """Atomically write ``<run dir>/rank_<rank>.<kind>.json``; silently nothing without a run dir."""
    run_dir = os.environ.get("DISTTORCH_RUN_DIR")
    if not run_dir:
        return
    try:  # the launcher creates the directory (and removes it at the end): never re-create it here
        path = os.path.join(run_dir, f"rank_{rank}.{kind}.json")
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as fh:
            json.dump({"rank": rank, "time": time.time(), **data}, fh)
        os.replace(tmp, path)
    except OSError:
        pass  # another host, or the job is over: the records are best effort


# -- line prefixing -------------------------------------------------------------------------------
WATCH_S = 0.2  # how often the prefixing helper checks whether the rank is still alive


def _tee(rank: int, sources: dict[int, int], rank_pid: int, drained: int, held: list[int]) -> None:
    """Child process: copy each pipe in ``sources`` (read fd -> destination fd) line by line, prefixed.
    Writes a byte to ``drained`` once every pipe is at its end, and the rank's "ended" record once the rank's
    process (its parent) is gone: output ending is not the rank ending (it may have redirected fds 1 and 2).
    The fds in ``held`` are closed right after that record."""
    prefix = PREFIX_FORMAT.format(rank).encode()
    sel = selectors.DefaultSelector()
    pending: dict[int, bytes] = {}
    for fd in sources:
        sel.register(fd, selectors.EVENT_READ)
        pending[fd] = b""

    def emit(dest: int, data: bytes) -> None:
        while data:
            try:
                data = data[os.write(dest, data):]
            except InterruptedError:
                continue
            except OSError:
                return  # nobody reads any more; keep draining so the rank never blocks

    def pump(timeout: float) -> bool:
        """Pass on what is there (waiting up to ``timeout``); whether anything happened."""
        events = sel.select(timeout)
        for key, _ in events:
            fd = key.fd
            try:
                chunk = os.read(fd, 65536)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            data = pending[fd] + chunk
            if not chunk:  # end of this output (the rank closed or redirected it, or it is gone)
                if data:
                    emit(sources[fd], prefix + data + b"\n")
                sel.unregister(fd)
                os.close(fd)
                if not sel.get_map():
                    try:
                        os.write(drained, b"x")
                    except OSError:
                        pass
                continue
            lines = data.split(b"\n")
            pending[fd] = lines.pop()
            if len(pending[fd]) > 65536:  # one endless line: pass it on in pieces
                lines.append(pending[fd])
                pending[fd] = b""
            if lines:
                emit(sources[fd], b"".join(prefix + line + b"\n" for line in lines))
        return bool(events)

    # the kernel signals the moment the rank dies, so the "ended" time is exact, not one poll late: the
    # launcher names the first rank to end by these times (the MPI launcher kills the others moments later)
    gone_at: list[float] = []
    signal.signal(signal.SIGUSR1, lambda *_: gone_at.append(time.time()))
    _parent_death_signal(signal.SIGUSR1)
    while os.getppid() == rank_pid:  # the rank lives (once it exits, this process is re-parented)
        if sel.get_map():
            pump(WATCH_S)
        else:
            time.sleep(WATCH_S)
    ended = gone_at[0] if gone_at else time.time()
    deadline = time.monotonic() + 0.5  # its last words first, then the record
    while sel.get_map() and pump(0.05) and time.monotonic() < deadline:
        pass
    write_record("ended", rank, {"time": ended})
    for fd in held:
        try:
            os.close(fd)
        except OSError:
            pass
    while sel.get_map():  # output still held open by processes the rank left behind
        pump(None)


def start_prefixing(rank: int) -> tuple[int, int, int] | None:
    """Route fds 1 and 2 through a forked child that prefixes every line.

    Returns the read end of the child's "drained" pipe and copies of the original fds 1 and 2 (for
    :func:`finish_prefixing`)."""
    if not hasattr(os, "fork"):
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    done_r, done_w = os.pipe()
    rank_pid = os.getpid()
    pid = os.fork()
    if pid == 0:  # the tee: ignore the job's signals (it ends when the rank's output ends)
        try:
            os.setsid()  # out of the rank's process group, which MPI may SIGKILL: the tail must get through
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
            os.close(out_w)
            os.close(err_w)
            # The saved copies of fds 1 and 2 go now. What else the rank had at this point (the MPI launcher's
            # sockets: PMI) is held until the rank's "ended" record is written: the MPI launcher (MPICH's
            # hydra) sees a rank gone when those close, and only then tears the others down, so the first
            # rank to end also writes the first "ended" record.
            for fd in saved:
                os.close(fd)
            held = [fd for fd in _open_fds() if fd not in {0, 1, 2, out_r, err_r, done_w} and _is_open(fd)]
            _tee(rank, {out_r: 1, err_r: 2}, rank_pid, done_w, held)
        finally:
            _REAL_EXIT(0)
    os.close(out_r)
    os.close(err_r)
    os.close(done_w)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.close(out_w)
    os.close(err_w)
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    return done_r, *saved


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def _open_fds() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 256))


def finish_prefixing(tee: tuple[int, int, int] | None, wait_s: float = 5.0) -> None:
    """Close the rank's ends of the pipes, let the tee drain them, and give fds 1 and 2 back (so what
    interpreter shutdown or MPI_Finalize may still print is not lost, just not prefixed)."""
    if tee is None:
        return
    drained, out, err = tee
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.close(out)
    os.close(err)
    # wait (a while) until the tee has passed everything on; output held open by a still-running child of the
    # script must not block us
    try:
        select.select([drained], [], [], wait_s)
        os.close(drained)
    except (OSError, ValueError):
        pass


# -- the rank's environment -----------------------------------------------------------------------
def _parent_death_signal(sig: int) -> bool | None:
    """Ask Linux to send ``sig`` to this process when its parent dies: True when asked, False when the parent
    is already gone, None where this cannot be asked."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        parent = os.getppid()
        ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG
        return os.getppid() == parent  # else the parent died before prctl took effect
    except (OSError, AttributeError):
        return None


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this rank when the process that started it (MPI's proxy) dies: no orphans."""
    if _parent_death_signal(signal.SIGKILL) is False:
        os._exit(1)


def cuda_device_count() -> int:
    """Visible cuda devices, asked through disttorch's cuda backend (0 without cupy, a driver or a GPU)."""
    if importlib.util.find_spec("cupy") is None:  # a cpu-only install: not even numpy gets imported
        return 0
    from disttorch.backends import get_backend

    return get_backend("cuda").device_count()


def select_cuda_device(local_rank: int) -> None:
    """Make ``LOCAL_RANK % device_count`` the current cuda device when a GPU is usable."""
    if os.environ.get("DISTTORCH_SELECT_DEVICE", "1") == "0":
        return
    count = cuda_device_count()
    if count > 0:
        from disttorch.backends import get_backend

        get_backend("cuda").set_device(local_rank % count)


# -- failure handling -----------------------------------------------------------------------------
def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else (256 + code) & 0xFF
    print(code, file=sys.stderr)
    return 1


def _script_traceback(exc: BaseException) -> list[str]:
    """Traceback lines without the bootstrap's and runpy's own frames."""
    tb = exc.__traceback__
    own = (__file__, runpy.__file__, "<frozen runpy>")
    while tb is not None and tb.tb_frame.f_code.co_filename in own:
        tb = tb.tb_next
    return traceback.format_exception(type(exc), exc, tb)


def mpi_abort(code: int) -> None:
    """``MPI_Abort`` on COMM_WORLD if the script initialised MPI through mpi4py (never initialise it here:
    MPI_Init waits for every rank, and a rank that never calls it would hang this one)."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is None:
        return
    try:
        if mpi.Is_initialized() and not mpi.Is_finalized() and mpi.COMM_WORLD.Get_size() > 1:
            sys.stdout.flush()
            sys.stderr.flush()
            mpi.COMM_WORLD.Abort(code or 1)
            time.sleep(10)  # MPICH's Abort can return while the job is torn down: never go on meanwhile
            _REAL_EXIT(code or 1)
    except Exception:
        pass


_REAL_EXIT = os._exit
_THREAD_ERRORS: list[str] = []  # the traceback of the first uncaught exception in a thread other than main


def record_os_exit(rank: int) -> None:
    """Make ``os._exit(code)`` of the script write the rank's exit record first, so the launcher reports
    the code the rank chose, not the signal that later tore the job down. (Forked children of the rank
    pass straight through.)"""
    rank_pid = os.getpid()

    def _exit(code: int) -> None:
        if os.getpid() == rank_pid:
            try:
                value = int(code) & 0xFF
                write_record("exit", rank, {"code": value, "error": _THREAD_ERRORS[-TRACEBACK_TAIL:],
                                            "interrupted": False, "how": "os._exit"})
            except Exception:
                pass
        _REAL_EXIT(code)

    os._exit = _exit


def report_thread_exceptions(rank: int) -> None:
    """``threading.excepthook``: print an uncaught exception of a thread with the rank's number and keep
    its traceback for the failure report."""
    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        lines = traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
        if not _THREAD_ERRORS:
            _THREAD_ERRORS.extend([f"uncaught exception in thread {name!r}:", *"".join(lines).splitlines()])
        try:
            sys.stderr.write(f"rank {rank}: uncaught exception in thread {name!r}:\n" + "".join(lines))
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass

    threading.excepthook = hook


def run_target(argv: list[str]) -> None:
    """Run ``script.py args`` or ``-m module args`` as ``__main__`` with ``sys.argv`` set as Python would."""
    if argv[0] == "--no-python":  # torchrun's --no-python: an executable; it inherits MPI's fds (PMI_FD)
        import subprocess

        if len(argv) < 2:
            raise SystemExit(USAGE)
        raise SystemExit(subprocess.call(argv[1:], close_fds=False))
    if argv[0] == "-m":
        if len(argv) < 2:
            raise SystemExit(USAGE)
        sys.argv = [argv[1], *argv[2:]]
        sys.path[0] = os.getcwd()
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(argv)
        sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
        runpy.run_path(argv[0], run_name="__main__")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE + "\n\n" + __doc__.split("\n\n")[1], file=sys.stderr)
        return 0 if argv else 2
    if argv[0] == "--":
        argv = argv[1:]
    rank, _size, local_rank, _local_size = export_torchrun_env()
    if os.environ.get("DISTTORCH_LAUNCHER"):
        die_with_parent()
    tee = start_prefixing(rank) if os.environ.get("DISTTORCH_PREFIX_OUTPUT", "1") != "0" else None
    if tee is not None:
        os.environ["DISTTORCH_OUTPUT_PREFIXED"] = "1"  # for code that would add "[rank N] " itself
    write_record("start", rank, {"pid": os.getpid(), "host": socket.gethostname()})
    record_os_exit(rank)
    report_thread_exceptions(rank)
    select_cuda_device(local_rank)
    code, error = 0, []
    who = "" if tee is not None else f"rank {rank} "  # the prefix says which rank already
    try:
        run_target(argv)
    except SystemExit as exc:
        code = _exit_code(exc)
    except KeyboardInterrupt:
        code, error = 130, ["KeyboardInterrupt\n"]
        print(f"{who}interrupted", file=sys.stderr)
    except BaseException as exc:
        code, error = 1, _script_traceback(exc)
        sys.stderr.write(f"{who}failed with an uncaught exception:\n" + "".join(error))
    lines = ("".join(error).splitlines() or (_THREAD_ERRORS if code not in (0, 130) else []))[-TRACEBACK_TAIL:]
    write_record("exit", rank, {"code": code, "error": lines, "interrupted": code == 130 and bool(error)})
    if code not in (0, 130) and "mpi4py.MPI" in sys.modules:
        # MPI_Abort makes the MPI launcher stop reading at once: pass on what the rank printed first
        finish_prefixing(tee, wait_s=1.0)
        tee = None
        mpi_abort(code)
    import atexit

    atexit.register(finish_prefixing, tee)  # registered last, so it runs first: before mpi4py finalizes
    return code


if __name__ == "__main__":
    sys.exit(main())
