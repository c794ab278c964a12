"""torch.nn.parallel: data parallelism across processes."""
from .distributed import DistributedDataParallel
from .data_parallel import DataParallel

__all__ = ["DistributedDataParallel"]
