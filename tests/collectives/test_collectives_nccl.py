"""NCCLCommunicator: needs cupy with NCCL and a GPU (and mpiexec for more than one rank)."""
import sys
from pathlib import Path

import pytest
from disttorch.collectives.nccl import nccl_available

sys.path.insert(0, str(Path(__file__).parent))

pytestmark = pytest.mark.skipif(not nccl_available(), reason="no GPU: NCCL needs cupy with NCCL and a CUDA device")


def test_cuda_nccl_world_of_one():
    import cupy
    import numpy as np
    from disttorch.collectives import ReduceOp, SingleCommunicator
    from disttorch.collectives.nccl import NCCLCommunicator

    c = NCCLCommunicator(SingleCommunicator(), device=0)
    a = cupy.arange(6, dtype=cupy.float32)
    c.all_reduce(a, ReduceOp.SUM)
    out = cupy.zeros((1, 6), cupy.float32)
    c.all_gather(out, a)
    cupy.cuda.get_current_stream().synchronize()
    np.testing.assert_array_equal(cupy.asnumpy(out[0]), np.arange(6, dtype=np.float32))
    work = c.all_reduce(a[::2], ReduceOp.AVG, async_op=True)
    work.wait(timeout=30)
    np.testing.assert_array_equal(cupy.asnumpy(a), np.arange(6, dtype=np.float32))


def test_cuda_nccl_collectives_are_checked_by_the_host_first():
    """Each NCCL collective runs the host communicator's argument check (kind, dtype, shape, op, root) before
    its kernels are queued, so a mismatch is an error naming the ranks instead of a hang on the device."""
    import cupy
    from disttorch.collectives import ReduceOp, SingleCommunicator
    from disttorch.collectives.nccl import NCCLCommunicator

    class RecordingHost(SingleCommunicator):
        def __init__(self):
            super().__init__()
            self.calls, self.agreed = [], 0

        def _begin(self, what, array=None, op=None, root=None, shape=True):
            self.calls.append((what, None if array is None else (str(array.dtype), tuple(array.shape)), op, root))

        def _agreed(self):
            self.agreed += 1

    host = RecordingHost()
    c = NCCLCommunicator(host, device=0)
    a = cupy.arange(6, dtype=cupy.float32)
    c.all_reduce(a, ReduceOp.MAX)
    c.broadcast(a, 0)
    c.reduce(a, 0, ReduceOp.SUM)
    c.all_gather(cupy.zeros((1, 6), cupy.float32), a)
    c.all_to_all(cupy.zeros((1, 6), cupy.float32), cupy.ones((1, 6), cupy.float32))
    assert host.calls == [("all_reduce", ("float32", (6,)), ReduceOp.MAX, None),
                          ("broadcast", ("float32", (6,)), None, 0),
                          ("reduce", ("float32", (6,)), ReduceOp.SUM, 0),
                          ("all_gather", ("float32", (6,)), None, None),
                          ("all_to_all", ("float32", (1, 6)), None, None)]
    assert host.agreed == 5
