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
from .extras import *
from .lazy import *
from .padding import *
from .spatial import *

# PyTorch's module paths for classes defined in spatial.py and extras.py (pickles name a class by its module)
from . import channelshuffle, container, distance, fold, loss, normalization, pixelshuffle, pooling, upsampling
from . import extras as _extras
from . import spatial as _spatial
from ._paths import publish_at as _publish_at

for _module, _classes in ((pooling, (_spatial.LPPool1d, _spatial.LPPool2d, _spatial.LPPool3d, _spatial.MaxUnpool1d,
                                     _spatial.MaxUnpool2d, _spatial.MaxUnpool3d)),
                          (normalization, (_spatial.LocalResponseNorm, _extras.RMSNorm)),
                          (loss, (_extras.MultiLabelMarginLoss,)), (container, (_extras.Container,))):
    for _cls in _classes:
        setattr(_module, _cls.__name__, _cls)
    _publish_at(_module.__name__, *_classes)
