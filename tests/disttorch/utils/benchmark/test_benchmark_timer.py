"""torch.utils.benchmark.Timer: the tutorials' usage runs, and on a deterministic clock the block sizes and
times of timeit / blocked_autorange / adaptive_autorange are PyTorch's exactly."""
from __future__ import annotations

import itertools
import re
import timeit

import numpy as np
import pytest

import disttorch
import disttorch.utils.benchmark as dbench
from disttorch.utils.benchmark.utils import timer as dtimer_mod

torch = pytest.importorskip("torch")
import torch.utils.benchmark as tbench  # noqa: E402


class Clock:
    """A fake timer: the statement ``tick()`` advances it by the next step of a fixed cycle."""

    def __init__(self, steps):
        self.now = 0.0
        self._steps = itertools.cycle(steps)

    def __call__(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += next(self._steps)


STEPS = [(1e-6,), (3e-6, 1e-6, 2e-6, 9e-6), (2e-4, 2.5e-4), (0.03,)]


def _run(bench, steps, how: str):
    clock = Clock(steps)
    t = bench.Timer("tick()", timer=clock, globals={"tick": clock.tick}, label="fake", description=how)
    calls = []
    cb = (lambda number, took: calls.append((number, took)))
    if how == "timeit":
        m = t.timeit(50)
    elif how == "blocked":
        m = t.blocked_autorange(callback=cb, min_run_time=0.05)
    else:
        m = t.adaptive_autorange(threshold=0.2, min_run_time=0.01, max_run_time=0.5, callback=cb)
    return m, calls


@pytest.mark.parametrize("how", ["timeit", "blocked", "adaptive"])
@pytest.mark.parametrize("steps", range(len(STEPS)))
def test_algorithms_match_torch_on_a_fake_clock(steps, how):
    (ours, our_calls), (theirs, their_calls) = _run(dbench, STEPS[steps], how), _run(tbench, STEPS[steps], how)
    assert ours.number_per_run == theirs.number_per_run
    assert ours.raw_times == pytest.approx(theirs.raw_times, rel=1e-9, abs=1e-15)
    assert [n for n, _ in our_calls] == [n for n, _ in their_calls]
    assert [t for _, t in our_calls] == pytest.approx([t for _, t in their_calls], rel=1e-9, abs=1e-15)
    addr = re.compile(r" at 0x[0-9a-f]+")
    assert addr.sub("", repr(ours)).replace("disttorch.", "torch.") == addr.sub("", repr(theirs))


def batched_dot_mul_sum(a, b):
    return a.mul(b).sum(-1)


def batched_dot_bmm(a, b):
    a = a.reshape(-1, 1, a.shape[-1])
    b = b.reshape(-1, b.shape[-1], 1)
    return a.bmm(b).flatten(-3)


def test_recipe_usage_runs(capsys):
    """The benchmark recipe's flow: globals, setup importing from a module, labels, threads, Compare."""
    x = disttorch.randn(100, 64)
    np.testing.assert_allclose(batched_dot_mul_sum(x, x).numpy(), batched_dot_bmm(x, x).numpy(), rtol=1e-5)
    t0 = dbench.Timer(stmt="batched_dot_mul_sum(x, x)", setup=f"from {__name__} import batched_dot_mul_sum",
                      globals={"x": x})
    m0 = t0.timeit(20)
    assert isinstance(m0, dbench.Measurement) and m0.number_per_run == 20 and len(m0.raw_times) == 1
    assert m0.mean == m0.median == m0.raw_times[0] / 20 > 0
    m1 = t0.blocked_autorange(min_run_time=0.05)
    assert sum(m1.raw_times) >= 0.05 and m1.number_per_run >= 1
    results = []
    for n, threads in itertools.product([1, 64], [1, 2]):
        x = disttorch.ones((n, 16))
        for stmt, desc in (("batched_dot_mul_sum(x, x)", "mul/sum"), ("batched_dot_bmm(x, x)", "bmm")):
            results.append(dbench.Timer(stmt=stmt, setup=f"from {__name__} import {stmt.split('(')[0]}",
                                        globals={"x": x}, num_threads=threads, label="Batched dot",
                                        sub_label=f"[{n}, 16]", description=desc).blocked_autorange(
                                            min_run_time=0.01))
    compare = dbench.Compare(results)
    compare.trim_significant_figures()
    compare.colorize()
    compare.print()
    out = capsys.readouterr().out
    assert "Batched dot" in out and "1 threads: " in out and "2 threads: " in out and "mul/sum" in out
    assert "[64, 16]" in out and re.search(r"Times are in \w+seconds \((ns|us|ms|s)\)\.", out)


def test_torch_global_and_threads():
    seen = []
    t = dbench.Timer("seen.append((torch, torch.get_num_threads()))", globals={"seen": seen}, num_threads=3)
    before = disttorch.get_num_threads()
    t.timeit(2)
    assert seen and all(mod is disttorch and n == 3 for mod, n in seen)
    assert disttorch.get_num_threads() == before  # restored


def test_statement_cleanup_like_torch():
    stmt, setup = "\n    y = x + 1\n    z = y * 2\n  ", "\n    x = 3\n"
    ours = dbench.Timer(stmt, setup=setup, timer=timeit.default_timer)
    theirs = tbench.Timer(stmt, setup=setup, timer=timeit.default_timer)
    assert ours._task_spec.stmt == theirs._task_spec.stmt == "y = x + 1\nz = y * 2"
    assert ours._task_spec.setup == theirs._task_spec.setup == "x = 3"
    assert ours._task_spec.summarize() == theirs._task_spec.summarize()


@pytest.mark.parametrize("call", [
    lambda b: b.Timer(stmt=lambda: None),
    lambda b: b.Timer("x", global_setup="#include <x>"),
    lambda b: b.Timer("x", language="fortran"),
    lambda b: b.Timer("pass").repeat(),
    lambda b: b.Timer("pass").autorange(),
])
def test_errors_as_torch(call):
    with pytest.raises(Exception) as want:
        call(tbench)
    with pytest.raises(type(want.value)) as got:
        call(dbench)
    assert str(got.value) == str(want.value)


def test_cpp_and_callgrind_say_they_are_unavailable():
    for lang in ("cpp", "c++", dbench.Language.CPP):
        with pytest.raises(NotImplementedError, match="language='cpp'"):
            dbench.Timer("x.add_(1);", language=lang)
    with pytest.raises(NotImplementedError, match="collect_callgrind is not available"):
        dbench.Timer("pass").collect_callgrind(number=10)
    assert [(e.name, e.value) for e in dbench.Language] == [(e.name, e.value) for e in tbench.Language]


def test_default_timer_synchronizes_the_accelerator(device, monkeypatch):
    calls = []
    real = disttorch.accelerator.synchronize
    monkeypatch.setattr(disttorch.accelerator, "synchronize", lambda *a: calls.append(1) or real(*a))
    x = disttorch.ones(8, device=device)
    m = dbench.Timer("x * 2", globals={"x": x}).timeit(5)
    assert m.raw_times[0] > 0
    assert bool(calls) == disttorch.accelerator.is_available()
    assert dtimer_mod.timer() > 0
    np.testing.assert_allclose((x * 2).cpu().numpy(), np.full(8, 2.0))


def test_the_default_clock_probes_the_accelerator_once(monkeypatch):
    """blocked_autorange sizes its blocks from the clock: a slow clock (an accelerator probe per tick) made it
    pick blocks ~100x too large and report one or two measurements. The probe must run once, not per tick."""
    import disttorch
    from disttorch.utils.benchmark.utils import timer as timer_module

    probes = []
    monkeypatch.setattr(timer_module, "_sync", [])
    monkeypatch.setattr(disttorch.accelerator, "is_available", lambda: probes.append(1) or False)
    ticks = [timer_module.timer() for _ in range(100)]
    assert len(probes) == 1
    assert ticks == sorted(ticks)
