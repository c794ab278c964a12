"""Learning-rate schedulers with PyTorch's API, one family per file.

Schedulers are chainable: ``get_lr`` computes the next learning rate from the group's current one
(the recursive form), so that several schedulers can act on one optimizer. ``step(epoch)`` with an
explicit epoch uses the closed form where a scheduler has one, as PyTorch does.
"""
from .base import LRScheduler, _LRScheduler
from .epoch_schedules import (
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)
from .composite import ChainedScheduler, SequentialLR
from .plateau import ReduceLROnPlateau
from .cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR

__all__ = [
    "LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
    "ExponentialLR", "SequentialLR", "PolynomialLR", "CosineAnnealingLR", "ChainedScheduler", "ReduceLROnPlateau",
    "CyclicLR", "CosineAnnealingWarmRestarts", "OneCycleLR",
]

# the classes answer to this package's path, as PyTorch's do to torch.optim.lr_scheduler
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
