"""Atomic writes (temporary file + rename), cleanup of temporaries left by interrupted saves, and
opening a checkpoint for reading."""
from __future__ import annotations

import io
import os
import re
import secrets
import socket
import time
import zipfile
from typing import IO, Any, Callable

# temporaries are named ".<target>.<host>-<pid>.<random>.tmp" so that a later save can tell
# whether the process that made one is gone
_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:32] or "host"
_STALE_AFTER_S = 24 * 3600  # a temporary from another host is only removed once it is this old


def _is_path(f: Any) -> bool:
    return isinstance(f, (str, bytes, os.PathLike))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _start_time(pid: int) -> float | None:
    """When process ``pid`` started (Linux /proc), or None where that cannot be told."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            ticks = int(fh.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/stat", "rb") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith(b"btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


_PROCESS_STARTED = _start_time(os.getpid()) or time.time()


def _started_after(pid: int, when: float) -> bool:
    """Whether process ``pid`` started after time ``when``: then a file last written at ``when`` under its
    pid is not its own (the pid was reused)."""
    started = _start_time(pid)
    return started is not None and started > when + 1.0


def remove_stale_temporaries(path: str) -> None:
    """Remove the temporaries of interrupted saves to ``path``: those from this host whose process has
    ended, and those from other hosts older than a day (a save in progress elsewhere is left alone)."""
    directory, base = os.path.split(os.path.abspath(path))
    remove_stale_temporaries_in(directory, re.escape(base))


def remove_stale_temporaries_in(directory: str, base_pattern: str) -> list[str]:
    """:func:`remove_stale_temporaries` for every target in ``directory`` whose name matches the regular
    expression ``base_pattern`` (a checkpointer's ``<prefix>_<step>.pt``: an interrupted save of step 50 is
    cleaned by the save of step 60). Returns the names removed."""
    pattern = re.compile(r"\.(?:" + base_pattern + r")\.([A-Za-z0-9_-]+)-(\d+)\.[0-9a-f]+\.tmp")
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    now, removed = time.time(), []
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if m is None:
            continue
        host, pid = m.group(1), int(m.group(2))
        try:
            mtime = entry.stat(follow_symlinks=False).st_mtime
            if host == _HOST:
                if pid == os.getpid():  # ours only if written since this process started
                    stale = mtime < _PROCESS_STARTED - 1.0
                else:
                    stale = not _pid_alive(pid) or _started_after(pid, mtime)
            else:
                stale = now - mtime > _STALE_AFTER_S
            if stale:
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            pass
    return removed


def _atomic_write(path: Any, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(fh)`` on a temporary file next to ``path``, fsync it, then rename it over ``path``.
    On any error the temporary file is removed and ``path`` is left as it was. Temporaries left behind
    by saves that were killed midway are removed."""
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if os.path.islink(path):  # write through the link, as open() would
        path = os.path.realpath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {directory} does not exist.")
    remove_stale_temporaries(path)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{_HOST}-{os.getpid()}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def describe(f: Any) -> str:
    if _is_path(f):
        return repr(os.fsdecode(f))
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, str) else "the given file object"


def corrupted(f: Any, reason: str) -> RuntimeError:
    return RuntimeError(f"disttorch.load: {describe(f)} is not a disttorch checkpoint (or is corrupted): {reason}")


def open_zip(f: Any) -> tuple[zipfile.ZipFile, Any]:
    """Open ``f`` as a zip archive; returns the archive and a file handle to close afterwards (or None)."""
    if _is_path(f):
        fh: Any = open(f, "rb")
        close = fh
    else:
        if not hasattr(f, "read"):
            raise TypeError(f"disttorch.load: expected a path or a binary file object, got {type(f).__name__}")
        fh, close = f, None
        if not (hasattr(f, "seekable") and f.seekable()):
            fh = io.BytesIO(f.read())
    try:
        head = fh.read(4)
        if isinstance(head, str):
            raise TypeError("disttorch.load: the file object must be opened in binary mode ('rb')")
        fh.seek(-len(head), io.SEEK_CUR)
        if head[:1] == b"\x80":
            raise corrupted(f, "it looks like a bare pickle file (PyTorch's legacy format before 1.6), which is "
                               "not read; save it again with a current torch.save")
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise corrupted(f, f"not a readable zip archive ({exc})") from None
        try:
            check_entries(f, zf, fh)
        except BaseException:
            zf.close()
            raise
        return zf, close
    except BaseException:
        if close is not None:
            close.close()
        raise


_METHODS = {zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}


def check_entries(f: Any, zf: zipfile.ZipFile, fh: Any) -> None:
    """Refuse compressed entries (neither torch.save nor disttorch.save compresses; inflating would let a
    small file claim any amount of memory) and entries whose recorded size runs past the end of the file,
    before anything is read."""
    where = fh.tell()
    size = fh.seek(0, io.SEEK_END)
    fh.seek(where)
    for info in zf.infolist():
        if info.compress_type != zipfile.ZIP_STORED:
            method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
            raise corrupted(f, f"entry {info.filename} is compressed ({method}); neither torch.save nor "
                               "disttorch.save compresses, so the archive was repacked: store it uncompressed "
                               "(zip -0) to load it")
        if info.file_size != info.compress_size or info.header_offset + info.compress_size > size:
            raise corrupted(f, f"entry {info.filename} claims {info.file_size} bytes at offset {info.header_offset} "
                               f"of a {size}-byte file")


def read_entry_into(zf: zipfile.ZipFile, name: str, out: Any) -> None:
    """Read the stored entry ``name`` into ``out`` (a contiguous numpy array of exactly its size), in
    pieces (4 MiB), so that loading needs no second copy of a storage."""
    view = memoryview(out.reshape(-1).view("u1"))
    with zf.open(name) as src:
        done = 0
        while done < len(view):
            chunk = src.read(min(1 << 22, len(view) - done))
            if not chunk:
                raise EOFError(f"entry {name} ends after {done} of {len(view)} bytes")
            view[done:done + len(chunk)] = chunk
            done += len(chunk)
