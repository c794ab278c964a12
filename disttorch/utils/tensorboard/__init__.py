"""torch.utils.tensorboard: SummaryWriter writing event files through the ``tensorboard`` package."""
# Without the package this raises ModuleNotFoundError naming it, as PyTorch does.
import tensorboard  # noqa: F401

from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
