"""torch.special's modified Bessel functions of the second kind (K0, K1 and exp(x)-scaled forms) and the Airy
function Ai. PyTorch defines no derivative for them: results never require grad. Integer inputs compute in
the default float dtype; the values are backend kernels (backends/special_airy_k_numpy.py)."""
from __future__ import annotations

from .bessel_normal import _kernel_of, _no_grad_fn

__all__: list[str] = []

modified_bessel_k0 = _no_grad_fn("modified_bessel_k0", _kernel_of("k0"))
modified_bessel_k1 = _no_grad_fn("modified_bessel_k1", _kernel_of("k1"))
scaled_modified_bessel_k0 = _no_grad_fn("scaled_modified_bessel_k0", _kernel_of("k0e"))
scaled_modified_bessel_k1 = _no_grad_fn("scaled_modified_bessel_k1", _kernel_of("k1e"))
airy_ai = _no_grad_fn("airy_ai", _kernel_of("airy_ai"))
