"""Every public class of torch.nn is importable from disttorch at PyTorch's module path (torch -> disttorch),
with that path as its ``__module__``: pickles and allow-lists (``add_safe_globals``) name classes so."""
from __future__ import annotations

import importlib
import inspect
import os
import pickle

import pytest

torch = pytest.importorskip("torch")

import disttorch  # noqa: E402

REVIEWED = os.path.join(os.path.dirname(__file__), "..", "data", "api_reviewed.txt")


def _listed_missing() -> set[str]:
    """Names the reviewed file marks ``missing`` (not provided yet)."""
    with open(REVIEWED) as f:
        rows = [line.split() for line in f if line.startswith("torch.")]
    return {row[0] for row in rows if row[1:] == ["missing"]}


def _torch_nn_classes() -> list[tuple[str, str]]:
    """(name, defining module) of each public class torch.nn exports from its own package."""
    return sorted((name, obj.__module__) for name, obj in vars(torch.nn).items()
                  if not name.startswith("_") and inspect.isclass(obj) and obj.__module__.startswith("torch.nn"))


def _ours(torch_module: str) -> str:
    return "dist" + torch_module


def test_every_provided_class_is_at_pytorchs_path():
    missing = _listed_missing()
    wrong = []
    for name, module in _torch_nn_classes():
        if not hasattr(disttorch.nn, name):
            assert f"torch.nn.{name}" in missing, f"torch.nn.{name} neither provided nor listed as missing"
            continue
        cls = getattr(disttorch.nn, name)
        try:
            at_path = getattr(importlib.import_module(_ours(module)), name)
        except (ImportError, AttributeError) as exc:
            wrong.append(f"{name}: {exc}")
            continue
        if at_path is not cls or cls.__module__ != _ours(module):
            wrong.append(f"{name}: {_ours(module)}.{name} is {at_path!r}, __module__ {cls.__module__}")
    assert not wrong, wrong


@pytest.mark.parametrize("path", [
    "activation.MultiheadAttention", "linear.Linear", "linear.NonDynamicallyQuantizableLinear", "conv.Conv2d",
    "batchnorm.BatchNorm2d", "batchnorm.SyncBatchNorm", "instancenorm.InstanceNorm2d", "loss.CrossEntropyLoss",
    "sparse.Embedding", "container.Sequential", "dropout.Dropout", "normalization.LayerNorm", "rnn.LSTM",
    "transformer.TransformerEncoderLayer", "pooling.MaxPool2d", "flatten.Flatten",
])
def test_named_paths(path):
    module, name = path.rsplit(".", 1)
    ours = getattr(importlib.import_module(f"disttorch.nn.modules.{module}"), name)
    theirs = getattr(importlib.import_module(f"torch.nn.modules.{module}"), name)
    assert ours.__module__ == _ours(theirs.__module__)
    assert ours.__qualname__ == theirs.__qualname__


def test_out_proj_is_non_dynamically_quantizable_linear():
    from disttorch.nn.modules.linear import Linear, NonDynamicallyQuantizableLinear
    mha = disttorch.nn.MultiheadAttention(8, 2)
    assert type(mha.out_proj) is NonDynamicallyQuantizableLinear
    assert isinstance(mha.out_proj, Linear)
    assert "NonDynamicallyQuantizableLinear" in repr(mha)


def test_modules_pickle_through_their_paths():
    for m in (disttorch.nn.BatchNorm2d(3), disttorch.nn.InstanceNorm1d(3), disttorch.nn.MultiheadAttention(4, 2)):
        back = pickle.loads(pickle.dumps(m))
        assert type(back) is type(m)
