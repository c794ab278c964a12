"""torch.utils (dlpack for now; data loading comes with the nn/data work)."""
from . import dlpack
from . import data
from . import checkpoint
from ._swap_tensors import swap_tensors
