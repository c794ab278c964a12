"""disttorch.optim: optimizers and learning-rate schedulers with PyTorch's API and update rules."""
from . import lr_scheduler
from .adadelta_rprop import Adadelta, Rprop
from .adafactor import Adafactor
from .adagrad import Adagrad
from .asgd import ASGD
from .adam import Adam, AdamW
from .adam_variants import Adamax, NAdam, RAdam
from .lbfgs import LBFGS
from .muon import Muon
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD
from .stateless import swap_in_optimizer_params_and_state

__all__ = ["ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "Muon", "NAdam",
           "Optimizer", "RAdam", "RMSprop", "Rprop", "SGD", "lr_scheduler", "swa_utils",
           "swap_in_optimizer_params_and_state"]


def __getattr__(name: str) -> object:
    # swa_utils builds on nn's Module: imported on first use, so that importing optim never waits on nn (another
    # thread may be importing nn while this one imports optim, and Python then hands one of them a half module)
    if name == "swa_utils":
        from importlib import import_module

        return import_module(f"{__name__}.swa_utils")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"swa_utils"})
