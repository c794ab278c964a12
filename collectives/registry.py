"""Communicator registry: a name (``"single"``, ``"mpi"``, ``"nccl"``, a plug-in's) -> a factory.

A factory is called with keywords only, ``factory(host=..., device=..., timeout=...)``, and returns a
:class:`~disttorch.collectives.base.Communicator`:

* a *world* communicator (``"single"``, ``"mpi"``) is made with ``host=None, device=None``: it spans every
  rank of the job and moves host arrays;
* a *device* communicator (``"nccl"``) is made with ``host`` (the group's host communicator, which it may use
  to bootstrap) and ``device`` (the index of the device whose arrays it moves).

``available`` (optional) says, without side effects such as initialising MPI, whether the factory can work
here. The built-in factories import their library (mpi4py, cupy) only when called.
"""
from __future__ import annotations

from typing import Any, Callable

from .base import Communicator
from .single import SingleCommunicator

Factory = Callable[..., Communicator]

_factories: dict[str, Factory] = {}
_available: dict[str, Callable[[], bool]] = {}


def register_communicator(name: str, factory: Factory, available: Callable[[], bool] | None = None) -> Factory:
    """Make ``factory`` build the communicators called ``name`` (replacing any earlier one); returns it."""
    if not name:
        raise ValueError("a communicator needs a name")
    _factories[name] = factory
    _available[name] = available or (lambda: True)
    return factory


def unregister_communicator(name: str) -> Factory:
    """Remove the communicator factory called ``name``; returns it."""
    factory = _factories.pop(name, None)
    if factory is None:
        raise RuntimeError(f"no communicator named {name!r} to unregister")
    del _available[name]
    return factory


def get_communicator_factory(name: str) -> Factory:
    """The factory registered under ``name``."""
    factory = _factories.get(name)
    if factory is None:
        raise RuntimeError(f"no communicator named {name!r} (known: {', '.join(communicator_names())})")
    return factory


def make_communicator(name: str, host: Communicator | None = None, device: int | None = None,
                      timeout: float | None = None) -> Communicator:
    """A new communicator from the factory registered under ``name``."""
    return get_communicator_factory(name)(host=host, device=device, timeout=timeout)


def communicator_available(name: str) -> bool:
    """Whether the communicator called ``name`` is registered and can work in this process."""
    check = _available.get(name)
    return check is not None and bool(check())


def communicator_names() -> list[str]:
    return sorted(_factories)


# -- the built-in communicators --------------------------------------------------------------------------
def _single(host: Any = None, device: Any = None, timeout: float | None = None) -> Communicator:
    return SingleCommunicator(timeout=timeout)


def _mpi(host: Any = None, device: Any = None, timeout: float | None = None) -> Communicator:
    from .mpi import MPICommunicator  # importing mpi4py.MPI initialises MPI: only when asked for

    return MPICommunicator(timeout=timeout)


def _mpi_importable() -> bool:
    try:
        import mpi4py  # noqa: F401  (the package only: MPI itself starts with mpi4py.MPI)
    except ImportError:
        return False
    return True


def _nccl(host: Any = None, device: int | None = None, timeout: float | None = None) -> Communicator:
    from .nccl import NCCLCommunicator

    if host is None:
        raise ValueError("an NCCL communicator needs a host communicator to bootstrap over")
    return NCCLCommunicator(host, device, timeout, bool(getattr(host, "debug", False)))


def _nccl_available() -> bool:
    from .nccl import nccl_available

    return nccl_available()


register_communicator("single", _single)
register_communicator("mpi", _mpi, _mpi_importable)
register_communicator("nccl", _nccl, _nccl_available)
