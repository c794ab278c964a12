"""Linear algebra ops, one sub-family per module:

- ``products``: matmul, mm, bmm, mv, dot, vdot, inner, outer, addmm/addmv/addbmm/baddbmm, chain_matmul
- ``contractions``: einsum, tensordot, kron, cross, trace
- ``inverses``: det, slogdet, logdet, inv, inverse, solve, matrix_power
- ``decompositions``: cholesky, qr, svd, eigh, the pseudo-inverse
- ``triangular``: solve_triangular, triangular_solve
- ``lu``: lu_factor(_ex), lu, lu_unpack, lu_solve (torch.linalg's and the older torch ones)
- ``lstsq``: linalg.lstsq; ``tensor_solvers``: tensorinv, tensorsolve, cond

Every backward is written with these ops plus views and arithmetic, so that gradients of gradients work.
``disttorch.linalg`` (torch.linalg) is the public face of most of them and reads the private names below.
"""
from __future__ import annotations

from ._common import (  # noqa: F401
    LinAlgError,
    _broadcast_shapes,
    _check_float,
    _check_square,
    _diag_embed,
    _mH,
    _reshape,
)
from .contractions import *  # noqa: F403
from .contractions import _LETTERS, Cross, Einsum, Trace, _cross  # noqa: F401
from .contractions import __all__ as _contractions
from .decompositions import *  # noqa: F403
from .decompositions import (  # noqa: F401
    LinalgCholeskyEx,
    LinalgEigh,
    LinalgPinv,
    LinalgQr,
    LinalgSvd,
    _eigh,
    _qr,
    _svd,
    _tolerance,
    pinv,
)
from .decompositions import __all__ as _decompositions
from .inverses import *  # noqa: F403
from .inverses import LinalgDet, LinalgInvEx, LinalgSlogdet, LinalgSolveEx, _slogdet, inv, solve  # noqa: F401
from .inverses import __all__ as _inverses
from .extras import *  # noqa: F403
from .extras import __all__ as _extras
from .products import *  # noqa: F403
from .triangular import *  # noqa: F403
from .triangular import LinalgSolveTriangular, TriangularSolve, solve_triangular  # noqa: F401
from .triangular import __all__ as _triangular
from .lu import *  # noqa: F403
from .lu import (  # noqa: F401
    LinalgLuFactorEx,
    LinalgLuSolve,
    LuUnpack,
    linalg_lu,
    linalg_lu_factor,
    linalg_lu_factor_ex,
    linalg_lu_solve,
)
from .lu import __all__ as _lu
from .lstsq import lstsq  # noqa: F401
from .eig_householder import *  # noqa: F403
from .eig_householder import LinalgEig, householder_product, linalg_eig, linalg_eigvals  # noqa: F401
from .eig_householder import __all__ as _eig_householder
from .lowrank import *  # noqa: F403
from .lowrank import __all__ as _lowrank
from .lobpcg import lobpcg  # noqa: F401
from .tensor_solvers import cond, tensorinv, tensorsolve  # noqa: F401
from .products import Addbmm, Addmm, Addmv, Baddbmm, Bmm, Dot, Matmul, Mm, Mv, Vdot, multi_dot  # noqa: F401
from .products import __all__ as _products

__all__ = (_products + _contractions + _inverses + _decompositions + _extras + _triangular + _lu
           + _eig_householder + _lowrank + ["lobpcg"])
