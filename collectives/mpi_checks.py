"""Argument checks and deadlines of :class:`~disttorch.collectives.mpi.MPICommunicator`.

Before every collective the ranks check that they run the same one: each fills a fixed 8-number int64
fingerprint (sequence number, collective, dtype, shape, reduce op, root, element count, rank count) and the
ranks reduce ``[fingerprint, -fingerprint]`` with ``MIN`` in one small nonblocking all-reduce on a communicator
of their own. The result equals a rank's own buffer exactly when every rank sent the same fingerprint (a
minimum and a negated maximum), so every rank learns the same answer; on a mismatch they all-gather readable
fingerprints and raise :class:`CollectiveError` naming the ranks and what differs. In debug mode
(``DISTTORCH_DEBUG=DETAIL``) the readable fingerprints are compared before every collective.

The check is polled with the group's timeout (:meth:`Watch.wait`): a rank that never comes, or left the job,
turns into an error there, before any payload moved. Once it passed, every rank is in the same collective
with matching arguments, so the payload runs as MPI's blocking call.
"""
from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from .base import CollectiveError, ReduceOp
from .mpi_watch import Watch, args_text

_FP_BYTES = 256  # bytes per rank of a readable fingerprint
_FP_LEN = 8  # int64 numbers of a compact fingerprint
_FIELDS = ("sequence number", "collective", "dtype", "shape", "op", "root", "shape", "group size")
_DIFFERING = ("dtype", "shape", "op", "root", "sequence number")
_OP_CODES = {op: i + 1 for i, op in enumerate(ReduceOp)}
_codes: dict = {}


def _code(key: Any) -> int:
    """A number every process computes the same for a collective's name or a dtype (a CRC of its text)."""
    code = _codes.get(key)
    if code is None:
        code = _codes[key] = zlib.crc32(str(key).encode())
    return code


