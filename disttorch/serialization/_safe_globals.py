"""The allow-list of the ``weights_only`` unpickler: PyTorch's defaults plus what the user adds with
``add_safe_globals`` / ``safe_globals``, and PyTorch's error texts."""
from __future__ import annotations

import collections
import re
from typing import Any, Callable

UNSAFE_MESSAGE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` "
    "from `False` to `True`. Re-running `torch.load` with `weights_only` set to `False` will likely succeed, "
    "but it can result in arbitrary code execution. Do it only if you got the file from a "
    "trusted source."
)
DOCS_MESSAGE = (
    "\n\nCheck the documentation of torch.load to learn more about types accepted by default with "
    "weights_only https://pytorch.org/docs/stable/generated/torch.load.html."
)

# modules whose globals are refused even when allow-listed (PyTorch's list)
BLOCKED_MODULES = ("sys", "os", "posix", "nt")

_marked: set[Any] = set()


def add_safe_globals(safe_globals: list[Callable | tuple[Callable, str]]) -> None:
    """Mark globals (classes, functions) as safe for ``weights_only`` loading. An entry may be the
    object itself (named ``obj.__module__ + '.' + obj.__qualname__``) or ``(obj, "module.name")`` for
    an object that checkpoints name differently."""
    _marked.update(safe_globals)


def get_safe_globals() -> list[Callable | tuple[Callable, str]]:
    """The globals added with :func:`add_safe_globals`."""
    return list(_marked)


def clear_safe_globals() -> None:
    """Forget every global added with :func:`add_safe_globals`."""
    _marked.clear()


class safe_globals:
    """Context manager that adds ``safe_globals`` for the duration of a ``with`` block."""

    def __init__(self, safe_globals: list[Callable | tuple[Callable, str]]) -> None:
        self.safe_globals = safe_globals

    def __enter__(self) -> None:
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc: Any) -> None:
        _marked.difference_update(self.safe_globals)


def user_allowed_globals() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in _marked:
        if isinstance(entry, tuple):
            if len(entry) != 2:
                raise ValueError("Expected tuple of length 2 (global, str of callable full path), but got tuple of "
                                 f"length: {len(entry)}")
            if type(entry[1]) is not str:
                raise TypeError("Expected second item in tuple to be str of callable full path, but got: "
                                f"{type(entry[1])}")
            out[entry[1]] = entry[0]
        else:
            out[f"{entry.__module__}.{entry.__qualname__}"] = entry
    return out


def _safe_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """Protocol-2 pickles spell ``bytes`` as ``_codecs.encode(str, 'latin1')``; text codecs only."""
    import codecs
    import pickle

    if not isinstance(obj, str) or codecs.lookup(encoding).name not in ("latin-1", "iso8859-1", "utf-8", "ascii"):
        raise pickle.UnpicklingError("_codecs.encode is only allowed on text")
    return obj.encode(encoding, errors)


def default_allowed_globals() -> dict[str, Any]:
    """PyTorch's default allow-list, spelled as PyTorch's pickles spell it, mapped to disttorch's objects."""
    from disttorch._device import device
    from disttorch._tensor import Size, Tensor
    from disttorch.nn.parameter import Parameter
    from disttorch.serialization import _names as N
    from disttorch.serialization import _rebuild as R

    allowed: dict[str, Any] = {
        "collections.OrderedDict": collections.OrderedDict, "collections.Counter": collections.Counter,
        "torch.nn.parameter.Parameter": Parameter, "torch.Size": Size, "torch.Tensor": Tensor,
        "torch.device": device, "_codecs.encode": _safe_encode, "builtins.bytearray": bytearray,
        "builtins.set": set, "builtins.frozenset": frozenset, "builtins.complex": complex,
    }
    allowed.update({f"torch.{name}": dt for name, dt in N.DTYPES.items()})
    allowed.update(R.STORAGE_TYPES)
    allowed.update(R.REBUILD_FUNCTIONS)
    return allowed


def blocked_global(module: str, full_path: str) -> str:
    return f"Trying to load unsupported GLOBAL {full_path} whose module {module} is blocked."


def unsupported_global(full_path: str) -> str:
    if full_path.startswith("builtins."):
        full_path = full_path[len("builtins."):]
    return (f"Unsupported global: GLOBAL {full_path} was not an allowed global by default. "
            f"Please use `torch.serialization.add_safe_globals([{full_path}])` or the "
            f"`torch.serialization.safe_globals([{full_path}])` context manager to allowlist this global "
            "if you trust this class/function.")


def weights_only_message(message: str) -> str:
    """The text of PyTorch's ``Weights only load failed`` error around the unpickler's ``message``."""
    if re.search(r"GLOBAL (\S+) was not an allowed global by default.", message):
        return ("Weights only load failed. This file can still be loaded, to do so you have two options, "
                "\033[1mdo those steps only if you trust the source of the checkpoint\033[0m. "
                f"\n\t(1) {UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with `weights_only=True` please check "
                "the recommended steps in the following error message.\n\tWeightsUnpickler error: "
                + message + DOCS_MESSAGE)
    text = f"Weights only load failed. {UNSAFE_MESSAGE}\n"
    if not re.search(r"whose module (\S+) is blocked", message):
        text += ("Please file an issue with the following so that we can make `weights_only=True` compatible with "
                 "your use case: WeightsUnpickler error: ")
    return text + "\n\n" + message + DOCS_MESSAGE
