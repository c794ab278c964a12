"""Spatial layers against PyTorch: padding modules, shuffles, unfold / fold, LP pooling, local response
normalisation, max unpooling, adaptive max pooling 3d, upsampling modules and the top-level torch aliases."""
import numpy as np
import pytest
from oracle import check, gradcheck, randn, same_error

torch = pytest.importorskip("torch")

PADS = [
    ("ZeroPad1d", (3, 4, 5), (1, 2), {}),
    ("ZeroPad2d", (2, 3, 4, 5), (1, 0, 2, 1), {}),
    ("ZeroPad3d", (1, 2, 3, 4, 5), 1, {}),
    ("ConstantPad1d", (4, 5), (2, 1), {"value": 3.5}),
    ("ConstantPad2d", (2, 3, 4, 5), (1, -1, 2, 0), {"value": -1.0}),
    ("ConstantPad3d", (2, 3, 3, 4, 5), (1, 2, 0, 1, 2, 0), {"value": 2.0}),
    ("ReflectionPad1d", (2, 3, 5), (2, 4), {}),
    ("ReflectionPad2d", (2, 3, 4, 5), (1, 2, 3, 0), {}),
    ("ReflectionPad3d", (1, 2, 3, 4, 5), (1, 2, 2, 1, 0, 2), {}),
    ("ReplicationPad1d", (3, 5), 3, {}),
    ("ReplicationPad2d", (2, 3, 4, 5), (1, 2, 3, 6), {}),
    ("ReplicationPad3d", (2, 3, 3, 4, 5), (1, 2, 2, 1, 0, 2), {}),
    ("CircularPad1d", (2, 3, 5), (2, 4), {}),
    ("CircularPad2d", (2, 3, 4, 5), (1, 2, 3, 0), {}),
    ("CircularPad3d", (1, 2, 3, 4, 5), (1, 2, 2, 1, 0, 2), {}),
]


@pytest.mark.parametrize("name,shape,padding,kw", PADS)
def test_padding_modules(name, shape, padding, kw):
    x = randn(*shape)
    check(lambda m, a: getattr(m.nn, name)(padding, **kw)(a), [x])
    gradcheck(lambda m, a: getattr(m.nn, name)(padding, **kw)(a), [x.astype(np.float64)])


def test_padding_repr_and_errors():
    import disttorch
    assert repr(disttorch.nn.ZeroPad2d(1)) == repr(torch.nn.ZeroPad2d(1))
    assert repr(disttorch.nn.ConstantPad1d((1, 2), 3.0)) == repr(torch.nn.ConstantPad1d((1, 2), 3.0))
    assert repr(disttorch.nn.ReflectionPad2d(2)) == repr(torch.nn.ReflectionPad2d(2))
    same_error(lambda m, a: m.nn.ReflectionPad1d(5)(a), [randn(2, 3, 4)])
    same_error(lambda m, a: m.nn.CircularPad1d(5)(a), [randn(2, 3, 4)])


@pytest.mark.parametrize("shape,r", [((2, 8, 3, 4), 2), ((18, 2, 3), 3), ((2, 1, 4, 4, 2), 1), ((1, 2, 8, 4, 4), 2)])
def test_pixel_shuffle(shape, r):
    x = randn(*shape)
    check(lambda m, a: m.nn.functional.pixel_shuffle(a, r), [x])
    check(lambda m, a: m.nn.PixelShuffle(r)(a), [x])
    check(lambda m, a: m.pixel_shuffle(a, r), [x])
    y = randn(*shape[:-3], shape[-3], shape[-2] * r, shape[-1] * r)
    check(lambda m, a: m.nn.functional.pixel_unshuffle(a, r), [y])
    check(lambda m, a: m.nn.PixelUnshuffle(r)(a), [y])
    check(lambda m, a: m.pixel_unshuffle(a, r), [y])
    gradcheck(lambda m, a: m.nn.functional.pixel_shuffle(a, r), [x.astype(np.float64)])


