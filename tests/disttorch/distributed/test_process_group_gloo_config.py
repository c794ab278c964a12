"""torch.distributed.ProcessGroupGloo and torch.distributed.config against PyTorch 2.13: the class (a group
served by MPI here), its constructor's checks, and the config flags read from the environment."""
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "collectives"))
import _mpirun  # noqa: E402

import disttorch  # noqa: E402
import disttorch.distributed as dist  # noqa: E402

WORKER = Path(__file__).parent / "_gloo_worker.py"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("n", [2, 3])
def test_gloo_group_on_ranks(n):
    result = _mpirun.run(WORKER, [], n, timeout=100)
    assert result.returncode == 0, result.output
    assert sorted(map(int, re.findall(r"PASS gloo rank (\d+)", result.output))) == list(range(n)), result.output


def test_single_process_group_and_errors_as_pytorch():
    torch = pytest.importorskip("torch")
    store = torch.distributed.HashStore()
    ref = torch.distributed.ProcessGroupGloo(store, 0, 1, timedelta(seconds=30))
    ours = dist.ProcessGroupGloo(None, 0, 1, timedelta(seconds=30))
    assert (ours.rank(), ours.size(), ours.name()) == (ref.rank(), ref.size(), ref.name())
    with pytest.raises(RuntimeError, match=r"rank < size. 2 vs 1"):
        torch.distributed.ProcessGroupGloo(store, 2, 1, timedelta(seconds=3))
    with pytest.raises(RuntimeError, match=r"^rank < size. 2 vs 1$"):
        dist.ProcessGroupGloo(None, 2, 1)
    with pytest.raises(RuntimeError, match="not started by an MPI launcher"):  # a world of 2 needs MPI's ranks
        dist.ProcessGroupGloo(None, 0, 2)
    dist.init_process_group("gloo")
    try:
        t = disttorch.ones(2)
        dist.all_reduce(t, group=ours)
        assert t.tolist() == [1.0, 1.0] and dist.get_backend(ours) == "gloo"
        assert not isinstance(dist.group.WORLD, dist.ProcessGroupGloo)  # as in PyTorch: the group is not its backend
    finally:
        dist.destroy_process_group()


def _config(module: str, **env: str) -> list:
    code = (f"import json, {module}.distributed as d; c = d.config; "
            "print(json.dumps([c.compile_on_one_rank, c.use_torchcomms]))")
    full = {k: v for k, v in os.environ.items() if not k.startswith("TORCH_DISTRIBUTED_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd="/",
                         env={**full, **env})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("env", [{}, {"TORCH_DISTRIBUTED_USE_TORCHCOMMS": "1"},
                                 {"TORCH_DISTRIBUTED_USE_TORCHCOMMS": "0"},
                                 {"TORCH_DISTRIBUTED_COMPILE_ON_ONE_RANK": "yes"}])
def test_config_flags_read_as_pytorch(env):
    pytest.importorskip("torch")
    assert _config("disttorch", **env) == _config("torch", **env)
    assert dist.config.__all__ == ["compile_on_one_rank", "use_torchcomms"]
