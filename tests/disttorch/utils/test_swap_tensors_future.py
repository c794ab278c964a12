"""torch.utils.swap_tensors and the module-conversion switches of torch.__future__, against PyTorch."""
import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

LIBS = (torch, disttorch)


def test_swap_tensors_matches_torch():
    got = []
    for lib in LIBS:
        a = lib.ones(2, requires_grad=True)
        b = lib.nn.Parameter(lib.zeros(3))
        (a * 2).sum().backward()
        ra, rb = a, b
        lib.utils.swap_tensors(a, b)
        state = [type(ra).__name__, type(rb).__name__, ra.tolist(), rb.tolist(), ra.grad, rb.grad.tolist(),
                 ra.requires_grad, rb.requires_grad]
        (ra * 3).sum().backward()  # the gradient sink moved with the contents
        state.append(ra.grad.tolist())
        (rb * 4).sum().backward()
        state.append(rb.grad.tolist())
        got.append(state)
    assert got[0] == got[1]


def test_swap_tensors_history_moves():
    got = []
    for lib in LIBS:
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        z = lib.tensor([5.0, 6.0])
        lib.utils.swap_tensors(y, z)
        got.append((y.grad_fn is None, z.grad_fn is not None, y.tolist(), z.tolist()))
        z.sum().backward()
        got.append(x.grad.tolist())
    np.testing.assert_allclose(got[1], got[3])
    np.testing.assert_allclose(got[0][3], got[2][3])
    assert got[0][:3] == got[2][:3]


def test_swap_tensors_refuses_non_tensors():
    for lib in LIBS:
        with pytest.raises((TypeError, RuntimeError, AttributeError)):
            lib.utils.swap_tensors(lib.ones(1), 3)


def _future_flags(lib, swap, overwrite):
    f = lib.__future__
    f.set_swap_module_params_on_conversion(swap)
    f.set_overwrite_module_params_on_conversion(overwrite)
    return f.get_swap_module_params_on_conversion(), f.get_overwrite_module_params_on_conversion()


@pytest.mark.parametrize("swap,overwrite", [(False, False), (True, False), (False, True), (True, True)])
def test_module_to_honours_future_switches(swap, overwrite):
    got = []
    for lib in LIBS:
        try:
            assert _future_flags(lib, swap, overwrite) == (swap, overwrite)
            lib.manual_seed(0)
            m = lib.nn.Linear(3, 2)
            m.weight.grad = lib.ones(2, 3)
            old_w, old_grad = m.weight, m.weight.grad
            m.to(lib.float64)
            got.append((m.weight is old_w, str(old_w.dtype).split(".")[-1], str(m.weight.dtype).split(".")[-1],
                        str(m.weight.grad.dtype).split(".")[-1], m.weight.grad is old_grad,
                        type(m.weight).__name__, m.weight.requires_grad, m.weight.grad.tolist(),
                        str(m.bias.dtype).split(".")[-1]))
        finally:
            _future_flags(lib, False, False)
    assert got[0] == got[1]


def test_load_state_dict_swaps_with_switch():
    got = []
    for lib in LIBS:
        try:
            lib.__future__.set_swap_module_params_on_conversion(True)
            m = lib.nn.Linear(2, 2)
            old = m.weight
            state = {"weight": lib.full((2, 2), 3.0), "bias": lib.zeros(2)}
            m.load_state_dict(state)
            got.append((m.weight is old, m.weight.tolist(), type(m.weight).__name__, m.weight.requires_grad,
                        m.weight.data_ptr() == state["weight"].data_ptr()))
            m.load_state_dict({"weight": lib.full((2, 2), 4.0), "bias": lib.ones(2)}, assign=True)
            got.append((m.weight is old, m.weight.tolist(), m.bias.tolist()))
        finally:
            lib.__future__.set_swap_module_params_on_conversion(False)
    assert got[0] == got[2] and got[1] == got[3]


def test_module_load():
    for lib in LIBS:
        p = lib.zeros(2)
        src = lib.ones(2)
        out = p.module_load(src)
        assert out.tolist() == [1.0, 1.0] and p.tolist() == [1.0, 1.0]
        assert p.module_load(src, assign=True).data_ptr() == src.data_ptr()
