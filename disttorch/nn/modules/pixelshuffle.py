"""PyTorch's module path torch.nn.modules.pixelshuffle (the classes live in spatial.py)."""
from disttorch.nn.modules._paths import publish_at
from disttorch.nn.modules.spatial import PixelShuffle, PixelUnshuffle

__all__ = ["PixelShuffle", "PixelUnshuffle"]
publish_at(__name__, PixelShuffle, PixelUnshuffle)
