"""The public surface (Tensor attributes and the torch namespace) never loses a name.

``data/public_surface.txt`` was recorded before the op-layout refactor: every name with its kind
(callable, property, module, attribute). Refactors must keep each one, with the same kind; new names may
be added (the file is then refreshed with ``python tests/disttorch/test_public_surface.py --write``).
"""
from __future__ import annotations

import inspect
import os
import sys

import disttorch

SNAPSHOT = os.path.join(os.path.dirname(__file__), "data", "public_surface.txt")


def current_surface() -> dict[str, str]:
    rows = {}
    for n in dir(disttorch.Tensor):
        v = inspect.getattr_static(disttorch.Tensor, n)
        rows[f"Tensor.{n}"] = ("property" if isinstance(v, property) else
                               "callable" if callable(v) or isinstance(v, (staticmethod, classmethod)) else "attribute")
    for n in dir(disttorch):
        if n.startswith("_"):
            continue
        v = getattr(disttorch, n)
        rows[f"torch.{n}"] = "module" if inspect.ismodule(v) else "callable" if callable(v) else "attribute"
    return rows


def recorded_surface() -> dict[str, str]:
    with open(SNAPSHOT) as f:
        return dict(line.split() for line in f if line.strip())


def test_no_public_name_is_lost():
    now = current_surface()
    lost = sorted(name for name in recorded_surface() if name not in now)
    assert not lost, f"public names gone: {lost}"


def test_every_public_name_keeps_its_kind():
    now = current_surface()
    changed = sorted(f"{name}: {kind} -> {now[name]}" for name, kind in recorded_surface().items()
                     if name in now and now[name] != kind)
    assert not changed, f"public names that changed kind: {changed}"


if __name__ == "__main__" and "--write" in sys.argv:
    merged = {**recorded_surface(), **current_surface()}
    with open(SNAPSHOT, "w") as f:
        f.writelines(f"{name} {kind}\n" for name, kind in sorted(merged.items()))
