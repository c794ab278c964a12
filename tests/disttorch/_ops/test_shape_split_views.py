"""select, narrow, unbind and tensor_split return views of their input, 0-dim pieces included."""
import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

OPS = {
    "select_last_dim": lambda x: [x.select(0, 2)],
    "select_row": lambda x: [x.reshape(2, 2).select(1, 0)],
    "narrow": lambda x: [x.narrow(0, 1, 2)],
    "unbind": lambda x: list(x.unbind()),
    "tensor_split": lambda x: list(x.tensor_split(3)),
}


@pytest.mark.parametrize("name", OPS)
def test_writing_into_a_piece_writes_into_the_input(name):
    def run(t):
        x = t.tensor([1.0, 2.0, 3.0, 4.0])
        for k, piece in enumerate(OPS[name](x)):
            piece.add_(10.0 ** (k + 1))
        return x.tolist()

    assert run(disttorch) == run(torch)


def test_select_node_names_and_gradient():
    x = disttorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    s, n = y.select(0, 1), y.narrow(0, 1, 2)
    assert s.grad_fn.name() == "SelectBackward0" and n.grad_fn.name() == "SliceBackward0"
    (s * 3 + n.sum()).backward()
    assert x.grad.tolist() == [0.0, 4.0, 1.0]


def test_double_backward_through_an_inplace_op_on_a_view():
    def run(t):
        a = t.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        b = a * 1
        v = b[:, 1:]
        v.mul_(a[:, :2] ** 2)  # b takes a CopySlices history
        w = b.t()[0]  # a view of b taken after the in-place op
        out = (b ** 2).sum() + (v * 3).sum() + (w ** 3).sum()
        (g,) = t.autograd.grad(out, a, create_graph=True)
        (gg,) = t.autograd.grad(g.sum(), a)
        return [g.tolist(), gg.tolist()]

    np.testing.assert_allclose(run(disttorch), run(torch))
