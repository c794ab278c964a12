"""Reading disttorch's first checkpoint format (``archive/format`` = ``disttorch-checkpoint 1``):
``archive/data.json`` describes the object (tagged JSON nodes), ``archive/arrays/<i>.npy`` hold the
tensors. Nothing in it can run code. New checkpoints are written in PyTorch's format instead."""
from __future__ import annotations

import base64
import collections
import json
import zipfile
from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._device import device as Device
from disttorch._tensor import Size, Tensor
from disttorch.serialization._files import corrupted
from disttorch.serialization._location import Placer

FORMAT = b"disttorch-checkpoint 1"
ROOT = "archive"
_DTYPES = {d.name: d for d in D.ALL}


def is_legacy(names: list[str]) -> bool:
    return f"{ROOT}/data.json" in names


def _read_npy(zf: zipfile.ZipFile, name: str, index: int) -> np.ndarray:
    """An .npy entry, after checking that the size its header claims is the size the entry holds."""
    fmt = np.lib.format
    with zf.open(name) as fh:
        version = fmt.read_magic(fh)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"array {index}: unsupported .npy version {version}")
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read_header(fh)
        if dtype.hasobject:
            raise ValueError(f"array {index}: object arrays are not loaded")
        count = 1
        for n in shape:
            count *= int(n)
        holds = zf.getinfo(name).file_size - fh.tell()
        if count * dtype.itemsize != holds:
            raise ValueError(f"array {index}: its header claims {count} x {dtype.itemsize} bytes, the entry holds "
                             f"{holds}")
        data = np.frombuffer(bytearray(fh.read(holds)), dtype)
    return data.reshape(shape, order="F" if fortran else "C")


def finish_tensor(t: Tensor, requires_grad: bool, parameter: bool) -> Tensor:
    if parameter:
        from disttorch.nn.parameter import Parameter

        return Parameter(t, requires_grad=requires_grad)
    if requires_grad:
        t = t.detach().requires_grad_(True) if t._grad_fn is not None else t.requires_grad_(True)
    return t


class _Decoder:
    def __init__(self, zf: zipfile.ZipFile, meta: list, place: Placer) -> None:
        self.zf, self.meta, self.place = zf, meta, place
        self._arrays: dict[int, np.ndarray] = {}
        self._tensors: dict[int, Tensor] = {}

    def array(self, index: Any) -> np.ndarray:
        if type(index) is not int or not 0 <= index < len(self.meta):
            raise ValueError(f"bad array reference {index!r}")
        arr = self._arrays.get(index)
        if arr is not None:
            return arr
        meta = self.meta[index]
        dt = _DTYPES.get(meta.get("dtype")) if isinstance(meta, dict) else None
        if dt is None:
            raise ValueError(f"array {index} has no valid dtype")
        arr = _read_npy(self.zf, f"{ROOT}/arrays/{index}.npy", index)
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        stored = dt.np if dt.np.kind != "V" else np.dtype(f"u{dt.np.itemsize}")
        if arr.dtype != stored or list(arr.shape) != meta.get("shape"):
            raise ValueError(f"array {index} holds {arr.dtype}{list(arr.shape)}, expected {stored}{meta.get('shape')}")
        if dt.np.kind == "V":
            arr = arr.view(dt.np)
        self._arrays[index] = arr
        return arr

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            raise ValueError(f"unexpected JSON value {node!r}")
        tag = node.get("t")
        if tag == "tensor":
            index = node["array"]
            t = self._tensors.get(index)
            if t is None:
                placed = self.place(Tensor._from_array(self.array(index)), str(node["device"]))
                t = finish_tensor(placed, bool(node["requires_grad"]), bool(node["parameter"]))
                self._tensors[index] = t
            return t
        if tag in ("dict", "odict"):
            out = {} if tag == "dict" else collections.OrderedDict()
            for k, v in node["items"]:
                out[self.decode(k)] = self.decode(v)
            return out
        if tag == "tuple":
            return tuple(self.decode(v) for v in node["v"])
        if tag == "float":
            if node["v"] not in ("nan", "inf", "-inf"):
                raise ValueError(f"bad float {node['v']!r}")
            return float(node["v"])
        if tag == "dtype":
            if node["v"] not in _DTYPES:
                raise ValueError(f"unknown dtype {node['v']!r}")
            return _DTYPES[node["v"]]
        if tag == "device":
            return Device(node["v"])
        if tag == "size":
            return Size(int(s) for s in node["v"])
        if tag == "complex":
            return complex(self.decode(node["v"][0]), self.decode(node["v"][1]))
        if tag == "bytes":
            return base64.b64decode(node["v"], validate=True)
        if tag in ("set", "frozenset"):
            items = (self.decode(v) for v in node["v"])
            return set(items) if tag == "set" else frozenset(items)
        if tag == "ndarray":
            return self.array(node["array"]).copy()
        if tag == "npscalar":
            return self.array(node["array"])[()]
        raise ValueError(f"unknown tag {tag!r}")


def load_legacy(f: Any, zf: zipfile.ZipFile, place: Placer) -> Any:
    if zf.read(f"{ROOT}/format").strip() != FORMAT:
        raise corrupted(f, "unknown format version")
    doc = json.loads(zf.read(f"{ROOT}/data.json").decode("utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != "disttorch-checkpoint" or not isinstance(doc.get("arrays"),
                                                                                                   list):
        raise corrupted(f, "data.json is not a checkpoint description")
    return _Decoder(zf, doc["arrays"], place).decode(doc["root"])
