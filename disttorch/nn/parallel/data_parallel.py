"""PyTorch's module path torch.nn.parallel.data_parallel (the class lives in nn/modules/extras.py)."""
from disttorch.nn.modules._paths import publish_at
from disttorch.nn.modules.extras import DataParallel

__all__ = ["DataParallel"]
publish_at(__name__, DataParallel)
