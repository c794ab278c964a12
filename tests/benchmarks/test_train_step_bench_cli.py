"""benchmarks/train_step.py runs as documented: a quick run's JSON holds every library's timings and the
ratios, and the ratios and verdicts are computed per round from those timings."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import _bench
import pytest

pytest.importorskip("torch")  # the script compares with PyTorch

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "train_step.py")


def _load():
    return _bench.load("train_step.py", "train_step_cli")


def test_quick_run_writes_json_with_ratios_and_memory(tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, SCRIPT, "--case", "mlp_small", "--quick", "--rounds", "3", "--json",
                           str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "summary" in proc.stdout and "first-step losses differ" not in proc.stderr
    rec = json.loads(out.read_text())["cases"]["mlp_small"]
    assert set(rec["libs"]) == {"numpy", "disttorch", "torch"}
    for lib in rec["libs"].values():
        assert 0 < lib["cpu_ms"]["min"] <= lib["cpu_ms"]["median"] <= lib["cpu_ms"]["max"]
        assert lib["peak_mib"] > 0
    for key in ("disttorch/torch", "disttorch/numpy"):
        r = rec["ratios"][key]["cpu"]
        assert 0 < r["min"] <= r["median"] <= r["max"]
    assert rec["met"]["vs torch"] == (rec["ratios"]["disttorch/torch"]["cpu"]["median"] <= 1.0)
    losses = list(rec["first_loss"].values())
    assert max(losses) - min(losses) < 1e-4


def test_ratios_are_per_round():
    ts = _load()
    res = {"cpu": {"disttorch": [2.0, 3.0, 9.0], "torch": [1.0, 2.0, 3.0]},
           "wall": {"disttorch": [1.0, 1.0, 1.0], "torch": [2.0, 4.0, 1.0]}}
    r = ts.ratios(res, "disttorch", "torch")
    assert r["cpu"] == {"min": 1.5, "median": 2.0, "max": 3.0}
    assert r["wall"] == {"min": 0.25, "median": 0.5, "max": 1.0}
    assert ts.ratios(res, "disttorch", "numpy") is None
    assert (ts.verdict(1.0, 1.0), ts.verdict(1.01, 1.0), ts.verdict(None, 1.0)) == ("yes", "NO", "-")


def test_every_case_has_a_target_data_and_a_numpy_step():
    ts = _load()
    assert set(ts.TORCH_TARGET) == set(ts.CASES)
    for case in ts.CASES:
        x, y = ts.make_data(case)
        assert x.dtype.name in ("float32", "int64") and y.dtype.name == "int64"
        assert os.path.exists(os.path.join(os.path.dirname(SCRIPT), "numpy_steps", f"{case}.py"))
