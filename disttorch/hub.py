"""``torch.hub``: models from a ``hubconf.py`` and weights from URLs, with PyTorch's cache layout
(``$TORCH_HOME/hub``, default ``~/.cache/torch/hub``; checkpoints under ``hub/checkpoints``).

``source="local"`` loads the entry points of a local repository. A GitHub repository (``owner/name[:ref]``) is
used when it is already in the cache (``hub/owner_name_ref``, as PyTorch leaves it); disttorch does not fetch
repositories. ``load_state_dict_from_url`` reads a cached file, else downloads it with ``urllib``.
"""
from __future__ import annotations

import builtins
import hashlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse
from urllib.request import Request, urlopen

__all__ = ["get_dir", "set_dir", "load", "list", "help", "load_state_dict_from_url", "download_url_to_file"]

MODULE_HUBCONF = "hubconf.py"
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
_hub_dir: list[str | None] = [None]


def get_dir() -> str:
    """The hub cache folder: ``set_dir``'s, else ``$TORCH_HOME/hub``, else ``$XDG_CACHE_HOME/torch/hub``."""
    if _hub_dir[0] is not None:
        return _hub_dir[0]
    home = os.getenv("TORCH_HOME") or os.path.join(os.getenv("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                                                   "torch")
    return os.path.join(os.path.expanduser(home), "hub")


def set_dir(d: str | os.PathLike) -> None:
    _hub_dir[0] = os.path.expanduser(os.fspath(d))


def _repo_dir(repo_or_dir: str, source: str) -> str:
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "local":
        return repo_or_dir
    owner_name, _, ref = repo_or_dir.partition(":")
    if "/" not in owner_name:
        raise ValueError(f'Invalid input: repo_or_dir must be of the form "repo_owner/repo_name[:ref]", got '
                         f"{repo_or_dir!r}")
    owner, name = owner_name.split("/", 1)
    cached = os.path.join(get_dir(), "_".join([owner, name, ref or "main"]))
    if not os.path.isdir(cached) and not ref:
        cached = os.path.join(get_dir(), "_".join([owner, name, "master"]))
    if not os.path.isdir(cached):
        raise RuntimeError(f"torch.hub: {repo_or_dir!r} is not in the hub cache ({get_dir()}); disttorch does not "
                           "download repositories: clone it and use source='local', or place it in the cache")
    return cached


def _hubconf(repo_dir: str) -> Any:
    path = os.path.join(repo_dir, MODULE_HUBCONF)
    if not os.path.isfile(path):
        raise RuntimeError(f"Cannot find {MODULE_HUBCONF} in {repo_dir}")
    spec = importlib.util.spec_from_file_location("hubconf", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, repo_dir)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(repo_dir)
    missing = [dep for dep in getattr(module, "dependencies", []) if importlib.util.find_spec(dep) is None]
    if missing:
        raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")
    return module


def _entry(module: Any, model: str) -> Callable:
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    fn = getattr(module, model, None)
    if fn is None or not callable(fn):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return fn


def list(github: str, force_reload: bool = False, skip_validation: bool = False, trust_repo: Any = "check",
         verbose: bool = True, *, source: str = "github") -> builtins.list[str]:
    """The entry points (public callables) of a repository's ``hubconf.py``."""
    module = _hubconf(_repo_dir(github, source))
    return [name for name in dir(module) if callable(getattr(module, name)) and not name.startswith("_")]


def help(github: str, model: str, force_reload: bool = False, skip_validation: bool = False,
         trust_repo: Any = "check", *, source: str = "github") -> str | None:
    """The docstring of an entry point."""
    return _entry(_hubconf(_repo_dir(github, source)), model).__doc__


def load(repo_or_dir: str, model: str, *args: Any, source: str = "github", trust_repo: Any = "check",
         force_reload: bool = False, verbose: bool = True, skip_validation: bool = False, **kwargs: Any) -> Any:
    """``model(*args, **kwargs)`` of a repository's ``hubconf.py`` (a local folder, or a cached GitHub repo)."""
    return _entry(_hubconf(_repo_dir(os.path.expanduser(repo_or_dir) if source == "local" else repo_or_dir,
                                     source)), model)(*args, **kwargs)


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None, progress: bool = True) -> None:
    """Download ``url`` to ``dst`` (through a temporary file next to it), checking the SHA256 prefix if given."""
    request = Request(url, headers={"User-Agent": "disttorch.hub"})
    folder = os.path.dirname(os.path.abspath(dst))
    with urlopen(request) as response, tempfile.NamedTemporaryFile(delete=False, dir=folder) as tmp:
        digest = hashlib.sha256()
        while chunk := response.read(1 << 20):
            tmp.write(chunk)
            digest.update(chunk)
    try:
        if hash_prefix is not None and not digest.hexdigest().startswith(hash_prefix):
            raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest.hexdigest()}")')
        shutil.move(tmp.name, dst)
    finally:
        if os.path.exists(tmp.name):
            os.remove(tmp.name)


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location: Any = None,
                             progress: bool = True, check_hash: bool = False, file_name: str | None = None,
                             weights_only: bool = False) -> dict[str, Any]:
    """``torch.load`` of the file behind ``url``, from ``<hub dir>/checkpoints`` when it is there already."""
    from .serialization import load as _load

    model_dir = model_dir or os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name or os.path.basename(urlparse(url).path)
    cached = os.path.join(model_dir, filename)
    if not os.path.exists(cached):
        sys.stderr.write(f'Downloading: "{url}" to {cached}\n')
        match = HASH_REGEX.search(filename) if check_hash else None
        download_url_to_file(url, cached, match.group(1) if match else None, progress=progress)
    return _load(cached, map_location=map_location, weights_only=weights_only)
