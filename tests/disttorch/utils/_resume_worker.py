"""Run under ``mpiexec -n N``: Checkpointer across ranks. argv[1]: the directory; argv[2]: the scenario."""
import os
import random
import sys

import numpy as np

import disttorch as torch
import disttorch.distributed as dist
from disttorch import nn
from disttorch.utils import resume
from disttorch.utils.resume import Checkpointer


def say(line: str) -> None:
    """One write per line, so the ranks' lines never interleave on the shared pipe."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


directory, scenario = sys.argv[1], sys.argv[2]
dist.init_process_group()
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(100 + rank)
np.random.seed(200 + rank)
random.seed(300 + rank)
model = nn.Linear(3, 2)
dist.broadcast(model.weight.data, 0)
dist.broadcast(model.bias.data, 0)
ckpt = Checkpointer(directory, model=model)


def draws():
    return torch.rand(3).tolist(), np.random.rand(2).tolist(), random.random()


if scenario == "agree":
    assert ckpt.resume() is None
    ckpt.save(5, epoch=1, position=2)
    assert os.path.exists(ckpt.path_for(5))  # complete for every rank once save returns
    expected = draws()
    before = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    torch.rand(10)
    state = ckpt.resume()
    assert state["step"] == 5 and state["epoch"] == 1 and state["position"] == 2, state
    assert torch.equal(model.weight, before)
    assert draws() == expected, f"rank {rank}: random states not restored"  # each rank gets its own back
    say(f"rank {rank}: agree ok")
elif scenario == "unreadable":
    ckpt.save(1)
    if rank == world - 1:  # this rank cannot read what rank 0 picked
        def _read(path):
            raise OSError(f"cannot open {path}")
        resume._read = _read
    try:
        ckpt.resume()
    except RuntimeError as exc:
        say(f"rank {rank}: RuntimeError: {exc}")
    else:
        say(f"rank {rank}: no error")
elif scenario == "rollback":  # saves 10, 20, 30; back to 20; save 21: every rank continues from 21, not 30
    ckpt.keep_last = 2
    for step in (10, 20, 30):
        ckpt.save(step)
    ckpt.resume(ckpt.path_for(20))
    ckpt.save(21)
    say(f"rank {rank}: resumed step {ckpt.resume()['step']}")
dist.destroy_process_group()
