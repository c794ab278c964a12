"""Named result tuples, as ``torch.return_types``: ``values, indices = x.max(0)`` or ``r.values``.

Each class is a tuple with named fields; it is built from one sequence (``max((v, i))``) like
PyTorch's structseq types, and prints as ``torch.return_types.max(\\nvalues=...,\\nindices=...)``.
"""
from __future__ import annotations

from typing import Any, Iterable


class _ReturnType(tuple):
    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __new__(cls, sequence: Iterable[Any]) -> _ReturnType:
        items = tuple(sequence)
        if len(items) != len(cls._fields):
            raise TypeError(f"torch.return_types.{cls.__name__} takes a {len(cls._fields)}-sequence "
                            f"({len(items)}-sequence given)")
        return tuple.__new__(cls, items)

    def __repr__(self) -> str:
        body = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
        return f"torch.return_types.{type(self).__name__}(\n{body})"

    def __reduce__(self) -> Any:
        return type(self), (tuple(self),)


def _make(name: str, *fields: str) -> type:
    namespace: dict[str, Any] = {"__slots__": (), "_fields": fields, "__module__": __name__,
                                 "__qualname__": name,
                                 "n_fields": len(fields), "n_sequence_fields": len(fields)}
    for i, field in enumerate(fields):
        namespace[field] = property(lambda self, i=i: tuple.__getitem__(self, i), doc=f"Alias for field {i}")
    return type(name, (_ReturnType,), namespace)


max = _make("max", "values", "indices")
min = _make("min", "values", "indices")
sort = _make("sort", "values", "indices")
topk = _make("topk", "values", "indices")
median = _make("median", "values", "indices")
nanmedian = _make("nanmedian", "values", "indices")
kthvalue = _make("kthvalue", "values", "indices")
mode = _make("mode", "values", "indices")
cummax = _make("cummax", "values", "indices")
cummin = _make("cummin", "values", "indices")
aminmax = _make("aminmax", "min", "max")
frexp = _make("frexp", "mantissa", "exponent")
histogram = _make("histogram", "hist", "bin_edges")
slogdet = _make("slogdet", "sign", "logabsdet")
qr = _make("qr", "Q", "R")
svd = _make("svd", "U", "S", "V")
geqrf = _make("geqrf", "a", "tau")
linalg_slogdet = _make("linalg_slogdet", "sign", "logabsdet")
linalg_qr = _make("linalg_qr", "Q", "R")
linalg_svd = _make("linalg_svd", "U", "S", "Vh")
linalg_eig = _make("linalg_eig", "eigenvalues", "eigenvectors")
linalg_eigh = _make("linalg_eigh", "eigenvalues", "eigenvectors")
linalg_inv_ex = _make("linalg_inv_ex", "inverse", "info")
linalg_cholesky_ex = _make("linalg_cholesky_ex", "L", "info")
linalg_lu = _make("linalg_lu", "P", "L", "U")
linalg_lu_factor = _make("linalg_lu_factor", "LU", "pivots")
linalg_lstsq = _make("linalg_lstsq", "solution", "residuals", "rank", "singular_values")
linalg_lu_factor_ex = _make("linalg_lu_factor_ex", "LU", "pivots", "info")
lu_unpack = _make("lu_unpack", "P", "L", "U")
triangular_solve = _make("triangular_solve", "solution", "cloned_coefficient")
_lu_with_info = _make("_lu_with_info", "LU", "pivots", "info")

__all__ = ["max", "min", "sort", "topk", "median", "nanmedian", "kthvalue", "mode", "cummax", "cummin", "aminmax",
           "frexp", "histogram", "slogdet", "qr", "svd", "geqrf", "linalg_slogdet", "linalg_qr", "linalg_svd",
           "linalg_eig", "linalg_eigh", "linalg_inv_ex", "linalg_cholesky_ex", "linalg_lu", "linalg_lu_factor",
           "linalg_lstsq", "linalg_lu_factor_ex", "lu_unpack", "triangular_solve"]
