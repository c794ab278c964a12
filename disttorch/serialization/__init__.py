"""``disttorch.save`` / ``disttorch.load`` in PyTorch's checkpoint format (PyTorch 2.6+ behaviour).

``save(obj, f)`` pickles any picklable object (a state_dict, an optimizer's state, a whole
``nn.Module``, user classes) into PyTorch's zip layout: ``<archive>/data.pkl`` (the pickle),
``<archive>/data/<key>`` (the raw bytes of each storage), ``<archive>/byteorder``, ``version``,
``.format_version``, ``.storage_alignment`` and ``.data/serialization_id``. Tensors are pickled as
PyTorch pickles them (``torch._utils._rebuild_tensor_v2`` over a storage, Parameters through
``torch._utils._rebuild_parameter``, dtypes as ``torch.float32``, devices as ``torch.device``), so real
``torch.load`` reads what disttorch writes (state_dicts and plain containers with its default
``weights_only=True``; a whole disttorch module only where disttorch is importable). Tensors that view
one buffer (a tensor and its transpose, a slice, a Parameter and its rows) share one storage in the
file, with their offsets and strides, and still share memory once loaded; a view that cannot be
expressed as a storage, offset and non-negative strides (a flipped tensor) is saved as its own copy.
Saving to a path is atomic (a temporary file next to it, fsynced, renamed over it); temporaries of
saves that were killed midway are removed by the next save to that path.

``load(f, map_location=None, weights_only=None)`` reads these files and PyTorch's. ``weights_only``
defaults to True: a restricted unpickler runs nothing from the file and accepts only PyTorch's tensor
rebuild functions, storage types, dtypes, ``torch.device``/``torch.Size``, ``OrderedDict``/``Counter``,
plain builtins (containers, numbers, strings, bytes, ``set``/``frozenset``/``complex``/``bytearray``) and
what :func:`add_safe_globals` / :class:`safe_globals` allow; anything else raises
``pickle.UnpicklingError`` with PyTorch's "Weights only load failed" text. ``weights_only=False`` runs
full unpickling (only for files you trust). In both modes PyTorch's names resolve to disttorch's
objects (``torch.nn.modules.linear.Linear`` -> ``disttorch.nn.modules.linear.Linear``). Checkpoints in
disttorch's first format (``archive/format`` = ``disttorch-checkpoint 1``) still load; a ``.safetensors``
path is read with :mod:`disttorch.utils.safetensors`, as ``torch.load`` does.

Loading is bounded by what the file stores: each storage is read once, straight into its array (no
second copy), and every tensor is a strided view of its storage (an expanded, stride-0 tensor of a
few bytes stays a few bytes; many views of one storage share it). Compressed zip entries are refused
(neither torch.save nor disttorch.save writes them; inflating would let a small file claim any amount
of memory), and every size a header claims (zip entries, storages' element counts, ``.npy`` headers
of the first format) is checked against the bytes the file holds before anything is allocated.
"""
from __future__ import annotations

import io
import os
import pickle
import re
import warnings
import zipfile
from typing import Any

from disttorch.serialization._files import _atomic_write, _is_path, corrupted, open_zip
from disttorch.serialization._legacy import is_legacy, load_legacy
from disttorch.serialization._location import Placer
from disttorch.serialization._rebuild import StorageReader
from disttorch.serialization._safe_globals import (
    add_safe_globals,
    clear_safe_globals,
    default_allowed_globals,
    get_safe_globals,
    safe_globals,
    user_allowed_globals,
    weights_only_message,
)
from disttorch.serialization._save import write_checkpoint
from disttorch.serialization._unpickle import unpickle

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals",
           "get_unsafe_globals_in_checkpoint", "DEFAULT_PROTOCOL"]

DEFAULT_PROTOCOL = 2
_FileLike = Any  # str | os.PathLike | a binary file object
_TRUE = ("1", "y", "yes", "true")


def _archive_name(f: _FileLike) -> str:
    if _is_path(f):
        stem = os.path.splitext(os.path.basename(os.fsdecode(f)))[0]
        return stem or "archive"
    return "archive"


def save(obj: Any, f: _FileLike, pickle_module: Any = pickle, pickle_protocol: int = DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False) -> None:
    """Save ``obj`` to ``f`` (a path, written atomically, or a binary file object open for writing) in
    PyTorch's zip format. Anything picklable can be saved; tensors are stored as storages.
    ``pickle_module`` is accepted for compatibility (the checkpoint pickler is always used); PyTorch's
    legacy non-zip format is not written."""
    archive = _archive_name(f)

    def write(fh: Any) -> None:
        write_checkpoint(fh, obj, archive, pickle_protocol, not _disable_byteorder_record)

    if _is_path(f):
        _atomic_write(f, write)
    else:
        write(f)


