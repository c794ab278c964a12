"""no_grad / enable_grad / set_grad_enabled / inference_mode against PyTorch."""
from __future__ import annotations

import pytest

import disttorch

torch = pytest.importorskip("torch")

LIBS = [disttorch, torch]


def probe(t):
    """(grad enabled, does x * 2 record a graph) right now."""
    x = t.ones(2, requires_grad=True)
    return t.is_grad_enabled(), (x * 2).requires_grad


def inference_enabled(t):
    if t is torch:
        return torch.is_inference_mode_enabled()
    return disttorch.autograd.is_inference_mode_enabled()


def run_both(fn):
    ours, theirs = fn(disttorch), fn(torch)
    assert ours == theirs
    assert disttorch.is_grad_enabled() and torch.is_grad_enabled()
    return ours


def test_no_grad_context():
    def run(t):
        out = []
        with t.no_grad():
            out.append(probe(t))
            x = t.ones(2, requires_grad=True)
            y = x * x
            out.append((y.requires_grad, y.grad_fn is None, y.is_leaf))
        out.append(probe(t))
        return out

    run_both(run)


def test_no_grad_decorator_forms():
    def run(t):
        @t.no_grad
        def bare(x):
            """doc"""
            return x * 2

        @t.no_grad()
        def called(x):
            return x * 2

        x = t.ones(1, requires_grad=True)
        return (bare(x).requires_grad, called(x).requires_grad, bare.__name__, bare.__doc__, t.is_grad_enabled())

    assert run_both(run)[2:4] == ("bare", "doc")


def test_no_grad_decorated_generator():
    def run(t):
        @t.no_grad()
        def gen():
            yield t.is_grad_enabled()
            yield t.is_grad_enabled()

        it = gen()
        first = next(it)
        between = t.is_grad_enabled()
        return [first, between, next(it)]

    run_both(run)


def test_enable_grad_inside_no_grad():
    def run(t):
        out = []
        with t.no_grad():
            with t.enable_grad():
                out.append(probe(t))
            out.append(probe(t))

            @t.enable_grad()
            def f():
                return probe(t)

            out.append(f())
            out.append(probe(t))
        return out

    run_both(run)


def test_no_grad_restores_on_exception():
    for t in LIBS:
        with pytest.raises(ValueError):
            with t.no_grad():
                raise ValueError
        assert t.is_grad_enabled()


def test_nested_reentrant_no_grad_object():
    def run(t):
        ctx = t.no_grad()
        out = []
        with ctx:
            with t.enable_grad():
                with ctx:
                    out.append(t.is_grad_enabled())
                out.append(t.is_grad_enabled())
            out.append(t.is_grad_enabled())
        out.append(t.is_grad_enabled())
        return out

    run_both(run)


def test_set_grad_enabled_function_context_decorator():
    def run(t):
        out = []
        t.set_grad_enabled(False)
        out.append(probe(t))
        t.set_grad_enabled(True)
        out.append(probe(t))
        with t.set_grad_enabled(False):
            out.append(probe(t))
        out.append(probe(t))
        with t.no_grad():
            with t.set_grad_enabled(True):
                out.append(probe(t))
            out.append(probe(t))

        @t.set_grad_enabled(False)
        def f():
            return probe(t)

        out.append(t.is_grad_enabled())  # decorating changes nothing
        out.append(f())
        out.append(probe(t))
        return out

    run_both(run)


def test_inference_mode():
    def run(t):
        out = []
        with t.inference_mode():
            out.append((probe(t), inference_enabled(t)))
            with t.inference_mode(False):
                out.append((t.is_grad_enabled(), inference_enabled(t)))
        out.append((probe(t), inference_enabled(t)))
        with t.no_grad():
            with t.inference_mode(False):
                out.append(t.is_grad_enabled())
        with t.inference_mode(False):
            out.append(probe(t))

        @t.inference_mode
        def bare():
            return t.is_grad_enabled(), inference_enabled(t)

        @t.inference_mode()
        def called():
            return t.is_grad_enabled(), inference_enabled(t)

        @t.inference_mode(False)
        def off():
            return t.is_grad_enabled(), inference_enabled(t)

        out += [bare(), called(), off()]
        return out

    run_both(run)


def test_inference_mode_via_autograd_namespace():
    from disttorch.autograd.grad_mode import is_inference_mode_enabled

    assert not is_inference_mode_enabled()
    with disttorch.inference_mode():
        assert is_inference_mode_enabled() and not disttorch.is_grad_enabled()
        y = disttorch.ones(2, requires_grad=True) * 2
        assert not y.requires_grad
    assert not is_inference_mode_enabled() and disttorch.is_grad_enabled()


def test_backward_of_graph_built_before_no_grad():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        with t.no_grad():
            s = y * 1
            assert not s.requires_grad
            y.backward(t.ones(2))  # backward itself works in no_grad
        res.append(x.grad.tolist())
    assert res[0] == res[1]


def test_in_place_on_leaf_inside_no_grad():
    res = []
    for t in LIBS:
        w = t.tensor([1.0, 2.0], requires_grad=True)
        (w * w).backward(t.ones(2))
        with t.no_grad():
            w -= w.grad * 0.5
            w.mul_(2)
        assert w.is_leaf and w.requires_grad and w.grad_fn is None
        res.append(w.detach().tolist())
    assert res[0] == res[1]
