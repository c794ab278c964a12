"""torch.profiler / torch.autograd.profiler against PyTorch's: schedules, step windows, the events recorded for
ops, record_function ranges and backward nodes, the summary table, Chrome traces, and forward_ad."""
from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import warnings

import numpy as np
import pytest

import disttorch
from disttorch.autograd import engine, function, graph

torch = pytest.importorskip("torch")


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.mark.parametrize("wait,warmup,active,repeat,skip_first,skip_first_wait",
                         list(itertools.product([0, 2], [0, 1], [1, 3], [0, 2], [0, 3], [0, 1])))
def test_schedule_actions_as_pytorch(wait, warmup, active, repeat, skip_first, skip_first_wait):
    kw = dict(wait=wait, warmup=warmup, active=active, repeat=repeat, skip_first=skip_first,
              skip_first_wait=skip_first_wait)
    ours, theirs = _quiet(disttorch.profiler.schedule, **kw), _quiet(torch.profiler.schedule, **kw)
    assert [ours(s).name for s in range(30)] == [theirs(s).name for s in range(30)]


def test_schedule_errors_and_warnings():
    for kw in (dict(wait=-1, warmup=1, active=1), dict(wait=0, warmup=1, active=0)):
        with pytest.raises(AssertionError, match="Invalid profiler schedule arguments"):
            disttorch.profiler.schedule(**kw)
        with pytest.raises(AssertionError, match="Invalid profiler schedule arguments"):
            torch.profiler.schedule(**kw)
    with pytest.warns(UserWarning, match="won't be using warmup"):
        disttorch.profiler.schedule(wait=1, warmup=0, active=1)
    with pytest.raises(AssertionError, match="Step must be non-negative"):
        disttorch.profiler.schedule(wait=1, warmup=1, active=1)(-1)


def test_enums_as_pytorch():
    assert [a.name for a in disttorch.profiler.ProfilerAction if a.name != "DEVICE_STOPPED"] == \
        [a.name for a in torch.profiler.ProfilerAction if a.name != "DEVICE_STOPPED"]
    for name in ("CPU", "CUDA", "XPU", "MTIA", "HPU", "PrivateUse1"):
        assert getattr(disttorch.profiler.ProfilerActivity, name).name == name
        assert hasattr(torch.profiler.ProfilerActivity, name)
    assert disttorch.autograd.ProfilerActivity is disttorch.profiler.ProfilerActivity
    assert disttorch.profiler.ProfilerActivity.CPU in disttorch.profiler.supported_activities()
    assert disttorch.autograd.kineto_available() is False


def _run_steps(lib, n_steps, sched_kw):
    """A loop under a scheduled profiler: which steps each on_trace_ready window saw, by ProfilerStep# names."""
    windows = []

    def ready(prof):
        names = {e.name for e in prof.events()}
        windows.append((prof.step_num, sorted(n for n in names if n.startswith("ProfilerStep")),
                        sorted(n for n in names if n.startswith("mark"))))

    x = lib.ones(3)
    sched = _quiet(lib.profiler.schedule, **sched_kw)
    with _quiet(lib.profiler.profile, activities=[lib.profiler.ProfilerActivity.CPU], schedule=sched,
                on_trace_ready=ready) as prof:
        for i in range(n_steps):
            with lib.profiler.record_function(f"mark{i}"):
                x = x + 1
            prof.step()
    return windows


@pytest.mark.parametrize("sched_kw,n", [(dict(wait=1, warmup=1, active=2), 10),
                                        (dict(wait=1, warmup=1, active=2, repeat=1), 10),
                                        (dict(wait=0, warmup=0, active=1, skip_first=2), 5),
                                        (dict(wait=2, warmup=1, active=3, repeat=2, skip_first=1), 15)])
def test_scheduled_windows_as_pytorch(sched_kw, n):
    assert _run_steps(disttorch, n, sched_kw) == _run_steps(torch, n, sched_kw)


def _profile_model(lib):
    x = lib.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    w = lib.tensor(np.ones((4, 2)), requires_grad=True)
    with lib.profiler.profile(record_shapes=True, profile_memory=True) as prof:
        with lib.profiler.record_function("forward_pass"):
            y = (x @ w).relu().sum()
        with lib.profiler.record_function("backward_pass"):
            y.backward()
        for _ in range(3):
            with lib.profiler.record_function("repeated"):
                pass
    return prof


def test_record_function_events_and_nesting():
    ours, theirs = _profile_model(disttorch), _profile_model(torch)
    for name in ("forward_pass", "backward_pass", "repeated"):
        o = [e for e in ours.key_averages() if e.key == name]
        t = [e for e in theirs.key_averages() if e.key == name]
        assert len(o) == len(t) == 1 and o[0].count == t[0].count
    evts = ours.events()
    fwd = next(e for e in evts if e.name == "forward_pass")
    assert fwd.is_user_annotation and fwd.cpu_parent is None
    assert fwd.cpu_children and all(c.cpu_parent is fwd for c in fwd.cpu_children)
    assert any(c.name.startswith("aten::") for c in fwd.cpu_children)
    assert fwd.cpu_time_total >= sum(c.cpu_time_total for c in fwd.cpu_children)
    assert fwd.self_cpu_time_total == pytest.approx(fwd.cpu_time_total - sum(c.cpu_time_total
                                                                              for c in fwd.cpu_children))
    bwd = next(e for e in evts if e.name == "backward_pass")
    nodes = [c.name for c in bwd.cpu_children]
    assert any(n.startswith("autograd::engine::evaluate_function: ") for n in nodes)
    # one op's shapes, as recorded
    matmul = next(e for e in evts if e.cpu_parent is fwd and e.input_shapes == [[3, 4], [4, 2]])
    assert matmul.cpu_memory_usage >= 3 * 2 * 8
    assert all(e.start_us <= e.end_us for e in evts)