def _resolve_weights_only(weights_only: bool | None) -> bool:
    not_set = weights_only is None
    force_on = os.getenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "0").lower() in _TRUE
    force_off = os.getenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0").lower() in _TRUE
    if force_on and force_off:
        raise RuntimeError("Only one of `TORCH_FORCE_WEIGHTS_ONLY_LOAD` or `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD` "
                           "should be set, but both were set.")
    if force_on:
        return True
    if force_off and not_set:
        warnings.warn("Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected, since the`weights_only` "
                      "argument was not explicitly passed to `torch.load`, forcing weights_only=False.",
                      UserWarning, stacklevel=3)
        return False
    return True if not_set else bool(weights_only)


def _data_pkl(names: list[str]) -> str | None:
    return next((n for n in names if re.fullmatch(r"[^/]+/data\.pkl", n)), None)


def load(f: _FileLike, map_location: Any = None, pickle_module: Any = None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Load an object saved by :func:`save` or by PyTorch's ``torch.save`` from a path or a binary file
    object. ``map_location``: None (each storage back to its saved device), a device or device string,
    a dict mapping saved location strings to new ones, or a callable ``fn(storage, saved_location)``
    returning a tensor or None (None: default placement). ``weights_only`` (default True): see the
    module docstring. ``mmap`` is accepted; storages are always read into memory."""
    weights_only = _resolve_weights_only(weights_only)
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    if pickle_load_args and weights_only:
        warnings.warn("pickle_load_args only works if `weights_only=False`.", stacklevel=2)
        pickle_load_args = {}
    pickle_load_args.setdefault("encoding", "utf-8")
    if _is_path(f) and os.fsdecode(f).endswith(".safetensors"):
        return _load_safetensors(f, map_location)
    place = Placer(map_location)
    zf, close = open_zip(f)
    try:
        names = zf.namelist()
        if is_legacy(names):
            return load_legacy(f, zf, place)
        pkl = _data_pkl(names)
        if pkl is None:
            raise corrupted(f, "the archive holds neither archive/data.json nor a PyTorch data.pkl")
        root = pkl.split("/")[0]
        reader = StorageReader(zf, root, place, _byteorder(f, zf, root))
        try:
            return unpickle(io.BytesIO(zf.read(pkl)), reader, weights_only, **pickle_load_args)
        except pickle.UnpicklingError as exc:
            if weights_only:
                raise pickle.UnpicklingError(weights_only_message(str(exc))) from None
            raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, EOFError, OSError, IndexError, RecursionError,
            UnicodeDecodeError) as exc:
        raise corrupted(f, f"{type(exc).__name__}: {exc}") from None
    finally:
        zf.close()
        if close is not None:
            close.close()


def _byteorder(f: Any, zf: zipfile.ZipFile, root: str) -> str:
    if f"{root}/byteorder" not in zf.namelist():
        return "<"
    order = zf.read(f"{root}/byteorder").strip()
    if order not in (b"little", b"big"):
        raise corrupted(f, f"unknown byte order {order!r}")
    return "<" if order == b"little" else ">"


def _load_safetensors(f: Any, map_location: Any) -> Any:
    from disttorch.utils import safetensors

    if isinstance(map_location, dict) or (callable(map_location) and not isinstance(map_location, str)
                                          and not hasattr(map_location, "type")):
        raise RuntimeError("Loading safetensors file with dict or callable map_location is not supported. "
                           "Use a device string or torch.device instead.")
    return safetensors.load_file(f, device=str(map_location) if map_location is not None else "cpu")


def get_unsafe_globals_in_checkpoint(f: _FileLike) -> list[str]:
    """The globals a checkpoint's pickle names that ``weights_only=True`` would refuse (neither PyTorch's
    defaults nor allow-listed), without loading it."""
    import pickletools

    zf, close = open_zip(f)
    try:
        pkl = _data_pkl(zf.namelist())
        if pkl is None:
            return []
        data = zf.read(pkl)
    finally:
        zf.close()
        if close is not None:
            close.close()
    allowed = set(default_allowed_globals()) | set(user_allowed_globals())
    found: list[str] = []
    strings: list[str] = []
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            name = arg.replace(" ", ".")
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            name = f"{strings[-2]}.{strings[-1]}"
        else:
            if isinstance(arg, str):
                strings.append(arg)
            continue
        name = name.replace("__builtin__.", "builtins.")
        if name not in allowed and name not in found:
            found.append(name)
    return found
