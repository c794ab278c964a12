"""Resumable training checkpoints, for one process or many ranks.

``Checkpointer`` saves everything a training loop needs to continue exactly where it stopped: the model,
optimizer, lr scheduler and any other object with ``state_dict``/``load_state_dict``, a sampler's epoch,
the step, the position inside the epoch, user extras, and every random state of every rank (disttorch's
generators, numpy's global one and Python's ``random``). Resuming after a crash then gives the same
numbers as a run that never stopped::

    ckpt = Checkpointer("checkpoints", model=model, optimizer=opt, scheduler=sched, sampler=sampler)
    state = ckpt.resume()                       # None on a fresh start
    step = state["step"] if state else 0
    ...
    ckpt.save(step, epoch=epoch, position=batches_done)

With a process group (``disttorch.distributed``): rank 0 writes the file (atomically, with
``disttorch.save``) after gathering the other ranks' random states; a barrier follows, so when ``save``
returns, the checkpoint is complete for everyone. On ``resume`` rank 0 picks the latest checkpoint it can
read and broadcasts its path; every rank loads it and reports back, and if any rank could not (a file
system it does not see, a damaged file), every rank raises the same error naming the ranks: a
disagreement is an error, never a hang.

"Latest" means latest saved, not highest step: rank 0 keeps the order of its saves in ``<prefix>.order``
(a small JSON file next to the checkpoints), so a deliberate roll-back (``resume(path)`` of an older
checkpoint, then training on) keeps its new checkpoints and the next auto-resume continues the new line.
Only the last ``keep_last`` saves are kept; files that the order does not list (copied in, damaged, or
written before the order existed) are never deleted and are tried after the listed ones, highest step first.
Unreadable files are skipped with a warning naming them; if checkpoints exist but none can be read,
``resume`` raises instead of starting afresh. Each save also removes the temporaries that interrupted saves
of any step left behind.

(Not ``utils.checkpoint``: in PyTorch that name means activation checkpointing.)
"""
from __future__ import annotations

import json
import os
import random
import re
import warnings
from typing import Any

import numpy as np

__all__ = ["Checkpointer", "list_checkpoints", "capture_rng_state", "restore_rng_state"]

FORMAT = "disttorch-resume 1"
ORDER_FORMAT = "disttorch-resume-order 1"
_NAME = re.compile(r"^(?P<prefix>.+)_(?P<step>\d+)\.pt$")


# -- random states --------------------------------------------------------------------------------
def capture_rng_state() -> dict[str, Any]:
    """This process's random states: disttorch's default generator (and any other device's), numpy's
    global generator and Python's ``random``."""
    import disttorch
    from disttorch._ops import random as drandom

    devices = {name: gen.get_state() for name, gen in getattr(drandom, "_device_generators", {}).items()
               if name != "cpu" and getattr(gen, "_rng", None) is not None}
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    # numpy's state as plain Python values, so that a weights_only load reads it back
    numpy_state = (str(kind), [int(k) for k in keys], int(pos), int(has_gauss), float(cached))
    return {"disttorch": disttorch.get_rng_state(), "devices": devices,
            "numpy": numpy_state, "python": random.getstate()}


def restore_rng_state(state: dict[str, Any]) -> None:
    """Undo :func:`capture_rng_state`."""
    import disttorch
    from disttorch._ops import random as drandom

    disttorch.set_rng_state(state["disttorch"])
    generators = getattr(drandom, "_device_generators", {})
    for name, saved in state.get("devices", {}).items():
        gen = generators.get(name)
        if gen is None:
            gen = generators[name] = drandom.Generator(name)
        gen.set_state(saved)
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss), float(cached)))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


# -- files ----------------------------------------------------------------------------------------
def _by_step(directory: str, prefix: str) -> list[tuple[int, str]]:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        m = _NAME.match(name)
        if m and m.group("prefix") == prefix:
            found.append((int(m.group("step")), name))
    return sorted(found)


def _order_path(directory: str, prefix: str) -> str:
    return os.path.join(directory, f"{prefix}.order")


def _read_order(directory: str, prefix: str) -> list[str]:
    """The checkpoint names in the order they were saved (oldest first); [] without an order file, with a
    warning when it cannot be read."""
    path = _order_path(directory, prefix)
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        warnings.warn(f"disttorch.utils.resume: ignoring unreadable save order {path}: {type(exc).__name__}: {exc}",
                      stacklevel=3)
        return []
    saves = doc.get("saves") if isinstance(doc, dict) and doc.get("format") == ORDER_FORMAT else None
    if not isinstance(saves, list) or not all(isinstance(n, str) for n in saves):
        warnings.warn(f"disttorch.utils.resume: ignoring unreadable save order {path}: not a {ORDER_FORMAT!r} file",
                      stacklevel=3)
        return []
    return saves


