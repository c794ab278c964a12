"""torch.utils.benchmark's Measurement statistics, repr and Compare tables against PyTorch's on the same
times (deterministic inputs: the structure and every number must match, object addresses aside)."""
from __future__ import annotations

import re

import numpy as np
import pytest

import disttorch.utils.benchmark as dbench

torch = pytest.importorskip("torch")
import torch.utils.benchmark as tbench  # noqa: E402

_ADDRESS = re.compile(r" object at 0x[0-9a-f]+>")


def _norm(text: str) -> str:
    return _ADDRESS.sub(" object at ADDR>", text).replace("disttorch.", "torch.")


def _measurement(bench, number: int, times, **spec):
    spec.setdefault("stmt", "x + y")
    spec.setdefault("setup", "pass")
    return bench.Measurement(number_per_run=number, raw_times=list(times), task_spec=bench.TaskSpec(**spec))


def _times(seed: int, n: int, base: float, spread: float) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(v) for v in base * (1 + spread * rng.standard_normal(n))]


CASES = [  # (number_per_run, times, task spec)
    (100, _times(0, 40, 3.2e-3, 0.01), {}),
    (1, _times(1, 7, 4.5e-7, 0.3), {"label": "add", "sub_label": "float", "description": "n=4"}),
    (1000, _times(2, 3, 2.5, 0.05), {"stmt": "a = 1\nb = a + 2", "setup": "import math\nx = 1"}),
    (10, [1.7e-5], {"stmt": "f(x)", "setup": "from __main__ import f", "sub_label": "one", "num_threads": 4}),
    (5, _times(3, 12, 8.0e-2, 0.12), {"stmt": "g()\nh()", "sub_label": "two", "description": "many\nlines"}),
    (2, _times(4, 4, 1.2e-9, 0.0), {"env": "new"}),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_measurement_matches_torch(case):
    number, times, spec = CASES[case]
    ours, theirs = _measurement(dbench, number, times, **spec), _measurement(tbench, number, times, **spec)
    assert _norm(repr(ours)) == _norm(repr(theirs))
    for name in ("mean", "median", "iqr"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12)
    assert ours.times == pytest.approx(theirs.times, rel=1e-15)
    assert ours.significant_figures == theirs.significant_figures
    assert ours.has_warnings == theirs.has_warnings
    assert ours.meets_confidence(0.05) == theirs.meets_confidence(0.05)
    assert (ours.title, ours.as_row_name, ours.stmt, ours.label, ours.num_threads, ours.env) == \
        (theirs.title, theirs.as_row_name, theirs.stmt, theirs.label, theirs.num_threads, theirs.task_spec.env)
    assert ours.task_spec.summarize() == theirs.task_spec.summarize()


def test_measurement_merge_matches_torch():
    def build(bench):
        a = _measurement(bench, 10, _times(5, 6, 1e-3, 0.1), label="L")
        b = _measurement(bench, 100, _times(6, 4, 1e-1, 0.1), label="L")  # same task: merged with a
        c = _measurement(bench, 1, _times(7, 5, 2e-3, 0.1), label="M")
        return bench.Measurement.merge([a, c, b])
    ours, theirs = build(dbench), build(tbench)
    assert len(ours) == len(theirs) == 2
    for o, t in zip(ours, theirs):
        assert o.number_per_run == t.number_per_run == 1 and o.metadata is None
        assert o.times == pytest.approx(t.times, rel=1e-15) and o.label == t.label
        assert _norm(repr(o)) == _norm(repr(t))


@pytest.mark.parametrize("t,unit", [(3e-10, "s"), (1e-9, "ns"), (5e-8, "ns"), (1e-6, "us"), (0.5e-3, "us"),
                                    (2e-3, "ms"), (0.99, "ms"), (1.0, "s"), (3e4, "s")])
def test_select_unit_and_helpers(t, unit):
    assert dbench.select_unit(t) == tbench.select_unit(t) and dbench.select_unit(t)[0] == unit
    assert dbench.unit_to_english(unit) == tbench.unit_to_english(unit)
    for n in (1, 2, 3, 4):
        np.testing.assert_allclose(dbench.trim_sigfig(t * 1.23456, n), tbench.trim_sigfig(t * 1.23456, n), rtol=1e-6)
    assert dbench.ordered_unique([3, 1, 3, 2, 1]) == tbench.ordered_unique([3, 1, 3, 2, 1]) == [3, 1, 2]


def _grid(bench):
    """A tutorial-style set: two labels, sizes as rows, two descriptions, two thread counts, replicates, a gap."""
    out = []
    seed = 10
    for label in ("Batched dot", "Matmul"):
        for threads in (1, 4):
            for size in ("[1, 1]", "[64, 32]", "[10000, 64]"):
                for desc, scale in (("mul/sum", 1.0), ("bmm", 1.7)):
                    if label == "Matmul" and size == "[64, 32]" and desc == "bmm" and threads == 4:
                        continue  # an empty cell
                    base = scale * {"[1, 1]": 2e-6, "[64, 32]": 9e-6, "[10000, 64]": 4e-4}[size] / threads ** 0.5
                    for _replicate in range(2):
                        seed += 1
                        spread = 0.4 if seed % 5 == 0 else 0.02
                        out.append(_measurement(bench, 100, _times(seed, 8, base, spread), stmt="f(x, x)",
                                                label=label, sub_label=size, description=desc,
                                                num_threads=threads))
    return out


@pytest.mark.parametrize("trim", [False, True])
@pytest.mark.parametrize("colorize", [None, "columnwise", "rowwise"])
@pytest.mark.parametrize("highlight", [False, True])
def test_compare_table_matches_torch(trim, colorize, highlight):
    tables = []
    for bench in (dbench, tbench):
        compare = bench.Compare(_grid(bench))
        if trim:
            compare.trim_significant_figures()
        if colorize:
            compare.colorize(rowwise=colorize == "rowwise")
        if highlight:
            compare.highlight_warnings()
        tables.append(str(compare))
    ours, theirs = tables
    assert ours == theirs
    assert "[" in ours and "threads: " in ours and "Times are in nanoseconds (ns)." in ours


def test_compare_print_extend_and_envs(capsys):
    outs = []
    for bench in (dbench, tbench):
        ms = [_measurement(bench, 10, _times(i, 6, 1e-3 * (i + 1), 0.01), sub_label=f"r{i % 2}", env=env,
                           label="envs", description=f"c{i // 4}")
              for i, env in enumerate(["base", "base", "new", "new", "base", "base", "new", "new"])]
        compare = bench.Compare(ms[:3])
        compare.extend_results(ms[3:])
        compare.print()
        outs.append(capsys.readouterr().out)
        with pytest.raises(ValueError, match="Expected an instance of `Measurement`"):
            compare.extend_results([1.0])
    assert outs[0] == outs[1]
    assert "(base)" in outs[0] and "(new)" in outs[0] and "microseconds (us)" in outs[0]


def test_colorize_enum_and_escape_codes():
    assert [c.value for c in dbench.Colorize] == [c.value for c in tbench.Colorize]
    compare = dbench.Compare(_grid(dbench))
    compare.colorize()
    assert "\033[92m" in str(compare)  # the best entry of each column is green


def test_measurement_pickles_and_reads_task_fields():
    import pickle

    m = _measurement(dbench, 10, _times(8, 6, 1e-3, 0.2), label="L", sub_label="s", num_threads=2)
    back = pickle.loads(pickle.dumps(m))
    assert back == m and back.median == m.median and back.label == "L" and back.num_threads == 2
    assert _norm(repr(back)).split("\n")[1:] == _norm(repr(m)).split("\n")[1:]
    with pytest.raises(AttributeError):
        getattr(m, "not_a_field")  # noqa: B009