def test_pixel_shuffle_errors():
    same_error(lambda m, a: m.nn.functional.pixel_shuffle(a, 2), [randn(2, 6, 3, 3)])
    same_error(lambda m, a: m.nn.functional.pixel_shuffle(a, 2), [randn(4, 3)])
    same_error(lambda m, a: m.nn.functional.pixel_unshuffle(a, 2), [randn(2, 6, 3, 4)])
    same_error(lambda m, a: m.nn.functional.pixel_unshuffle(a, 2), [randn(2, 6, 4, 3)])


@pytest.mark.parametrize("shape,g", [((2, 6, 3, 4), 3), ((3, 8, 5), 2), ((1, 4, 2, 2, 3), 4)])
def test_channel_shuffle(shape, g):
    x = randn(*shape)
    check(lambda m, a: m.nn.functional.channel_shuffle(a, g), [x])
    check(lambda m, a: m.nn.ChannelShuffle(g)(a), [x])
    check(lambda m, a: m.channel_shuffle(a, g), [x])
    gradcheck(lambda m, a: m.nn.functional.channel_shuffle(a, g), [x.astype(np.float64)])
    same_error(lambda m, a: m.nn.functional.channel_shuffle(a, 5), [x])


UNFOLD = [
    ((2, 3, 5, 6), dict(kernel_size=2)),
    ((2, 3, 7, 6), dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))),
    ((3, 6, 5), dict(kernel_size=3, padding=(0, 1), stride=2)),
]


@pytest.mark.parametrize("shape,kw", UNFOLD)
def test_unfold_fold(shape, kw):
    x = randn(*shape)
    check(lambda m, a: m.nn.functional.unfold(a, **kw), [x])
    check(lambda m, a: m.nn.Unfold(**kw)(a), [x])
    gradcheck(lambda m, a: m.nn.functional.unfold(a, **kw), [x.astype(np.float64)])
    blocks = torch.nn.functional.unfold(torch.tensor(x), **kw)
    b = randn(*blocks.shape, seed=3)
    check(lambda m, a: m.nn.functional.fold(a, shape[-2:], **kw), [b])
    check(lambda m, a: m.nn.Fold(shape[-2:], **kw)(a), [b])
    gradcheck(lambda m, a: m.nn.functional.fold(a, shape[-2:], **kw), [b.astype(np.float64)])


def test_unfold_fold_errors():
    same_error(lambda m, a: m.nn.functional.unfold(a, 4), [randn(1, 2, 3, 3)])
    same_error(lambda m, a: m.nn.functional.unfold(a, 2), [randn(1, 2, 3, 3, 3)])
    same_error(lambda m, a: m.nn.functional.fold(a, (4, 4), 2), [randn(1, 7, 9)])
    same_error(lambda m, a: m.nn.functional.fold(a, (4, 4), 2), [randn(1, 8, 8)])


@pytest.mark.parametrize("nd,shape,p,kw", [
    (1, (2, 3, 9), 2.0, dict(kernel_size=3)),
    (1, (3, 8), 3.0, dict(kernel_size=2, stride=1)),
    (2, (2, 3, 6, 7), 2.0, dict(kernel_size=(2, 3), stride=2, ceil_mode=True)),
    (2, (2, 3, 6, 6), 1.5, dict(kernel_size=2)),
    (3, (1, 2, 4, 4, 6), 2.0, dict(kernel_size=2, stride=(2, 1, 2))),
])
def test_lp_pool(nd, shape, p, kw):
    x = randn(*shape)
    if p != 2:
        x = np.abs(x) + 0.5  # fractional powers of negatives are nan; odd powers of signed sums are not smooth
    check(lambda m, a: getattr(m.nn.functional, f"lp_pool{nd}d")(a, p, **kw), [x], rtol=1e-4, atol=1e-5)
    check(lambda m, a: getattr(m.nn, f"LPPool{nd}d")(p, **kw)(a), [x], rtol=1e-4, atol=1e-5)
    gradcheck(lambda m, a: getattr(m.nn.functional, f"lp_pool{nd}d")(a, p, **kw), [x.astype(np.float64)])


