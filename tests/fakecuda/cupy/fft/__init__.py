"""``cupy.fft`` of the stand-in: numpy's transforms on device arrays (cupy docs, "Discrete Fourier Transform")."""
from __future__ import annotations

import numpy as np

from .._funcs import _routine

_NAMES = ("fft ifft fft2 ifft2 fftn ifftn rfft irfft rfft2 irfft2 rfftn irfftn hfft ihfft fftfreq rfftfreq fftshift "
          "ifftshift").split()
for _name in _NAMES:
    globals()[_name] = _routine(_name, getattr(np.fft, _name))
__all__ = list(_NAMES)
