"""zeros/ones/empty/rand/randn take their sizes positionally, as one sequence, or as ``size=``, and honour
``out=``, as PyTorch."""
import pytest

import disttorch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
@pytest.mark.parametrize("how", ["positional", "sequence", "keyword"])
def test_size_forms(name, how):
    shapes = []
    for lib in (disttorch, torch):
        fn = getattr(lib, name)
        t = {"positional": lambda: fn(2, 3), "sequence": lambda: fn((2, 3)), "keyword": lambda: fn(size=(2, 3))}[how]()
        shapes.append(tuple(t.shape))
    assert shapes[0] == shapes[1] == (2, 3)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_size_twice_and_out(name):
    for lib in (disttorch, torch):
        with pytest.raises(TypeError):  # (PyTorch's text differs between zeros and rand)
            getattr(lib, name)(2, size=(3,))
        out = lib.empty(5)
        r = getattr(lib, name)(2, 2, out=out)
        assert r is out and tuple(out.shape) == (2, 2)
    assert disttorch.zeros(3, out=disttorch.empty(1)).tolist() == [0.0, 0.0, 0.0]


_OUT_FACTORIES = {
    "full": (lambda L, o: L.full((2, 3), 1.5, out=o), "float32"),
    "eye": (lambda L, o: L.eye(3, out=o), "float32"),
    "arange": (lambda L, o: L.arange(0.0, 2.0, 0.5, out=o), "float32"),
    "linspace": (lambda L, o: L.linspace(0, 1, 5, out=o), "float32"),
    "logspace": (lambda L, o: L.logspace(0, 2, 3, out=o), "float32"),
    "randint": (lambda L, o: L.randint(0, 5, (4,), out=o), "int64"),
    "randperm": (lambda L, o: L.randperm(6, out=o), "int64"),
}


@pytest.mark.parametrize("name", list(_OUT_FACTORIES))
def test_out_is_written_and_resized(name):
    make, dtype = _OUT_FACTORIES[name]
    got = []
    for lib in (disttorch, torch):
        out = lib.empty(7, dtype=getattr(lib, dtype))
        r = make(lib, out)
        assert r is out
        got.append((tuple(out.shape), str(out.dtype).split(".")[-1]))
        if name not in ("randint", "randperm"):
            got.append(out.tolist())
    assert got[: len(got) // 2] == got[len(got) // 2:]
    if name == "randperm":
        assert sorted(disttorch.randperm(6, out=disttorch.empty(1, dtype=disttorch.int64)).tolist()) == list(range(6))
