"""nn layers, one family per file; each file lists its public classes in ``__all__``."""
from .module import *
from .container import *
from .flatten import *
from .linear import *
from .activation import *
from .loss import *
from .conv import *
from .pooling import *
from .normalization import *
from .dropout import *
from .sparse import *
from .rnn import *
from .attention import *
from .transformer import *
from .batchnorm_sync import *
from .batchnorm import *
from .instancenorm import *