@pytest.mark.parametrize("shape,size,kw", [
    ((2, 7, 4, 5), 3, {}),
    ((2, 6, 9), 4, dict(alpha=0.1, beta=0.5, k=2.0)),
    ((1, 5, 2, 3, 4), 2, dict(alpha=0.5)),
])
def test_local_response_norm(shape, size, kw):
    x = randn(*shape)
    check(lambda m, a: m.nn.functional.local_response_norm(a, size, **kw), [x], rtol=1e-4, atol=1e-5)
    check(lambda m, a: m.nn.LocalResponseNorm(size, **kw)(a), [x], rtol=1e-4, atol=1e-5)
    gradcheck(lambda m, a: m.nn.functional.local_response_norm(a, size, **kw), [x.astype(np.float64)])
    same_error(lambda m, a: m.nn.functional.local_response_norm(a, size), [randn(3, 4)])


@pytest.mark.parametrize("nd,shape,kw,out", [
    (1, (2, 3, 8), dict(kernel_size=2), None),
    (1, (3, 9), dict(kernel_size=3, stride=3, padding=1), [9]),
    (2, (2, 3, 6, 7), dict(kernel_size=2), [6, 7]),
    (2, (2, 3, 6, 6), dict(kernel_size=2, stride=2, padding=1), None),
    (3, (1, 2, 4, 4, 6), dict(kernel_size=2), None),
])
def test_max_unpool(nd, shape, kw, out):
    import disttorch
    x = randn(*shape)
    _, idx = getattr(torch.nn.functional, f"max_pool{nd}d")(torch.tensor(x), return_indices=True, **kw)
    pooled = getattr(torch.nn.functional, f"max_pool{nd}d")(torch.tensor(x), **kw).numpy()
    i = idx.numpy()

    def run(m, a):
        ind = (disttorch if m is disttorch else torch).tensor(i)
        return getattr(m.nn.functional, f"max_unpool{nd}d")(a, ind, output_size=out, **kw)

    def run_mod(m, a):
        ind = (disttorch if m is disttorch else torch).tensor(i)
        return getattr(m.nn, f"MaxUnpool{nd}d")(**kw)(a, ind, output_size=out)

    check(run, [pooled])
    check(run_mod, [pooled])
    gradcheck(run, [pooled.astype(np.float64)])


def test_max_unpool_errors():
    import disttorch

    def bad_size(m, a):
        return m.nn.functional.max_unpool2d(a, m.zeros(1, 1, 2, 2, dtype=m.int64), 2, output_size=[9, 9])

    same_error(bad_size, [randn(1, 1, 2, 2)])

    def bad_shape(m, a):
        return m.nn.functional.max_unpool2d(a, m.zeros(1, 1, 2, 3, dtype=m.int64), 2)

    same_error(bad_shape, [randn(1, 1, 2, 2)])
    assert disttorch.nn.MaxUnpool2d(2).stride == 2


@pytest.mark.parametrize("shape,out", [((2, 3, 5, 6, 7), (2, 3, 4)), ((3, 4, 4, 5), 2),
                                       ((1, 2, 6, 3, 4), (None, 2, 4))])
def test_adaptive_max_pool3d(shape, out):
    x = randn(*shape)
    check(lambda m, a: m.nn.functional.adaptive_max_pool3d(a, out), [x])
    check(lambda m, a: m.nn.functional.adaptive_max_pool3d_with_indices(a, out), [x])
    check(lambda m, a: m.nn.AdaptiveMaxPool3d(out, return_indices=True)(a), [x])
    gradcheck(lambda m, a: m.nn.functional.adaptive_max_pool3d(a, out), [x.astype(np.float64)])