def test_table_layout_as_pytorch():
    ours, theirs = _profile_model(disttorch), _profile_model(torch)
    for kw in (dict(sort_by="cpu_time_total", row_limit=5), dict(sort_by="self_cpu_time_total", row_limit=3)):
        o = ours.key_averages().table(**kw).splitlines()
        t = theirs.key_averages().table(**kw).splitlines()
        assert o[1].split() == t[1].split()  # the header
        assert len(o) == len(t)
        assert o[-1].startswith("Self CPU time total: ") and t[-1].startswith("Self CPU time total: ")
        for r in o[3:-2]:  # same width as the header, three time cells and two memory cells
            assert len(r) == len(o[1])
            assert len(re.findall(r"\d\.\d{3}(us|ms|s) ", r)) == 3
            assert len(re.findall(r"-?\d+(\.\d\d)? (B|KB|MB|GB) ", r)) == 2
    o = ours.key_averages(group_by_input_shape=True).table(row_limit=2).splitlines()
    t = theirs.key_averages(group_by_input_shape=True).table(row_limit=2).splitlines()
    assert o[1].split() == t[1].split()
    with pytest.raises(AttributeError):
        ours.key_averages().table(sort_by="no_such_column")


def test_sorted_by_cpu_time_total():
    prof = _profile_model(disttorch)
    avgs = prof.key_averages()
    table = avgs.table(sort_by="cpu_time_total", row_limit=100).splitlines()[3:-2]
    keys = [r.split()[0] for r in table]
    best = sorted(avgs, key=lambda e: e.cpu_time_total, reverse=True)
    assert keys[0] == best[0].key.split()[0]
    assert sum(a.count for a in avgs) == len(prof.events())


def test_chrome_trace_and_tensorboard_handler(tmp_path):
    prof = _profile_model(disttorch)
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    doc = json.loads(path.read_text())
    names = {e["name"] for e in doc["traceEvents"]}
    assert {"forward_pass", "backward_pass", "repeated"} <= names
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in doc["traceEvents"])
    handler = disttorch.profiler.tensorboard_trace_handler(str(tmp_path / "tb"), worker_name="w0", use_gzip=True)
    with disttorch.profiler.profile(on_trace_ready=handler):
        disttorch.ones(2) * 2
    (f,) = os.listdir(tmp_path / "tb")
    assert f.startswith("w0.") and f.endswith(".pt.trace.json.gz")
    with gzip.open(tmp_path / "tb" / f, "rt") as fh:
        assert any(e["name"] == "aten::mul" for e in json.load(fh)["traceEvents"])


def test_nothing_wrapped_outside_a_profile():
    before = (graph.Op.__dict__["apply"], function.Function.__dict__["apply"], engine._call_node)
    with disttorch.profiler.profile():
        assert engine._call_node is not before[2]
        with disttorch.autograd.profiler.profile() as inner:
            disttorch.ones(2).sum()
    after = (graph.Op.__dict__["apply"], function.Function.__dict__["apply"], engine._call_node)
    assert after[0].__func__ is before[0].__func__ and after[1].__func__ is before[1].__func__
    assert after[2] is before[2]
    assert any(e.key == "aten::sum" for e in inner.key_averages())
    with disttorch.profiler.record_function("outside"):  # no profiler: nothing recorded, nothing fails
        disttorch.ones(1) + 1


def test_autograd_profiler_legacy_api():
    with disttorch.autograd.profiler.profile(record_shapes=True) as prof:
        with disttorch.autograd.profiler.record_function("block"):
            disttorch.ones(4).exp()
    with torch.autograd.profiler.profile(record_shapes=True) as tprof:
        with torch.autograd.profiler.record_function("block"):
            torch.ones(4).exp()
    assert [e.key for e in prof.key_averages() if e.key == "block"] == ["block"]
    assert prof.table().splitlines()[1].split() == tprof.table().splitlines()[1].split()
    assert prof.self_cpu_time_total > 0 and isinstance(prof.function_events, list)
    off = disttorch.autograd.profiler.profile(enabled=False)
    with off:
        disttorch.ones(1)
    assert off.function_events is None
    with disttorch.autograd.profiler.emit_nvtx(), disttorch.autograd.profiler.emit_itt():
        disttorch.ones(1)

    @disttorch.profiler.record_function("decorated")
    def f():
        return disttorch.ones(2) + 1

    with disttorch.profiler.profile() as p2:
        f()
    assert any(e.name == "decorated" for e in p2.events())


def test_multithreading_flag_as_pytorch():
    for lib in (disttorch, torch):
        assert lib.autograd.is_multithreading_enabled()
        with lib.autograd.set_multithreading_enabled(False):
            assert not lib.autograd.is_multithreading_enabled()
        assert lib.autograd.is_multithreading_enabled()


def test_view_replay_and_layout_policy_flags_as_pytorch():
    for lib in (disttorch, torch):
        assert lib.autograd.is_view_replay_enabled() is False
        with lib.autograd.enforce_grad_layout_policy(False):
            x = lib.ones(2, requires_grad=True)
            (x * 2).sum().backward()
        assert x.grad.tolist() == [2.0, 2.0]
