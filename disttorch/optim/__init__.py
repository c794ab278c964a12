"""disttorch.optim: optimizers and learning-rate schedulers with PyTorch's API and update rules."""
from . import lr_scheduler, swa_utils
from .adadelta_rprop import Adadelta, Rprop
from .adafactor import Adafactor
from .adagrad import Adagrad
from .asgd import ASGD
from .adam import Adam, AdamW
from .adam_variants import Adamax, NAdam, RAdam
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "NAdam", "Optimizer",
           "RAdam", "RMSprop", "Rprop", "SGD", "lr_scheduler", "swa_utils"]
