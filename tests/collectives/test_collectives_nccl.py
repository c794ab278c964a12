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
