"""``torch.onnx``: importable, so scripts that mention it load; exporting a model is not supported."""
from __future__ import annotations

from typing import Any

__all__ = ["export", "dynamo_export", "is_in_onnx_export", "OperatorExportTypes", "TrainingMode"]


def export(model: Any, args: Any = (), f: Any = None, *more: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("disttorch cannot export models to ONNX: load the state_dict into the same model "
                              "in PyTorch and call torch.onnx.export there")


dynamo_export = export


def is_in_onnx_export() -> bool:
    return False


class OperatorExportTypes:
    ONNX, ONNX_ATEN, ONNX_ATEN_FALLBACK, ONNX_FALLTHROUGH = range(4)


class TrainingMode:
    EVAL, PRESERVE, TRAINING = range(3)
