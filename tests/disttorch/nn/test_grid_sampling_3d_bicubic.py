"""grid_sample on 5-d input (trilinear, nearest) and 2-d bicubic, affine_grid for 3-d transforms: values and
gradients (input and grid) against PyTorch, float64 gradcheck, errors."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import check, gradcheck

import disttorch

torch = pytest.importorskip("torch")

R = np.random.default_rng(0)
X2, G2 = R.standard_normal((2, 3, 5, 6)), R.uniform(-1.3, 1.3, (2, 4, 3, 2))
X3, G3 = R.standard_normal((2, 2, 4, 5, 6)), R.uniform(-1.2, 1.2, (2, 3, 2, 4, 3))


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode,x,g", [("bilinear", X3, G3), ("nearest", X3, G3), ("bicubic", X2, G2)])
def test_grid_sample_as_pytorch(mode, x, g, padding_mode, align_corners):
    for dtype in (np.float32, np.float64):
        tol = 1e-4 if dtype == np.float32 else 1e-10
        check(lambda lib, X, G: lib.nn.functional.grid_sample(X, G, mode, padding_mode, align_corners),
              [x.astype(dtype), g.astype(dtype)], rtol=tol, atol=tol)


@pytest.mark.parametrize("mode,x,g", [("bilinear", X3, G3), ("bicubic", X2, G2)])
def test_grid_sample_gradcheck(mode, x, g):
    gradcheck(lambda lib, X, G: lib.nn.functional.grid_sample(X, G, mode, "zeros", False), [x[:1, :1], g[:1]])
    gradcheck(lambda lib, X, G: lib.nn.functional.grid_sample(X, G, mode, "border", True), [x[:1, :1], g[:1]])


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_3d_as_pytorch(align_corners):
    theta = R.standard_normal((2, 3, 4))
    check(lambda lib, T: lib.nn.functional.affine_grid(T, (2, 3, 3, 4, 5), align_corners), [theta],
          rtol=1e-10, atol=1e-12)
    gradcheck(lambda lib, T: lib.nn.functional.affine_grid(T, (2, 1, 2, 3, 2), align_corners), [theta])
    # the grid feeds a 3-d sample, end to end
    check(lambda lib, T, X: lib.nn.functional.grid_sample(
        X, lib.nn.functional.affine_grid(T, (2, 2, 3, 3, 3), align_corners), align_corners=align_corners),
        [theta * 0.5, X3], rtol=1e-10, atol=1e-10)


def test_errors_as_pytorch():
    for lib in (disttorch, torch):
        with pytest.raises(ValueError, match="Expected a batch of 3D affine matrices of shape Nx3x4"):
            lib.nn.functional.affine_grid(lib.zeros(1, 2, 3), (1, 1, 2, 2, 2), False)
        with pytest.raises(NotImplementedError, match="affine_grid only supports 4D and 5D sizes"):
            lib.nn.functional.affine_grid(lib.zeros(1, 2, 3), (1, 1, 2), False)
        with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D input"):
            lib.nn.functional.grid_sample(lib.zeros(1, 1, 2, 2, 2), lib.zeros(1, 1, 1, 1, 3), "bicubic",
                                          align_corners=False)


@pytest.mark.parametrize("mode,padding", [(0, 0), (1, 1), (0, 2)])
def test_grid_sampler_3d_as_pytorch(mode, padding):
    check(lambda lib, X, G: lib.grid_sampler_3d(X, G, mode, padding, False), [X3, G3], rtol=1e-10, atol=1e-10)
    check(lambda lib, X, G: lib.grid_sampler(X, G, 2, padding, True), [X2, G2], rtol=1e-10, atol=1e-10)
