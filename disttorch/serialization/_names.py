"""PyTorch's names for what a checkpoint's pickle refers to: storage types per dtype and the
rebuild functions. Both directions (saving writes them, loading resolves them) use this table."""
from __future__ import annotations

from disttorch import _dtype as D

# dtypes with a legacy typed storage class; the others are saved through UntypedStorage and
# ``_rebuild_tensor_v3`` (as PyTorch does for uint16/32/64)
STORAGE_OF_DTYPE = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage", "bfloat16": "BFloat16Storage",
    "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage", "int8": "CharStorage",
    "uint8": "ByteStorage", "bool": "BoolStorage", "complex64": "ComplexFloatStorage",
    "complex128": "ComplexDoubleStorage",
}
DTYPE_OF_STORAGE = {s: getattr(D, "bool_" if d == "bool" else d) for d, s in STORAGE_OF_DTYPE.items()}
DTYPES = {d.name: d for d in D.ALL}


class Global:
    """A name a pickle refers to (``module.name``) that need not be importable here, e.g.
    ``torch._utils._rebuild_tensor_v2``; the checkpoint pickler writes it as a GLOBAL."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __repr__(self) -> str:
        return f"{self.module}.{self.name}"

    def __call__(self, *args: object) -> None:  # pickle only accepts callables as reduce functions
        raise TypeError(f"{self!r} is a name written into checkpoints, not callable here")


REBUILD_TENSOR_V2 = Global("torch._utils", "_rebuild_tensor_v2")
REBUILD_TENSOR_V3 = Global("torch._utils", "_rebuild_tensor_v3")
REBUILD_PARAMETER = Global("torch._utils", "_rebuild_parameter")
REBUILD_PARAMETER_WITH_STATE = Global("torch._utils", "_rebuild_parameter_with_state")
REBUILD_META = Global("torch._utils", "_rebuild_meta_tensor_no_storage")
REBUILD_FROM_TYPE_V2 = Global("torch._tensor", "_rebuild_from_type_v2")
TORCH_DEVICE = Global("torch", "device")
TORCH_SIZE = Global("torch", "Size")
UNTYPED_STORAGE = Global("torch.storage", "UntypedStorage")
TYPED_STORAGES = {name: Global("torch", name) for name in STORAGE_OF_DTYPE.values()}
DTYPE_GLOBALS = {d.name: Global("torch", d.name) for d in D.ALL}
