"""Instance norm at PyTorch's path ``nn.modules.instancenorm``; the classes live in normalization.py."""
from disttorch.nn.modules._paths import publish_at
from disttorch.nn.modules.normalization import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, _InstanceNorm

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]

publish_at(__name__, _InstanceNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d)
