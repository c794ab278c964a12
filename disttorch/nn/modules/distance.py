"""PyTorch's module path torch.nn.modules.distance (the classes live in extras.py)."""
from disttorch.nn.modules._paths import publish_at
from disttorch.nn.modules.extras import CosineSimilarity, PairwiseDistance

__all__ = ["CosineSimilarity", "PairwiseDistance"]
publish_at(__name__, CosineSimilarity, PairwiseDistance)