@pytest.mark.parametrize("cls,shape,kw", [
    ("Upsample", (2, 3, 4, 5), dict(scale_factor=2)),
    ("Upsample", (2, 3, 4, 5), dict(size=(7, 3), mode="bilinear")),
    ("Upsample", (2, 3, 6), dict(scale_factor=1.5, mode="linear", align_corners=True)),
    ("Upsample", (1, 2, 3, 4, 2), dict(scale_factor=(2, 1, 3), mode="trilinear")),
    ("UpsamplingNearest2d", (2, 3, 4, 5), dict(scale_factor=3)),
    ("UpsamplingBilinear2d", (2, 3, 4, 5), dict(size=(6, 9))),
])
def test_upsample_modules(cls, shape, kw):
    import disttorch
    x = randn(*shape)
    check(lambda m, a: getattr(m.nn, cls)(**kw)(a), [x])
    gradcheck(lambda m, a: getattr(m.nn, cls)(**kw)(a), [x.astype(np.float64)])
    assert repr(getattr(disttorch.nn, cls)(**kw)) == repr(getattr(torch.nn, cls)(**kw))


def test_top_level_aliases():
    x, w = randn(2, 4, 9), randn(6, 2, 3, seed=1)
    check(lambda m, a, b: m.conv1d(a, b, None, 2, 1, 1, 2), [x, w])
    check(lambda m, a, b: m.convolution(a, b, None, [2], [1], [1], False, [0], 2), [x, w])
    wt = randn(4, 3, 3, seed=2)
    check(lambda m, a, b: m.conv_transpose1d(a, b, None, 2, 1, 1), [x, wt])
    check(lambda m, a, b: m.convolution(a, b, None, [2], [1], [1], True, [1], 1), [x, wt])
    x2, w2 = randn(2, 3, 6, 5), randn(4, 3, 2, 2, seed=3)
    check(lambda m, a, b: m.conv2d(a, b, padding=1), [x2, w2])
    check(lambda m, a, b: m.convolution(a, b, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1), [x2, w2])
    check(lambda m, a, b: m.conv_transpose2d(a, b, stride=2), [x2, randn(3, 2, 2, 2, seed=4)])
    x3 = randn(1, 2, 3, 4, 5)
    check(lambda m, a, b: m.conv3d(a, b), [x3, randn(3, 2, 2, 2, 2, seed=5)])
    check(lambda m, a, b: m.conv_transpose3d(a, b), [x3, randn(2, 3, 2, 2, 2, seed=6)])
    check(lambda m, a: m.max_pool1d(a, 3, 2), [x])
    check(lambda m, a: m.max_pool1d_with_indices(a, 2), [x])
    check(lambda m, a: m.max_pool2d(a, 2, padding=1), [x2])
    check(lambda m, a: m.max_pool3d(a, 2), [x3])
    check(lambda m, a: m.avg_pool1d(a, 3, 2, 1, count_include_pad=False), [x])
    check(lambda m, a: m.adaptive_avg_pool1d(a, 4), [x])
    check(lambda m, a: m.adaptive_max_pool1d(a, 4), [x])
    check(lambda m, a: m.constant_pad_nd(a, [1, 2, 0, -1], 2.5), [x2])
    gradcheck(lambda m, a: m.constant_pad_nd(a, [1, 2, 0, -1], 2.5), [x2.astype(np.float64)])


@pytest.mark.parametrize("shape,kw", [
    ((2, 3, 5, 7), dict(size=(8, 4), mode="bicubic")),
    ((2, 3, 5, 7), dict(scale_factor=2.5, mode="bicubic", align_corners=True)),
    ((1, 2, 5, 7), dict(scale_factor=(1.7, 0.6), mode="bicubic")),
    ((1, 2, 5, 7), dict(scale_factor=1.5, mode="bicubic", recompute_scale_factor=True)),
    ((2, 3, 9), dict(size=4, mode="area")),
    ((2, 3, 5, 7), dict(size=(3, 4), mode="area")),
    ((1, 2, 4, 6, 5), dict(scale_factor=0.5, mode="area")),
])
def test_interpolate_bicubic_area(shape, kw):
    x = randn(*shape)
    check(lambda m, a: m.nn.functional.interpolate(a, **kw), [x], rtol=1e-4, atol=1e-5)
    gradcheck(lambda m, a: m.nn.functional.interpolate(a, **kw), [x.astype(np.float64)])


def test_interpolate_bicubic_area_errors():
    same_error(lambda m, a: m.nn.functional.interpolate(a, size=3, mode="area", align_corners=True), [randn(1, 2, 5)])
