"""disttorch.distributed: a world of one in this process, and real ranks under mpiexec (-n 2, -n 3)."""
import re
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

import disttorch as torch
import disttorch.distributed as dist

sys.path.insert(0, str(Path(__file__).parents[2] / "collectives"))
import _mpirun  # noqa: E402

HERE = Path(__file__).parent
WORKER, FAULTS = HERE / "_dist_worker.py", HERE / "_fault_worker.py"


def _passed(result, n):
    ranks = sorted(int(r) for r in re.findall(r"OK rank (\d+) checks \d+", result.output))
    assert result.returncode == 0 and ranks == list(range(n)), result.output


@pytest.fixture
def world():
    if dist.is_initialized():
        dist.destroy_process_group()
    dist.init_process_group()
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


# -- a world of one process (no launcher) ---------------------------------------------------------------
def test_errors_before_init():
    if dist.is_initialized():  # left over by another test module
        dist.destroy_process_group()
    assert dist.is_available() and not dist.is_initialized()
    for call in (dist.get_rank, dist.get_world_size, dist.get_backend, lambda: dist.all_reduce(torch.ones(1)),
                 lambda: dist.new_group([0])):
        with pytest.raises(ValueError, match="Default process group has not been initialized, please make sure "
                                             "to call init_process_group."):
            call()
    with pytest.raises(AssertionError, match="Process group cannot be None"):
        dist.destroy_process_group()


def test_world_of_one(world):
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "gloo")
    assert dist.get_local_rank() == 0 and dist.group.WORLD is not None
    x = torch.arange(5.0)
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX, dist.ReduceOp.RedOpType.PRODUCT):
        dist.all_reduce(x, op=op)
    np.testing.assert_array_equal(x.numpy(), np.arange(5.0, dtype=np.float32))
    work = dist.all_reduce(x, async_op=True)
    assert work.wait() and work.is_completed() and work.get_future().wait()[0] is x
    out = [torch.zeros(5)]
    dist.all_gather(out, x)
    np.testing.assert_array_equal(out[0].numpy(), x.numpy())
    y = torch.zeros(5)
    dist.scatter(y, [x * 2], src=0)
    np.testing.assert_array_equal(y.numpy(), x.numpy() * 2)
    dist.reduce_scatter_tensor(y, x)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    objs = [None]
    dist.all_gather_object(objs, {"a": 1})
    assert objs == [{"a": 1}]
    g = dist.new_group([0])
    assert dist.get_world_size(g) == 1
    dist.barrier()
    dist.monitored_barrier(timeout=timedelta(seconds=1))
    with pytest.raises(ValueError, match="trying to initialize the default process group twice!"):
        dist.init_process_group()


def test_errors_like_pytorch(world):
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        dist.all_reduce(torch.ones(2, dtype=torch.int64), op=dist.ReduceOp.AVG)
    with pytest.raises(RuntimeError, match="Cannot use ReduceOp.BAND with non-integral dtype"):
        dist.all_reduce(torch.ones(2), op=dist.ReduceOp.BAND)
    with pytest.raises(ValueError, match="Invalid destination rank: destination rank should not be the same as the "
                                         "rank of the current process."):
        dist.send(torch.ones(1), dst=0)
    with pytest.raises(ValueError, match="Argument ``gather_list`` must be specified on destination rank."):
        dist.gather(torch.ones(1), None, dst=0)
    with pytest.raises(TypeError, match="Expected parameter `tensor` of type torch.Tensor"):
        dist.all_reduce(np.ones(2))
    with pytest.raises(ValueError, match="Unknown backend 'foo'"):
        dist.Backend("foo")


def test_world_size_without_launcher_is_an_error():
    with pytest.raises(RuntimeError, match="mpiexec -n 2"):
        dist.init_process_group(world_size=2)
    assert not dist.is_initialized()


def test_sampler_reads_the_group(world):
    from disttorch.utils.data import DistributedSampler

    assert list(DistributedSampler(range(5), shuffle=False)) == [0, 1, 2, 3, 4]


