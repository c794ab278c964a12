"""Batch norm at PyTorch's path ``nn.modules.batchnorm``; the classes live in normalization.py and
batchnorm_sync.py."""
from disttorch.nn.modules._paths import publish_at
from disttorch.nn.modules.batchnorm_sync import SyncBatchNorm
from disttorch.nn.modules.normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, _BatchNorm, _NormBase

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"]

publish_at(__name__, _NormBase, _BatchNorm, BatchNorm1d, BatchNorm2d, BatchNorm3d, SyncBatchNorm)
