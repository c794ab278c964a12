"""affine_grid and grid_sample against PyTorch: values and gradients for input, grid and theta."""
import numpy as np
import pytest
from oracle import check, gradcheck, randn, same_error

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 7), (1, 1, 5, 1)])
def test_affine_grid(align_corners, size):
    th = randn(size[0], 2, 3)
    check(lambda m, t: m.nn.functional.affine_grid(t, size, align_corners=align_corners), [th])
    gradcheck(lambda m, t: m.nn.functional.affine_grid(t, size, align_corners=align_corners),
              [th.astype(np.float64)])


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample(mode, padding_mode, align_corners):
    x = randn(2, 3, 5, 6)
    # grid points spread beyond [-1, 1], kept away from pixel centres and cell edges (non-smooth points)
    g = np.random.default_rng(1).uniform(-1.6, 1.6, size=(2, 4, 3, 2)).astype(np.float32)

    def fn(m, a, b):
        return m.nn.functional.grid_sample(a, b, mode=mode, padding_mode=padding_mode, align_corners=align_corners)

    check(fn, [x, g], grad=[True, mode == "bilinear"], rtol=1e-4, atol=1e-5)
    if mode == "bilinear":
        gradcheck(fn, [x.astype(np.float64), g.astype(np.float64)], atol=1e-4)


def test_grid_sample_affine_chain():
    x, th = randn(2, 2, 6, 6), randn(2, 2, 3, seed=2) * 0.5

    def fn(m, a, t):
        return m.nn.functional.grid_sample(a, m.nn.functional.affine_grid(t, (2, 2, 4, 5), align_corners=False),
                                           align_corners=False)

    check(fn, [x, th], rtol=1e-4, atol=1e-5)


def test_grid_sampling_errors():
    same_error(lambda m, t: m.nn.functional.affine_grid(t, (2, 3, 4, 5)), [randn(2, 3, 3)])
    same_error(lambda m, a, b: m.nn.functional.grid_sample(a, b, mode="cubic"), [randn(1, 1, 3, 3),
                                                                                  randn(1, 2, 2, 2)])
    same_error(lambda m, a, b: m.nn.functional.grid_sample(a, b, padding_mode="wrap"), [randn(1, 1, 3, 3),
                                                                                         randn(1, 2, 2, 2)])


def test_torch_level_forms():
    x, g = randn(1, 2, 4, 4), np.random.default_rng(3).uniform(-1.2, 1.2, size=(1, 3, 3, 2)).astype(np.float32)
    check(lambda m, a, b: m.grid_sampler(a, b, 0, 2, False), [x, g], rtol=1e-4, atol=1e-5)
    check(lambda m, a, b: m.grid_sampler_2d(a, b, 1, 1, True), [x, g], grad=[True, False])
    check(lambda m, t: m.affine_grid_generator(t, [1, 2, 3, 4], True), [randn(1, 2, 3)])
