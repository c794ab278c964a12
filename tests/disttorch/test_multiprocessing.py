"""torch.multiprocessing: spawn runs fn(i, *args), tensors cross process boundaries, failures surface."""
from __future__ import annotations

import time

import _mp_worker
import pytest

import disttorch
import disttorch.multiprocessing as mp


def test_spawn_passes_tensors_both_ways():
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    mp.spawn(_mp_worker.square_into_queue, args=(queue, disttorch.tensor([1.0, 2.0])), nprocs=2)
    got = dict(queue.get(timeout=60) for _ in range(2))
    assert got[0].tolist() == [1.0, 2.0] and got[1].tolist() == [2.0, 4.0]
    assert isinstance(got[1], disttorch.Tensor)


def test_a_raising_process_stops_the_others_and_is_reported():
    start = time.monotonic()
    with pytest.raises(mp.ProcessRaisedException, match="rank one failed on purpose") as info:
        mp.spawn(_mp_worker.fail_on_one, nprocs=2)
    assert info.value.error_index == 1
    assert "-- Process 1 terminated with the following error" in str(info.value)
    assert time.monotonic() - start < 25  # process 0 (sleeping 30 s) was terminated


def test_exit_code_is_reported():
    with pytest.raises(mp.ProcessExitedException, match="exit code 3") as info:
        mp.spawn(_mp_worker.exit_three, nprocs=1)
    assert info.value.exit_code == 3


def test_join_false_returns_a_context():
    context = mp.start_processes(_mp_worker.make_tensor, nprocs=2, join=False, start_method="spawn")
    assert len(context.pids()) == 2
    while not context.join(timeout=60):
        pass


def test_reexports_and_sharing_strategy():
    assert mp.Process is not None and mp.Queue is not None and callable(mp.set_start_method)
    assert mp.get_sharing_strategy() in mp.get_all_sharing_strategies()
    with pytest.raises(ValueError):
        mp.set_sharing_strategy("nope")
