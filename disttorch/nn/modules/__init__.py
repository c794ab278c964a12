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
from .fractional import *
from .legacy import *
from .adaptive import *
from .linear_cross_entropy import *

# PyTorch's module paths for classes defined in spatial.py, extras.py and lazy.py (pickles name a class by its
# module): each listed class is also an attribute of PyTorch's module and names it as its __module__
from . import channelshuffle, distance, fold, pixelshuffle, upsampling  # noqa: F401 (files at PyTorch's paths)
from . import batchnorm, container, conv, extras, fractional, instancenorm, lazy, legacy, linear, loss, normalization
from . import linear_cross_entropy, linear_cross_entropy_options, pooling, spatial  # noqa: F401
from ._paths import publish_at as _publish_at
from .. import parameter as _parameter

_AT_TORCH_PATHS = {
    pooling: (spatial, "LPPool1d LPPool2d LPPool3d MaxUnpool1d MaxUnpool2d MaxUnpool3d"),
    normalization: (None, "LocalResponseNorm RMSNorm"), loss: (extras, "MultiLabelMarginLoss CTCLoss"),
    container: (extras, "Container"), linear: (lazy, "LazyLinear"),
    conv: (lazy, "LazyConv1d LazyConv2d LazyConv3d LazyConvTranspose1d LazyConvTranspose2d LazyConvTranspose3d"),
    batchnorm: (lazy, "LazyBatchNorm1d LazyBatchNorm2d LazyBatchNorm3d"),
    instancenorm: (lazy, "LazyInstanceNorm1d LazyInstanceNorm2d LazyInstanceNorm3d"),
    _parameter: (lazy, "UninitializedParameter UninitializedBuffer"),
}
_MORE_AT_TORCH_PATHS = [(pooling, fractional, "FractionalMaxPool2d FractionalMaxPool3d"),
                        (normalization, legacy, "CrossMapLRN2d"), (loss, legacy, "NLLLoss2d"),
                        (loss, linear_cross_entropy, "LinearCrossEntropyLoss")]
for _module, _source, _names in _MORE_AT_TORCH_PATHS:
    _classes = [getattr(_source, n) for n in _names.split()]
    for _cls in _classes:
        setattr(_module, _cls.__name__, _cls)
    _publish_at(_module.__name__, *_classes)
for _module, (_source, _names) in _AT_TORCH_PATHS.items():
    _classes = [globals()[n] if _source is None else getattr(_source, n) for n in _names.split()]
    for _cls in _classes:
        setattr(_module, _cls.__name__, _cls)
    _publish_at(_module.__name__, *_classes)
