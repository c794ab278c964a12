"""Argument checks and timeouts of :class:`~disttorch.collectives.mpi.MPICommunicator`.

Before the first collective of each kind (before every one in debug mode) the ranks all-gather a small
fingerprint (collective, dtype, shape, reduce op, root, sequence number) on a communicator of their own and
raise :class:`CollectiveError` naming the ranks that disagree. A wait with a timeout polls the request and
raises naming the collective, the time waited and the group.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from .base import CollectiveError, ReduceOp

_FP_BYTES = 256  # bytes per rank of a collective's fingerprint
_DIFFERING = ("dtype", "shape", "op", "root", "sequence number")


class ArgumentChecks:
    """Mixed into MPICommunicator, which provides ``rank``, ``size``, ``world_ranks``, ``timeout``, ``debug``,
    ``_me``, ``_ctl`` (the control communicator), ``_enforce``, ``_seq`` and ``_checked``."""

    rank: int
    size: int
    world_ranks: tuple[int, ...]
    timeout: float | None
    debug: bool
    _me: int
    _ctl: Any
    _seq: int
    _checked: set[str]
    _enforce: bool

    def _begin(self, what: str, array: Any = None, op: ReduceOp | None = None, root: int | None = None,
               shape: bool = True, first: bool = True) -> None:
        """Count a collective; check its arguments across ranks in debug mode, and (``first``) the first time
        this kind runs."""
        self._seq += 1
        if self.debug or (first and what not in self._checked):
            self._checked.add(what)
            self._agree(what, array, op, root, shape)

    def _wait_polling(self, request: Any, timeout: float, what: str, status: Any = None) -> None:
        start = time.perf_counter()
        deadline = start + timeout
        spins = 0
        while not (request.Test(status) if status is not None else request.Test()):
            spins += 1
            if spins & 63 == 0:
                now = time.perf_counter()
                if now > deadline:
                    raise CollectiveError(
                        f"{what} timed out on rank {self._me} after {now - start:.1f} s (timeout {timeout:g} s): "
                        f"not every rank of the group {list(self.world_ranks)} joined it; one may be stuck, have "
                        f"crashed or have called a different collective")
                time.sleep(0 if spins < 4096 else 1e-4)

    def _agree(self, what: str, array: Any = None, op: ReduceOp | None = None, root: int | None = None,
               shape: bool = True) -> None:
        """All-gather this collective's fingerprint; raise naming the ranks when they disagree."""
        fields = [what]
        if array is not None:
            fields.append(f"dtype={array.dtype}")
            if shape:
                fields.append(f"shape={tuple(array.shape)}")
        if op is not None:
            fields.append(f"op={op.name}")
        if root is not None:
            fields.append(f"root={self.world_ranks[root] if 0 <= root < self.size else root}")
        fields.append(f"sequence number={self._seq}")
        mine = np.zeros(_FP_BYTES, np.uint8)
        data = "\x1f".join(fields).encode()[:_FP_BYTES]
        mine[:len(data)] = np.frombuffer(data, np.uint8)
        gathered = np.empty((self.size, _FP_BYTES), np.uint8)
        request = self._ctl.Iallgather(mine, gathered)
        if self._enforce:
            self._wait_polling(request, self.timeout, f"{what} (argument check)")  # type: ignore[arg-type]
        else:
            request.Wait()
        prints = [bytes(row).rstrip(b"\0").decode(errors="replace") for row in gathered]
        if len(set(prints)) > 1:
            raise CollectiveError(self._mismatch(prints))

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
