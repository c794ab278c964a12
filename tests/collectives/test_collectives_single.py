"""SingleCommunicator: a world of one process, no MPI."""
import numpy as np
import pytest
from disttorch.collectives import CollectiveError, ReduceOp, SingleCommunicator


def test_collectives_are_local_copies():
    c = SingleCommunicator()
    assert (c.rank, c.size, c.world_ranks) == (0, 1, (0,))
    a = np.arange(5.0)
    for op in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX, ReduceOp.PRODUCT):
        assert c.all_reduce(a, op) is None
        np.testing.assert_array_equal(a, np.arange(5.0))
    work = c.all_reduce(a, async_op=True)
    assert work.wait() and work.is_completed()
    out = np.zeros((1, 5))
    c.all_gather(out, a)
    np.testing.assert_array_equal(out[0], a)
    got = np.zeros(5)
    c.scatter(got, a[None], 0)
    np.testing.assert_array_equal(got, a)
    c.reduce_scatter(got, (a * 2)[None])
    np.testing.assert_array_equal(got, a * 2)
    out = np.zeros((1, 5))
    c.gather(out, a, 0)
    np.testing.assert_array_equal(out[0], a)
    x = np.zeros((4, 2))
    c.all_to_all_v(x, [4], np.ones((4, 2)), [4])
    np.testing.assert_array_equal(x, np.ones((4, 2)))
    assert c.broadcast_object({"a": 1}, 0) == {"a": 1}
    assert c.all_gather_object(3) == [3] and c.gather_object(3, 0) == [3] and c.scatter_object([7], 0) == 7
    assert c.split([0]).size == 1 and c.split([]) is None


def test_errors_like_pytorch():
    c = SingleCommunicator()
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        c.all_reduce(np.ones(2, np.int64), ReduceOp.AVG)
    with pytest.raises(RuntimeError, match="Cannot use ReduceOp.BAND with non-integral dtype"):
        c.all_reduce(np.ones(2, np.float32), ReduceOp.BAND)
    with pytest.raises(ValueError, match="does not support"):
        c.all_reduce(np.ones(2, np.complex64), ReduceOp.MAX)
    with pytest.raises(CollectiveError):
        c.send(np.ones(1), 0)
    with pytest.raises(CollectiveError, match="invalid root"):
        c.broadcast(np.ones(1), 1)
