"""torch.nn.functional. The math lives in ``disttorch/nn/_functional/<family>.py``."""
from disttorch._torch_function import (  # noqa: F401  (torch.overrides' helpers, as PyTorch's F has them)
    handle_torch_function,
    has_torch_function,
    has_torch_function_unary,
    has_torch_function_variadic,
)

from ._functional.activation import *
from ._functional.attention import *
from ._functional.conv import *
from ._functional.conv_tbc import *
from ._functional.dropout import *
from ._functional.extras import *
from ._functional.fractional_pool import *
from ._functional.grouped_scaled_mm import *
from ._functional.linear import *
from ._functional.linear_cross_entropy import linear_cross_entropy
from ._functional.loss import *
from ._functional.loss_ctc import *
from ._functional.misc import *
from ._functional.normalization import *
from ._functional.pooling import *
from ._functional.sampling import *
from ._functional.sparse import *
from ._functional.spatial import *
