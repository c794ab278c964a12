"""In-place forms of view ops (``x.unsqueeze_(0)``, ``x.t_()``...): the tensor becomes the view, and in-place
forms of a few shape-family ops that write values (``tril_``, ``triu_``, ``cumsum_``, ``cumprod_``)."""
from __future__ import annotations

from ._register import inplace, inplace_view, methods
from .reduce import cumprod, cumsum
from .shape import squeeze, swapaxes, swapdims, t, transpose, tril, triu, unsqueeze

methods({
    "squeeze_": inplace_view(squeeze), "unsqueeze_": inplace_view(unsqueeze), "t_": inplace_view(t),
    "transpose_": inplace_view(transpose), "swapaxes_": inplace_view(swapaxes, "swapaxes_"),
    "swapdims_": inplace_view(swapdims, "swapdims_"),
    "tril_": inplace(tril), "triu_": inplace(triu), "cumsum_": inplace(cumsum), "cumprod_": inplace(cumprod),
})
