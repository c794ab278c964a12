"""torch.nn: modules (``nn/modules/<family>.py``), functional, init, utils."""
from . import functional, init
from .modules import *
from .modules.module import Module
from .parameter import Buffer, Parameter
from . import utils
from . import parallel
from . import grad
