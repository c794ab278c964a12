"""PyTorch's module path torch.nn.modules.channelshuffle (the classes live in spatial.py)."""
from disttorch.nn.modules._paths import publish_at
from disttorch.nn.modules.spatial import ChannelShuffle

__all__ = ["ChannelShuffle"]
publish_at(__name__, ChannelShuffle)
