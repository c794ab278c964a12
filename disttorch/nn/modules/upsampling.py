"""PyTorch's module path torch.nn.modules.upsampling (the classes live in spatial.py)."""
from disttorch.nn.modules._paths import publish_at
from disttorch.nn.modules.spatial import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
publish_at(__name__, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d)
