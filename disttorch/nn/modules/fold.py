"""PyTorch's module path torch.nn.modules.fold (the classes live in spatial.py)."""
from disttorch.nn.modules._paths import publish_at
from disttorch.nn.modules.spatial import Fold, Unfold

__all__ = ["Fold", "Unfold"]
publish_at(__name__, Fold, Unfold)
