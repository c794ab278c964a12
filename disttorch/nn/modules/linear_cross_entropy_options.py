"""LinearCrossEntropyOptions at PyTorch's module path (defined with the functional in
nn/_functional/linear_cross_entropy.py)."""
from disttorch.nn._functional.linear_cross_entropy import LinearCrossEntropyOptions

__all__ = ["LinearCrossEntropyOptions"]
