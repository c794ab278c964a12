"""default_collate / default_convert against PyTorch's on the same samples."""
import collections

import numpy as np
import pytest

import disttorch
from disttorch.utils.data import default_collate, default_convert

torch = pytest.importorskip("torch")
from torch.utils.data import default_collate as torch_collate  # noqa: E402
from torch.utils.data import default_convert as torch_convert  # noqa: E402

Point = collections.namedtuple("Point", ["x", "y"])


def assert_same(ours, theirs, path="batch"):
    """Same structure (container types, keys), same tensors (dtype, shape, values), same leaves."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, disttorch.Tensor), f"{path}: {type(ours)} is not a Tensor"
        assert str(ours.dtype) == str(theirs.dtype), f"{path}: {ours.dtype} != {theirs.dtype}"
        assert tuple(ours.shape) == tuple(theirs.shape), f"{path}: {tuple(ours.shape)} != {tuple(theirs.shape)}"
        np.testing.assert_array_equal(np.asarray(ours.__array__()), theirs.numpy(), err_msg=path)
        return
    assert type(ours) is type(theirs), f"{path}: {type(ours).__name__} != {type(theirs).__name__}"
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs), path
        for k in theirs:
            assert_same(ours[k], theirs[k], f"{path}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), path
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert_same(o, t, f"{path}[{i}]")
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_array_equal(ours, theirs)
    else:
        assert ours == theirs, path


def both(make):
    """The same samples built with disttorch and with torch (``make(lib)`` may use ``lib.tensor``)."""
    return make(disttorch), make(torch)


SAMPLES = {
    "tensors": lambda t: [t.tensor([1.0, 2.0]), t.tensor([3.0, 4.0]), t.tensor([5.0, 6.0])],
    "int_tensors_0d": lambda t: [t.tensor(1), t.tensor(2)],
    "floats": lambda t: [1.5, 2.5, -3.0],
    "ints": lambda t: [1, 2, 3],
    "bools": lambda t: [True, False],
    "strings": lambda t: ["a", "bc"],
    "numpy_arrays": lambda t: [np.arange(3, dtype=np.float32), np.ones(3, dtype=np.float32)],
    "numpy_int_arrays": lambda t: [np.arange(4).reshape(2, 2), np.zeros((2, 2), dtype=np.int64)],
    "numpy_scalars": lambda t: [np.float32(1.5), np.float32(2.0)],
    "numpy_f64_scalars": lambda t: [np.float64(1.5), np.float64(2.0)],
    "numpy_int_scalars": lambda t: [np.int16(1), np.int16(7)],
    "tuples": lambda t: [(t.tensor([1.0]), 1, "x"), (t.tensor([2.0]), 2, "y")],
    "lists": lambda t: [[t.tensor(1.0), 0.5], [t.tensor(2.0), 1.5]],
    "dicts": lambda t: [{"img": t.zeros(2, 2), "label": 3, "name": "a"},
                        {"img": t.ones(2, 2), "label": 4, "name": "b"}],
    "ordered_dicts": lambda t: [collections.OrderedDict(b=1.0, a=2), collections.OrderedDict(b=3.0, a=4)],
    "namedtuples": lambda t: [Point(t.tensor([1, 2]), 0.5), Point(t.tensor([3, 4]), 1.5)],
    "nested": lambda t: [{"pair": (t.tensor([1.0]), [1, 2]), "meta": {"id": 7}},
                         {"pair": (t.tensor([2.0]), [3, 4]), "meta": {"id": 8}}],
    "uint8_images": lambda t: [t.zeros(3, 4, 4, dtype=t.uint8), t.ones(3, 4, 4, dtype=t.uint8)],
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_default_collate_matches_torch(name):
    ours, theirs = both(SAMPLES[name])
    assert_same(default_collate(ours), torch_collate(theirs))


@pytest.mark.parametrize("name", ["tensors", "numpy_arrays", "numpy_scalars", "tuples", "dicts", "namedtuples",
                                  "strings", "floats", "nested"])
def test_default_convert_matches_torch(name):
    ours, theirs = both(SAMPLES[name])
    for o, t in zip(ours, theirs):
        assert_same(default_convert(o), torch_convert(t))


def test_collate_size_mismatch_error():
    msg = "stack expects each tensor to be equal size, but got [2] at entry 0 and [3] at entry 1"
    with pytest.raises(RuntimeError) as theirs:
        torch_collate([torch.zeros(2), torch.zeros(3)])
    assert msg in str(theirs.value)
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got \[2\] at entry 0 "
                                           r"and \[3\] at entry 1"):
        default_collate([disttorch.zeros(2), disttorch.zeros(3)])


def test_collate_uneven_lists_and_bad_types():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        torch_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    for collate in (torch_collate, default_collate):
        with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy arrays, numbers, "
                                            "dicts or lists; found <class 'NoneType'>"):
            collate([None, None])
        with pytest.raises(TypeError, match="found <U1"):
            collate([np.array(["a"]), np.array(["b"])])
