"""disttorch: a PyTorch-compatible deep-learning framework on numpy (cpu) and cupy (cuda).

``import disttorch as torch`` and keep writing PyTorch.

The framework (Tensor, ops, nn, ...; its names are listed in ``_api.py``) loads on first use: the first
access of a name this package does not have yet, ``dir()``, ``from disttorch import *``, or the first
import of a core submodule. The lower layers (``disttorch.backends``, ``disttorch.collectives``) and the
launcher (``disttorchrun``) import without it. Once loaded, its names live in this module's namespace,
so attribute access costs nothing extra.
"""
import _thread
import sys as _sys

__version__ = "0.1.0"

_LOWER_LAYERS = frozenset({"backends", "collectives", "launcher"})  # never import the framework
_lock = _thread.RLock()
_state = "cold"  # -> "loading" -> "loaded"


def _load(wait: bool = True) -> None:
    """Import the framework once and publish its names here.

    Re-entered from the same thread while the framework imports itself (``from disttorch import _dtype``),
    it returns at once; another thread waits until the framework is in (unless ``wait`` is false)."""
    global _state
    if not _lock.acquire(wait):
        return
    try:
        if _state != "cold":
            return
        _state = "loading"
        try:
            from importlib import import_module

            api = import_module(f"{__name__}._api")
        except BaseException:
            _state = "cold"
            raise
        namespace = globals()
        namespace.update({k: v for k, v in vars(api).items() if not k.startswith("__")})
        namespace["__all__"] = [k for k in namespace if not k.startswith("_")]
        _state = "loaded"
        _sys.meta_path.remove(_LoadBeforeCoreImports)
    finally:
        _lock.release()


class _LoadBeforeCoreImports:
    """Import hook: importing a core submodule (``disttorch.nn``, ``disttorch._tensor``, ...) first loads the
    whole framework in its one import order, so no part of the core ever runs half-wired."""

    @staticmethod
    def find_spec(fullname: str, path: object = None, target: object = None) -> None:
        package, _, rest = fullname.partition(".")
        if package == __name__ and rest and rest.partition(".")[0] not in _LOWER_LAYERS:
            _load(wait=False)  # waiting here, holding the submodule's import lock, could deadlock
        return None


_sys.meta_path.insert(0, _LoadBeforeCoreImports)


def __getattr__(name: str) -> object:
    if name in _LOWER_LAYERS:
        from importlib import import_module

        return import_module(f"{__name__}.{name}")
    if name == "__all__" or not name.startswith("__"):  # other dunders are probes (copy, inspect, doctest)
        _load()
        if name in globals():
            return globals()[name]
        api = _sys.modules.get(f"{__name__}._api")  # while the framework loads: the names it has so far
        if api is not None and name in vars(api):
            return vars(api)[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    _load()
    return sorted(globals())
