"""Weights interchange with PyTorch (and anything else) through the safetensors format.

The format: an 8-byte little-endian header length ``N``, ``N`` bytes of JSON mapping each tensor name to
``{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}`` (plus an optional ``"__metadata__"``
dict of strings), then the raw little-endian tensor bytes. It holds no code, so loading is safe.
The functions mirror ``safetensors.torch``: ``save_file`` / ``load_file`` / ``save`` / ``load``.

Export disttorch weights to PyTorch::

    from disttorch.utils.safetensors import save_file
    save_file(model.state_dict(), "model.safetensors")
    # in PyTorch:
    from safetensors.torch import load_file
    torch_model.load_state_dict(load_file("model.safetensors"))

Import PyTorch weights into disttorch::

    # in PyTorch:
    from safetensors.torch import save_file
    save_file(torch_model.state_dict(), "model.safetensors")
    # in disttorch:
    from disttorch.utils.safetensors import load_file
    model.load_state_dict(load_file("model.safetensors"))

(``disttorch.load`` also reads PyTorch's own ``torch.save`` files of tensors directly.) Tensors
are stored contiguously and independently: tied weights are written twice, and PyTorch's
``safetensors.torch.save_file`` refuses tensors that share memory, so call ``.clone()`` or
``.contiguous()`` on them there first.
"""
from __future__ import annotations

import json
import os
import struct
import sys
from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.serialization import _atomic_write

__all__ = ["SafetensorError", "save", "save_file", "load", "load_file"]

_CODES = {
    D.bool_: "BOOL", D.uint8: "U8", D.int8: "I8", D.int16: "I16", D.uint16: "U16", D.float16: "F16",
    D.bfloat16: "BF16", D.int32: "I32", D.uint32: "U32", D.float32: "F32", D.float64: "F64", D.int64: "I64",
    D.uint64: "U64", D.complex64: "C64",
}
_FROM_CODE = {code: dt for dt, code in _CODES.items()}
_MAX_HEADER = 100_000_000


class SafetensorError(Exception):
    """A file or buffer that is not valid safetensors data."""


def _stored_dtype(dt: D.dtype) -> np.dtype:
    """The little-endian numpy dtype that holds ``dt``'s bytes (bfloat16: its bits as uint16)."""
    np_dt = dt.np if dt.np.kind != "V" else np.dtype(f"u{dt.itemsize}")
    return np_dt.newbyteorder("<")


def _to_bytes(t: Tensor) -> bytes:
    arr = np.ascontiguousarray(t.__array__())
    if arr.dtype.kind == "V":
        arr = arr.view(f"u{arr.dtype.itemsize}")
    if sys.byteorder != "little":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return arr.tobytes()


def save(tensors: dict[str, Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors encoding of ``tensors`` (a dict of names to tensors, e.g. a state_dict)."""
    if not isinstance(tensors, dict):
        raise TypeError(f"expected a dict of str -> Tensor, got {type(tensors).__name__}")
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError("metadata must be a dict of str -> str")
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be strings, got {name!r}")
        if not isinstance(t, Tensor):
            raise TypeError(f"{name!r} is a {type(t).__name__}, not a Tensor")
        if t.dtype not in _CODES:
            raise SafetensorError(f"{name!r}: safetensors has no code for dtype {t.dtype}")
    # widest elements first, then by name: every tensor's data stays aligned to its element size
    order = sorted(tensors, key=lambda k: (-tensors[k].dtype.itemsize, k))
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = metadata
    chunks = []
    offset = 0
    for name in order:
        t = tensors[name]
        data = _to_bytes(t)
        header[name] = {"dtype": _CODES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return b"".join([struct.pack("<Q", len(text)), text, *chunks])


def save_file(tensors: dict[str, Tensor], filename: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Write ``tensors`` to ``filename`` in safetensors format (atomically: temp file, fsync, rename)."""
    blob = save(tensors, metadata)
    _atomic_write(filename, lambda fh: fh.write(blob))


def _parse(buf: Any) -> tuple[dict[str, Any], int]:
    if len(buf) < 8:
        raise SafetensorError("the data is too short to hold a header")
    (n,) = struct.unpack_from("<Q", buf, 0)
    if n > _MAX_HEADER or 8 + n > len(buf):
        raise SafetensorError(f"invalid header length {n}")
    try:
        header = json.loads(bytes(buf[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SafetensorError(f"invalid JSON header: {exc}") from None
    if not isinstance(header, dict):
        raise SafetensorError("the header is not a JSON object")
    return header, 8 + n


def load(data: bytes | bytearray | memoryview, device: Any = "cpu") -> dict[str, Tensor]:
    """Tensors from safetensors bytes (what :func:`save` returns)."""
    buf = data if isinstance(data, bytearray) else bytearray(data)  # writable memory for the tensors to share
    header, start = _parse(buf)
    header.pop("__metadata__", None)
    size = len(buf) - start
    spans = []
    out: dict[str, Tensor] = {}
    for name, info in header.items():
        try:
            dt = _FROM_CODE[info["dtype"]]
            shape = [int(s) for s in info["shape"]]
            begin, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise SafetensorError(f"invalid entry for {name!r}: {info!r}") from None
        if dt.np.kind == "V":
            dt.np  # noqa: B018 - raises the install hint when ml_dtypes is missing
        stored = _stored_dtype(dt)
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if min(shape, default=0) < 0 or not 0 <= begin <= end <= size or end - begin != count * stored.itemsize:
            raise SafetensorError(f"{name!r}: offsets [{begin}, {end}] do not fit shape {shape} of {info['dtype']} "
                                  f"in a buffer of {size} bytes")
        spans.append((begin, end))
        arr = np.frombuffer(buf, stored, count, start + begin).reshape(shape)
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        if (start + begin) % stored.itemsize:
            arr = arr.copy()  # keep element access aligned
        if dt.np.kind == "V":
            arr = arr.view(dt.np)
        t = Tensor._from_array(arr)
        out[name] = t if str(device) == "cpu" else t.to(device)
    spans.sort()
    pos = 0
    for begin, end in spans:
        if begin != pos:
            raise SafetensorError("the tensors' data overlap or leave holes in the buffer")
        pos = end
    if pos != size:
        raise SafetensorError("the buffer holds bytes that no tensor covers")
    return out


def load_file(filename: str | os.PathLike, device: Any = "cpu") -> dict[str, Tensor]:
    """The tensors stored in the safetensors file ``filename``, by name, on ``device``."""
    with open(filename, "rb") as fh:
        buf = bytearray(os.fstat(fh.fileno()).st_size)
        fh.readinto(buf)
    return load(buf, device)