class ArgumentChecks:
    """Mixed into MPICommunicator, which provides ``rank``, ``size``, ``world_ranks``, ``timeout``, ``debug``,
    ``_me``, ``_ctl`` (the control communicator), ``_seq``, ``_watch``, ``_min_op`` (MPI.MIN), ``_pending`` and
    ``poll``."""

    rank: int
    size: int
    world_ranks: tuple[int, ...]
    timeout: float | None
    debug: bool
    _me: int
    _ctl: Any
    _seq: int
    _watch: Watch
    _check: tuple | None
    _pending: dict
    _rec: list | None
    _min_op: Any

    def poll(self) -> None:
        raise NotImplementedError

    def _begin(self, what: str, array: Any = None, op: ReduceOp | None = None, root: int | None = None,
               shape: bool = True) -> None:
        """Count a collective, write it into the flight recorder and start the check that every rank runs it
        with the same arguments; the caller starts its payload and then calls :meth:`_verify` (``_check``
        holds the check; None in debug mode, where the readable check already passed, and in a world of one)."""
        self._seq += 1
        self._check = None
        if self._pending:
            self.poll()  # finish earlier asynchronous collectives (AVG division, copies back)
        watch = self._watch
        if watch.broken is not None:
            raise CollectiveError(f"{what} on rank {self._me}: the communicators of this rank are unusable after "
                                  f"an earlier error: {watch.broken}")
        wroot = None if root is None else (self.world_ranks[root] if 0 <= root < self.size else root)
        dtype = None if array is None else array.dtype
        dims = None if array is None or not shape else array.shape
        args = (dtype, dims, op, wroot)
        self._rec = watch.record(self._seq, what, args, self.world_ranks)
        if self.size == 1:
            return
        if self.debug:
            self._agree(what, args)
            return
        a = self._seq
        b = _code(what)
        c = 0 if dtype is None else _code(dtype)
        d = 0 if dims is None else hash(dims)
        e = 0 if op is None else _OP_CODES[op]
        f = -1 if wroot is None else wroot
        g = 0 if dims is None else array.size
        fp = np.array((a, b, c, d, e, f, g, self.size, -a, -b, -c, -d, -e, -f, -g, -self.size), np.int64)
        out = np.empty(2 * _FP_LEN, np.int64)
        self._check = (self._ctl.Iallreduce(fp, out, self._min_op), fp, out, what, a, args, self._rec)

    def _verify(self, check: tuple) -> None:
        """Wait (with the deadline) for a check :meth:`_begin` started; raise naming the ranks that disagree.
        A mismatch found here is fatal: the ranks' payloads were already started and may not match."""
        request, fp, out, what, seq, args, rec = check
        if not request.Test():
            self._watch.wait(request, f"{what} #{seq}", self.world_ranks, self.timeout)
        if out.tobytes() != fp.tobytes():
            if rec is not None:
                rec[5] = "mismatch"
            fields = sorted({_FIELDS[i] for i in range(_FP_LEN) if out[i] != -out[i + _FP_LEN]})
            self._agree(what, args, seq)  # every rank saw the mismatch: all-gather readable fingerprints
            msg = (f"Detected mismatch between collectives on ranks {list(self.world_ranks)}: rank {self._me} is "
                   f"running {what}({args_text(*args)}, sequence number={seq}) (they differ in {', '.join(fields)})")
            self._watch.fail(msg)
            raise CollectiveError(msg)

    def _agreed(self) -> None:
        """Verify the check of the collective just begun, before a payload that cannot run nonblocking."""
        check, self._check = self._check, None
        if check is not None:
            self._verify(check)

    def _wait(self, request: Any, what: str, timeout: float | None = None, status: Any = None) -> None:
        """Wait for ``request`` with the group's timeout (or ``timeout``), detecting lost peers."""
        if not (request.Test(status) if status is not None else request.Test()):
            self._watch.wait(request, what, self.world_ranks, self.timeout if timeout is None else timeout, status)

    def _agree(self, what: str, args: tuple, seq: int | None = None) -> None:
        """All-gather this collective's readable fingerprint; raise naming the ranks when they disagree."""
        dtype, dims, op, wroot = args
        fields = [what]
        if dtype is not None:
            fields.append(f"dtype={dtype}")
        if dims is not None:
            fields.append(f"shape={tuple(dims)}")
        if op is not None:
            fields.append(f"op={op.name}")
        if wroot is not None:
            fields.append(f"root={wroot}")
        seq = self._seq if seq is None else seq
        fields.append(f"sequence number={seq}")
        mine = np.zeros(_FP_BYTES, np.uint8)
        data = "\x1f".join(fields).encode()[:_FP_BYTES]
        mine[:len(data)] = np.frombuffer(data, np.uint8)
        gathered = np.empty((self.size, _FP_BYTES), np.uint8)
        request = self._ctl.Iallgather(mine, gathered)
        self._wait(request, f"{what} #{seq} (argument check)")
        prints = [bytes(row).rstrip(b"\0").decode(errors="replace") for row in gathered]
        if len(set(prints)) > 1:
            if self._rec is not None:
                self._rec[5] = "mismatch"
            msg = self._mismatch(prints)
            if self.debug:  # checked before any payload moved: the ranks may go on
                self._watch.dump(msg)
            else:
                self._watch.fail(msg)
            raise CollectiveError(msg)

    def _mismatch(self, prints: list[str]) -> str:
        groups: dict[str, list[int]] = {}
        for r, fp in enumerate(prints):
            groups.setdefault(fp, []).append(self.world_ranks[r])

        def call(fp: str) -> str:
            name, *args = fp.split("\x1f")
            return f"{name}({', '.join(args)})"

        def who(ranks: list[int]) -> str:
            return f"rank {ranks[0]}" if len(ranks) == 1 else f"ranks {', '.join(map(str, ranks))}"

        parts = [f"{who(ranks)} {'is' if len(ranks) == 1 else 'are'} running {call(fp)}"
                 for fp, ranks in groups.items()]
        split = [fp.split("\x1f") for fp in groups]
        keys = {}
        for fields in split:
            keys[fields[0]] = None
            for f in fields[1:]:
                keys.setdefault(f.split("=")[0], None)
        differ = [k for k in keys if k in _DIFFERING
                  and len({next((f for f in fs if f.startswith(k + "=")), None) for fs in split}) > 1]
        if len({fs[0] for fs in split}) > 1:
            differ.insert(0, "collective")
        return ("Detected mismatch between collectives on ranks: " + "; but ".join(parts)
                + (f" (they differ in {', '.join(differ)})" if differ else ""))

    def _expect(self, what: str, arr: Any, shape: tuple, dtype: Any) -> None:
        if tuple(arr.shape) != tuple(shape) or arr.dtype != dtype:
            raise CollectiveError(f"{what}: expected an array of shape {tuple(shape)} and dtype {dtype}, got "
                                  f"shape {tuple(arr.shape)} and dtype {arr.dtype}")

    def _check_root(self, what: str, root: int) -> None:
        if not 0 <= root < self.size:
            raise CollectiveError(f"{what}: invalid root rank {root} in a group of {self.size}")