def test_world_of_one_without_mpi4py(tmp_path):
    """A script started without a launcher runs with no MPI installed."""
    blocked = tmp_path / "mpi4py"
    blocked.mkdir()
    (blocked / "__init__.py").write_text("raise ImportError('mpi4py is not installed here')\n")
    result = _mpirun.run(WORKER, [], 0, timeout=60, PYTHONPATH=f"{tmp_path}:{_mpirun.ROOT}")
    _passed(result, 1)


def test_every_collective_alone(device):
    """The worker's collectives in a world of one: on cuda through NCCL (backend "nccl")."""
    _passed(_mpirun.run(WORKER, ["none" if device == "cpu" else "nccl", device], 0, timeout=120), 1)


# -- real ranks -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, backend", [(2, "gloo"), (3, "none")])
def test_every_collective_on_ranks(n, backend, device):
    """On cuda the tensors are staged through host memory by MPI (backend "mpi" where "none" would pick NCCL,
    which the cupy stand-in has for one rank only)."""
    if device == "cuda" and backend == "none":
        backend = "mpi"
    _passed(_mpirun.run(WORKER, [backend, device], n, timeout=120), n)


def test_fail_fast():
    """Rank 1 raises mid-training while rank 0 sits in all_reduce: the job ends non-zero within 10 s and says
    which rank failed and why."""
    result = _mpirun.run(FAULTS, ["failfast"], 2, timeout=60)
    assert result.returncode != 0, result.output
    assert result.seconds < 10, result.seconds
    assert "[rank 1]" in result.output and "ValueError: boom on rank 1 at step 3" in result.output, result.output
    assert "finished training" not in result.output


def test_mismatch_names_the_ranks():
    result = _mpirun.run(FAULTS, ["mismatch"], 2, timeout=60, DISTTORCH_DEBUG="DETAIL")
    assert result.returncode == 0, result.output
    for r in (0, 1):
        assert f"PASS mismatch rank {r}" in result.output and f"PASS different_collective rank {r}" in result.output


def test_monitored_barrier_and_timeout():
    result = _mpirun.run(FAULTS, ["hangs"], 2, timeout=60, DISTTORCH_DEBUG="DETAIL")
    for line in ("PASS monitored_barrier rank 0", "PASS monitored_barrier rank 1", "PASS timeout rank 0"):
        assert line in result.output, result.output


def test_settings_match_torch(world):
    real = pytest.importorskip("torch").distributed
    assert dist.default_pg_timeout == real.default_pg_timeout
    assert {k: int(v) for k, v in dist.DebugLevel.__members__.items()} == \
        {k: int(v) for k, v in real.DebugLevel.__members__.items()}
    assert int(dist.get_debug_level()) == int(real.get_debug_level())
    for op in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"):
        assert dist.supports_complex(getattr(dist.ReduceOp, op)) == real.supports_complex(getattr(real.ReduceOp, op))
    for device in ("cpu", "cuda", torch.device("cuda:1")):
        assert dist.get_default_backend_for_device(device) == real.get_default_backend_for_device(str(device))
    assert dist.is_backend_available("gloo") and not dist.is_backend_available("xccl")
    before = dist.get_pg_count()
    dist.new_group([0])
    assert dist.get_pg_count() == before + 1


def test_debug_level_from_env(monkeypatch):
    monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "detail")
    dist.set_debug_level_from_env()
    assert dist.get_debug_level() == dist.DebugLevel.DETAIL
    monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "LOUD")
    with pytest.raises(ValueError, match="TORCH_DISTRIBUTED_DEBUG"):
        dist.set_debug_level_from_env()
    dist.set_debug_level(dist.DebugLevel.OFF)


def test_subgroups_in_a_world_of_one(world):
    mine, groups = dist.new_subgroups(group_size=1)
    assert dist.get_process_group_ranks(mine) == [0] and len(groups) == 1
    with pytest.raises(ValueError, match="must be positive"):
        dist.new_subgroups(group_size=0)
    with pytest.raises(ValueError, match=r"Rank 0 has appeared in both subgroup \[0\] and \[0\]"):
        dist.new_subgroups_by_enumeration([[0], [0]])
    with pytest.raises(ValueError, match="Invalid destination rank"):
        dist.send_object_list([1], dst=0)
