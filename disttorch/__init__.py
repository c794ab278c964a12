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

# Scripts written for torchrun read RANK / LOCAL_RANK / WORLD_SIZE / LOCAL_WORLD_SIZE: under plain mpiexec or
# srun, set them from the launcher's own variables (nothing is overwritten; see launcher/env.py).
try:
    from .launcher.env import adopt_launcher_env as _adopt_launcher_env
except ModuleNotFoundError as _exc:
    if _exc.name != f"{__name__}.launcher":
        raise
    # disttorch.backends/.collectives/.launcher are the repository's sibling folders, mapped in by the install:
    # a bare source folder on sys.path (the current directory) shadows an installed disttorch
    import os as _os

    _here = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
    raise ImportError(
        f"disttorch was imported from its source folder {_here}{_os.sep}disttorch without an install that maps "
        f"disttorch.launcher, disttorch.backends and disttorch.collectives (the folders beside it). If you ran "
        f"`pip install .`, the source folder in the current directory hides the installed package: run from "
        f"another directory, or install in editable mode from the repository root instead: "
        f"python3 -m pip install -e .") from None

_adopt_launcher_env()

def _silence_fp_warnings() -> None:
    """PyTorch computes 1/0 = inf, 0/0 = nan and exp(1000) = inf silently; so do we, without touching numpy's
    error state (the user's own numpy calls keep warning as before): numpy attributes its floating-point warnings
    to the line that called the ufunc, so this filter silences those raised by disttorch's own code and no others.
    A filter added inside a ``warnings.catch_warnings()`` block ends with it: the framework's first load adds it
    again (pytest's configuration in pyproject.toml carries it for the test suite)."""
    import warnings

    warnings.filterwarnings("ignore", r"(divide by zero|invalid value|overflow) encountered", RuntimeWarning,
                            r"disttorch(\.|$)")


_silence_fp_warnings()

_LOWER_LAYERS = frozenset({"backends", "collectives", "launcher"})  # never import the framework
_lock = _thread.RLock()
_state = "cold"  # -> "loading" -> "loaded"


def _in_import() -> bool:
    """Whether this thread is running an import: it may then hold module locks that a thread loading the
    framework needs, so it must not wait for that thread (the import system's own locks sort it out)."""
    frame = _sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _load(wait: bool = True) -> None:
    """Import the framework once and publish its names here.

    Re-entered from the same thread while the framework imports itself (``from disttorch import _dtype``),
    it returns at once; another thread waits until the framework is in, unless ``wait`` is false."""
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
    """Import hook: the first import of a core submodule (``import disttorch.nn``, ``from disttorch._tensor
    import Tensor``) loads the whole framework, in its one import order, so no part of the core ever runs
    half-wired. Removed once the framework is in."""

    @staticmethod
    def find_spec(fullname: str, path: object = None, target: object = None) -> object:
        package, _, child = fullname.partition(".")
        # deeper modules always come after their first-level parent, which this hook has seen
        if package != __name__ or not child or "." in child or child in _LOWER_LAYERS or _state != "cold":
            return None
        for finder in _sys.meta_path:  # the spec the import system would find without this hook
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find and finder is not _LoadBeforeCoreImports else None
            if spec is not None:
                spec.loader = _LoadFrameworkFirst(spec.loader)
                return spec
        return None


class _LoadFrameworkFirst:
    """Loader of the first core submodule imported: it loads the framework, which imports that submodule in
    its turn (or it is imported right after); the import system then takes the module from ``sys.modules``.
    Loading the framework any earlier (in ``find_spec``) would make Python execute the submodule twice."""

    def __init__(self, loader: object) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> object:  # get_code, get_source, ... (runpy and other tools)
        return getattr(self._loader, name)

    def create_module(self, spec: object) -> None:
        return None  # a placeholder module, dropped in exec_module

    def exec_module(self, module: object) -> None:
        name = module.__name__
        del _sys.modules[name]
        _load(wait=False)  # this thread holds the submodule's import lock: never wait for another one
        if name not in _sys.modules:
            from importlib import import_module

            import_module(name)


_sys.meta_path.insert(0, _LoadBeforeCoreImports)


def __getattr__(name: str) -> object:
    if name in _LOWER_LAYERS or name == "overrides":  # (overrides: imported on first use, see its docstring)
        from importlib import import_module

        return import_module(f"{__name__}.{name}")
    if name == "__all__" or not name.startswith("__"):  # other dunders are probes (copy, inspect, doctest)
        _load(wait=not _in_import())
        if name in globals():
            return globals()[name]
        api = _sys.modules.get(f"{__name__}._api")  # while the framework loads: the names it has so far
        if api is not None and name in vars(api):
            return vars(api)[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    _load(wait=not _in_import())
    return sorted(globals())
