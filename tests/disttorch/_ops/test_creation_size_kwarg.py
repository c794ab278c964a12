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
