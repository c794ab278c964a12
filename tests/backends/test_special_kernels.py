"""The special-function kernels (erf, erfc, erfinv) of the numpy backend, on raw arrays, against math.erf."""
from __future__ import annotations

import math

import numpy as np
import pytest
from disttorch.backends import special_numpy

from disttorch import backends

NAMES = ("erf", "erfc", "erfinv")


def test_both_backends_offer_the_kernels():
    assert all(backends.get_backend("cpu").kernels[n] is getattr(special_numpy, n) for n in NAMES)
    from disttorch.backends.cupy_backend import _special_kernels  # filled into the table when cupy loads

    assert set(_special_kernels()) == set(special_numpy.kernel_table())  # the same special kernels on both


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_erf_and_erfc_match_math(dtype):
    x = np.concatenate([np.linspace(-12, 12, 2001), [0.0, -0.0, 1e-300, 0.5, 1.0, 3.94, 3.96, 10.0, 27.0]])
    x = x.astype(dtype)
    tol = 1e-14 if dtype == np.float64 else 2e-7
    for name, ref in (("erf", math.erf), ("erfc", math.erfc)):
        got = special_numpy.kernel_table()[name](x)
        assert got.dtype == dtype and got.shape == x.shape
        want = np.array([ref(float(v)) for v in x])
        np.testing.assert_allclose(got, want, rtol=tol, atol=np.finfo(dtype).tiny)  # float32 subnormals round


def test_erfinv_inverts_erf_and_keeps_dtype():
    y = np.linspace(-0.999999, 0.999999, 1001)
    np.testing.assert_allclose(special_numpy.erf(special_numpy.erfinv(y)), y, rtol=1e-14, atol=1e-16)
    assert special_numpy.erfinv(y.astype(np.float32)).dtype == np.float32
    edge = special_numpy.erfinv(np.array([-1.0, 1.0, 0.0, np.nan, 2.0]))
    assert edge[0] == -np.inf and edge[1] == np.inf and edge[2] == 0 and np.isnan(edge[3:]).all()


def test_special_values_and_zero_dim():
    x = np.array([np.nan, np.inf, -np.inf])
    assert np.isnan(special_numpy.erf(x[:1])).all()
    np.testing.assert_array_equal(special_numpy.erf(x[1:]), [1.0, -1.0])
    np.testing.assert_array_equal(special_numpy.erfc(x[1:]), [0.0, 2.0])
    for dtype in (np.float32, np.float64):
        v = special_numpy.erf(np.asarray(0.5, dtype))
        assert v.shape == () and v.dtype == dtype and abs(float(v) - math.erf(0.5)) < 1e-7
