"""disttorch.distributed.nn.functional: differentiable collectives, alone, on real ranks, and against PyTorch."""
import json
import re
import socket
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import disttorch as torch
import disttorch.distributed as dist
import disttorch.distributed.nn as dnn
import disttorch.distributed.nn.functional as F

sys.path.insert(0, str(Path(__file__).parents[2] / "collectives"))
import _mpirun  # noqa: E402

WORKER = Path(__file__).parent / "_dist_nn_worker.py"
DEPRECATED = ("broadcast", "reduce_scatter", "all_gather", "all_to_all_single", "all_reduce")


@pytest.fixture
def world():
    if dist.is_initialized():
        dist.destroy_process_group()
    dist.init_process_group()
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def _results(folder, n):
    return [json.loads((folder / f"rank{r}.json").read_text()) for r in range(n)]


def test_names_like_pytorch():
    import torch.distributed.nn as tdnn
    import torch.distributed.nn.functional as tF
    assert sorted(F.__all__) == sorted(n for n in vars(tF) if not n.startswith("_") and callable(vars(tF)[n])
                                       and vars(tF)[n].__module__ == tF.__name__)
    for name in F.__all__:
        assert getattr(dnn, name) is getattr(F, name)
        assert hasattr(tdnn, name)


def test_world_of_one(world):
    x = torch.arange(4.0, dtype=torch.float64, requires_grad=True)
    calls = {"all_reduce": lambda: F.all_reduce(x * 2), "all_gather": lambda: F.all_gather(x * 2)[0],
             "broadcast": lambda: F.broadcast(x * 2, 0), "reduce": lambda: F.reduce(x * 2, 0),
             "gather": lambda: F.gather(x * 2)[0], "scatter": lambda: F.scatter([x * 2]),
             "reduce_scatter": lambda: F.reduce_scatter(torch.zeros(4, dtype=torch.float64), [x * 2]),
             "all_to_all": lambda: F.all_to_all([torch.zeros(4, dtype=torch.float64)], [x * 2])[0],
             "all_to_all_single": lambda: F.all_to_all_single(torch.zeros(4, dtype=torch.float64), x * 2)}
    names = {"all_reduce": "_AllReduceBackward", "all_gather": "_AllGatherBackward", "broadcast": "_BroadcastBackward",
             "reduce": "_ReduceBackward", "gather": "_GatherBackward", "scatter": "_ScatterBackward",
             "reduce_scatter": "_Reduce_ScatterBackward", "all_to_all": "_AlltoAllBackward",
             "all_to_all_single": "_AlltoAllSingleBackward"}
    for name, call in calls.items():
        x.grad = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = call()
        deprecations = [w for w in caught if issubclass(w.category, FutureWarning)]
        assert len(deprecations) == (name in DEPRECATED), (name, [str(w.message) for w in caught])
        if deprecations:
            assert str(deprecations[0].message).startswith(f"torch.distributed.nn.functional.{name} is deprecated")
        assert y.grad_fn.name() == names[name] and type(y.grad_fn).__name__ == names[name]
        (y * y).sum().backward()
        np.testing.assert_allclose(y.detach().numpy(), 2 * np.arange(4.0))
        np.testing.assert_allclose(x.grad.numpy(), 8 * np.arange(4.0), err_msg=name)


@pytest.mark.parametrize("n", [2, 3])
def test_on_ranks_against_the_closed_form(n):
    result = _mpirun.run(WORKER, [], n, timeout=120)
    ranks = sorted(int(r) for r in re.findall(r"OK rank (\d+) checks \d+", result.output))
    assert result.returncode == 0 and ranks == list(range(n)), result.output


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("n", [2, 3])
def test_same_numbers_as_pytorch_gloo(n, tmp_path):
    (tmp_path / "ours").mkdir()
    (tmp_path / "torch").mkdir()
    ours = _mpirun.run(WORKER, [], n, timeout=120, DIST_NN_OUT=str(tmp_path / "ours"))
    theirs = _mpirun.run(WORKER, ["torch", str(n)], 0, timeout=120, DIST_NN_PORT=str(_free_port()),
                         DIST_NN_OUT=str(tmp_path / "torch"))
    assert ours.returncode == 0, ours.output
    assert theirs.returncode == 0, theirs.output
    ours, theirs = _results(tmp_path / "ours", n), _results(tmp_path / "torch", n)
    for r, (mine, want) in enumerate(zip(ours, theirs)):
        assert set(want) <= set(mine) and len(want) >= 11, sorted(want)
        for name, (fwd, grad, fn) in want.items():
            got_fwd, got_grad, got_fn = mine[name]
            assert got_fn == fn, (r, name, got_fn, fn)
            assert len(got_fwd) == len(fwd), (r, name)
            if name == "reduce" and r != 0:  # off the root the buffer is unspecified (gloo leaves partial sums)
                fwd = got_fwd
            for a, b in zip(got_fwd, fwd):
                np.testing.assert_allclose(a, b, err_msg=f"rank {r} {name} forward")
            np.testing.assert_allclose(got_grad, grad, err_msg=f"rank {r} {name} grad")


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_outputs_passed_in_are_written(world):
    # what PyTorch does: checked against torch 2.13 on a gloo world of one
    x = torch.arange(3.0, requires_grad=True)
    o = torch.zeros(3)
    y = F.reduce_scatter(o, [x * 2])
    assert y is not o and o.grad_fn is None and y.grad_fn.name() == "_Reduce_ScatterBackward"
    np.testing.assert_array_equal(o.numpy(), [0.0, 2.0, 4.0])
    outs = [torch.zeros(3)]
    (y,) = F.all_to_all(outs, [x * 2])
    assert y is outs[0] and y.grad_fn.name() == "_AlltoAllBackward"
    o = torch.zeros(3)
    y = F.all_to_all_single(o, x * 2)
    assert y is not o and o.grad_fn is None
    np.testing.assert_array_equal(o.numpy(), [0.0, 2.0, 4.0])
