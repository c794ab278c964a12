"""DeviceMesh, split_group/shrink_group and the coalesced collectives under ``mpiexec -n 2`` and ``-n 3``; the
single-process parts against PyTorch's names and errors."""
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "collectives"))
import _mpirun  # noqa: E402

import disttorch.distributed as dist  # noqa: E402

WORKER = Path(__file__).parent / "_mesh_worker.py"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("n", [2, 3])
def test_mesh_groups_and_coalesced_collectives(n):
    result = _mpirun.run(WORKER, [], n, timeout=100)
    assert result.returncode == 0, result.output
    # (ranks' lines can run together: two ranks writing at once)
    assert sorted(map(int, re.findall(r"PASS mesh rank (\d+)", result.output))) == list(range(n)), result.output


def test_names_and_errors_as_pytorch():
    torch = pytest.importorskip("torch")
    for name in ("is_ucc_available", "is_xccl_available"):
        assert getattr(dist, name)() is False
    for name in ("DeviceMesh", "init_device_mesh", "split_group", "shrink_group", "breakpoint", "record_comm",
                 "all_gather_coalesced", "all_reduce_coalesced", "get_backend_config", "BackendConfig"):
        assert hasattr(dist, name) and hasattr(torch.distributed, name), name
    with dist.record_comm("x"):
        pass
    assert str(dist.BackendConfig("cpu:gloo,cuda:nccl")) == "cpu:gloo,cuda:nccl"
    assert dist.BackendConfig("cpu:gloo,cuda:nccl").get_device_backend_map() == {"cpu": "gloo", "cuda": "nccl"}