def _write_order(directory: str, prefix: str, saves: list[str]) -> None:
    from disttorch.serialization._files import _atomic_write

    text = json.dumps({"format": ORDER_FORMAT, "saves": saves}, indent=0).encode()
    _atomic_write(_order_path(directory, prefix), lambda fh: fh.write(text))


def _ordered(directory: str, prefix: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """``(unlisted, listed)`` checkpoint files as ``(step, name)``: those the save order does not name, by
    step, and those it names, in save order (oldest first both)."""
    present = dict((name, step) for step, name in _by_step(directory, prefix))
    listed, seen = [], set()
    for name in _read_order(directory, prefix):
        if name in present and name not in seen:
            listed.append((present[name], name))
            seen.add(name)
    unlisted = [(step, name) for name, step in present.items() if name not in seen]
    return sorted(unlisted), listed


def list_checkpoints(directory: str, prefix: str = "checkpoint") -> list[tuple[int, str]]:
    """``(step, path)`` of the checkpoints in ``directory``, oldest first: first the files the save order
    does not list (by step), then the saves it lists, in the order they were made."""
    directory = os.fspath(directory)
    unlisted, listed = _ordered(directory, prefix)
    return [(step, os.path.join(directory, name)) for step, name in unlisted + listed]


def _read(path: str) -> dict[str, Any]:
    import disttorch

    data = disttorch.load(path, map_location="cpu")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a resumable checkpoint (no {FORMAT!r} marker)")
    return data


# -- the process group, when there is one ---------------------------------------------------------
def _dist() -> Any:
    """``disttorch.distributed`` when it is present and initialised with more than one rank, else None."""
    try:
        import disttorch.distributed as dist
    except ImportError:
        return None
    if not dist.is_initialized() or dist.get_world_size() <= 1:
        return None
    return dist


class Checkpointer:
    """Save and resume training state in ``directory`` as ``<prefix>_<step>.pt`` files.

    ``objects``: the things to save, by name, e.g. ``model=..., optimizer=..., scheduler=..., sampler=...``.
    Anything with ``state_dict``/``load_state_dict`` is saved through them (a ``DistributedDataParallel``
    model too); a sampler without them (``DistributedSampler``) has its ``epoch`` saved and restored with
    ``set_epoch``. ``keep_last``: how many checkpoints to keep (the earlier saves are deleted after each
    save, by save order, not step; ``None`` keeps all). ``save_rng``: also save and restore every rank's random states.
    """

    def __init__(self, directory: str | os.PathLike, *, keep_last: int | None = 3, prefix: str = "checkpoint",
                 save_rng: bool = True, **objects: Any) -> None:
        if keep_last is not None and keep_last < 1:
            raise ValueError(f"keep_last must be >= 1 or None, got {keep_last}")
        if not prefix or "/" in prefix or os.sep in prefix:
            raise ValueError(f"bad checkpoint prefix {prefix!r}")
        self.directory = os.fspath(directory)
        self.keep_last = keep_last
        self.prefix = prefix
        self.save_rng = save_rng
        for name, obj in objects.items():
            if not (hasattr(obj, "state_dict") and hasattr(obj, "load_state_dict")
                    or hasattr(obj, "set_epoch") and hasattr(obj, "epoch")):
                raise TypeError(f"cannot checkpoint {name}={type(obj).__name__}: it has neither "
                                "state_dict/load_state_dict nor epoch/set_epoch")
        self.objects = objects

    # -- paths ------------------------------------------------------------------------------------
    def path_for(self, step: int) -> str:
        return os.path.join(self.directory, f"{self.prefix}_{int(step):08d}.pt")

    def checkpoints(self) -> list[tuple[int, str]]:
        """``(step, path)`` of this checkpointer's files, oldest first (see :func:`list_checkpoints`)."""
        return list_checkpoints(self.directory, self.prefix)

    # -- saving -----------------------------------------------------------------------------------
    def _states(self) -> dict[str, Any]:
        states = {}
        for name, obj in self.objects.items():
            if hasattr(obj, "state_dict") and hasattr(obj, "load_state_dict"):
                states[name] = {"state_dict": obj.state_dict()}
            else:
                states[name] = {"epoch": int(obj.epoch)}
        return states

    def save(self, step: int, *, epoch: int | None = None, position: int | None = None,
             extra: Any = None) -> str:
        """Save the state after ``step`` (an int that grows during training); ``epoch`` and ``position``
        (batches already done in that epoch) are handed back by :meth:`resume`, as is ``extra`` (anything
        ``disttorch.save`` can store). Call on every rank; returns the checkpoint's path."""
        import disttorch

        dist = _dist()
        rank, world = (dist.get_rank(), dist.get_world_size()) if dist else (0, 1)
        rng = capture_rng_state() if self.save_rng else None
        if dist and self.save_rng:
            gathered: list[Any] | None = [None] * world if rank == 0 else None
            dist.gather_object(rng, gathered, dst=0)
            rngs = gathered
        else:
            rngs = [rng]
        path = self.path_for(step)
        error = None
        if rank == 0:
            try:
                os.makedirs(self.directory, exist_ok=True)
                self._remove_stale_temporaries()
                document = {"format": FORMAT, "step": int(step), "epoch": epoch, "position": position,
                            "world_size": world, "objects": self._states(), "rng": rngs, "extra": extra}
                disttorch.save(document, path)
                self._record_and_prune(os.path.basename(path))
            except Exception as exc:  # tell the other ranks instead of leaving them at the barrier below
                error = f"{type(exc).__name__}: {exc}"
        if dist:
            status = [error]
            dist.broadcast_object_list(status, src=0)
            error = status[0]
        if error:
            raise RuntimeError(f"saving checkpoint {path} failed on rank 0: {error}")
        return path

    def _remove_stale_temporaries(self) -> None:
        from disttorch.serialization._files import remove_stale_temporaries_in

        names = re.escape(self.prefix) + r"_\d+\.pt|" + re.escape(os.path.basename(_order_path("", self.prefix)))
        remove_stale_temporaries_in(self.directory, names)

    def _record_and_prune(self, name: str) -> None:
        """Put ``name`` last in the save order, delete the listed saves beyond ``keep_last`` (oldest first),
        then write the order. Files the order does not list are left alone."""
        _unlisted, listed = _ordered(self.directory, self.prefix)
        saves = [n for _step, n in listed if n != name] + [name]
        if self.keep_last is not None and len(saves) > self.keep_last:
            for old in saves[:-self.keep_last]:
                try:
                    os.remove(os.path.join(self.directory, old))
                except FileNotFoundError:
                    pass
            saves = saves[-self.keep_last:]
        _write_order(self.directory, self.prefix, saves)

    # -- resuming ---------------------------------------------------------------------------------
    def latest(self) -> tuple[str | None, dict[str, Any] | None, list[str]]:
        """The most recently saved checkpoint this process can read: ``(path, data, skipped)``; ``skipped``
        names the newer files that could not be read and why. Each skipped file is also warned about."""
        skipped = []
        for _step, path in reversed(self.checkpoints()):
            try:
                return path, _read(path), skipped
            except Exception as exc:
                note = f"{path}: {type(exc).__name__}: {exc}"
                skipped.append(note)
                warnings.warn(f"disttorch.utils.resume: skipping unreadable checkpoint {note}", stacklevel=3)
        return None, None, skipped

    def resume(self, path: str | None = None) -> dict[str, Any] | None:
        """Load the latest complete checkpoint (or ``path``) into the objects and restore the random
        states; returns ``{"step", "epoch", "position", "extra", "path"}``, or None when there is none.
        Call on every rank: rank 0 decides, all ranks load the same file or all raise."""
        dist = _dist()
        rank, world = (dist.get_rank(), dist.get_world_size()) if dist else (0, 1)
        data, problem = None, None
        if rank == 0:
            try:
                if path is None:
                    path, data, skipped = self.latest()
                    if path is None and skipped:  # checkpoints exist: starting afresh would be silent data loss
                        raise RuntimeError(f"no readable checkpoint in {self.directory} ({len(skipped)} skipped: "
                                           + "; ".join(skipped) + ")")
                else:
                    data = _read(path)
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
        if dist:
            chosen = [path, problem]
            dist.broadcast_object_list(chosen, src=0)
            path, problem = chosen
        if problem is None and path is not None:
            try:
                if data is None:
                    data = _read(path)
                self._load(data, rank, world)
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
        problems = [problem]
        if dist:
            problems = [None] * world
            dist.all_gather_object(problems, problem)
        failed = {r: p for r, p in enumerate(problems) if p is not None}
        if failed:
            details = "; ".join(f"rank {r}: {p}" for r, p in failed.items())
            raise RuntimeError(f"resuming from checkpoint {path} failed on rank(s) {sorted(failed)} of {world}: "
                               f"{details}")
        if path is None:
            return None
        return {"step": data["step"], "epoch": data["epoch"], "position": data["position"],
                "extra": data["extra"], "path": path}

    def _load(self, data: dict[str, Any], rank: int, world: int) -> None:
        states = data["objects"]
        missing = [name for name in self.objects if name not in states]
        if missing:
            raise KeyError(f"the checkpoint has no state for {missing} (it holds {sorted(states)})")
        rngs = data.get("rng")
        if self.save_rng and rngs and rngs[0] is not None and len(rngs) != world:
            raise ValueError(f"the checkpoint holds random states of {len(rngs)} rank(s), this job has {world}; "
                             "use Checkpointer(..., save_rng=False) to resume with a different world size")
        for name, obj in self.objects.items():
            state = states[name]
            if "state_dict" in state:
                obj.load_state_dict(state["state_dict"])
            else:
                obj.set_epoch(state["epoch"])
        if self.save_rng and rngs and rngs[0] is not None:
            restore_rng_state(rngs[rank])
