"""The training examples' progress, metrics file and loss curve (examples/_training_log.py), with and without
tqdm, and --help showing the defaults."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["ddp_train.py", "fit_line.py", "mnist_digits_cnn.py", "text_lstm.py", "text_transformer.py",
            "resumable_train.py"]


def run(*args: str, hide: str | None = None) -> subprocess.CompletedProcess:
    """``python examples/...`` in a fresh interpreter; ``hide``: a module made unimportable first."""
    script, rest = str(ROOT / "examples" / args[0]), list(args[1:])
    code = (f"import runpy, sys; sys.modules[{hide!r}] = None; sys.path.insert(0, {str(ROOT / 'examples')!r}); "
            f"sys.argv = [{script!r}, *{rest!r}]; runpy.run_path({script!r}, run_name='__main__')") if hide else None
    cmd = [sys.executable, "-c", code] if code else [sys.executable, script, *rest]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=ROOT)


@pytest.mark.parametrize("example", EXAMPLES)
def test_help_shows_defaults(example):
    proc = run(example, "--help")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())  # argparse wraps lines at the terminal's width
    assert "(default: " in text
    if example != "resumable_train.py":
        assert "--metrics PATH" in text and "without tqdm (default: 50)" in text  # --print-every


def test_metrics_file_plot_and_tqdm_progress(tmp_path):
    pytest.importorskip("tqdm")
    metrics = tmp_path / "sub" / "fit.jsonl"
    proc = run("fit_line.py", "--steps", "60", "--metrics", str(metrics))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 61))
    assert all(set(r) == {"step", "loss", "lr", "throughput", "elapsed"} and r["lr"] == 0.1 for r in rows)
    assert rows[-1]["loss"] < rows[0]["loss"] and rows[-1]["elapsed"] >= rows[0]["elapsed"] > 0
    assert "60/60" in proc.stderr, proc.stderr  # the bar, on stderr; stdout keeps the example's own lines
    assert "step   50  loss" in proc.stdout and "learned y" in proc.stdout
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert not (tmp_path / "sub" / "fit.png").exists()
    else:
        assert (tmp_path / "sub" / "fit.png").read_bytes()[:4] == b"\x89PNG"


def test_plain_progress_lines_without_tqdm(tmp_path):
    proc = run("fit_line.py", "--steps", "40", "--print-every", "20", hide="tqdm")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("fit step ")]
    assert [line.split(":")[0] for line in lines] == ["fit step 20/40", "fit step 40/40"], proc.stdout
    assert "samples/s" in lines[0] and "it/s" not in proc.stderr
    quiet = run("fit_line.py", "--steps", "40", "--print-every", "20", "--no-progress", hide="tqdm")
    assert "fit step" not in quiet.stdout and "learned y" in quiet.stdout


def test_only_rank_zero_reports(tmp_path):
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from _training_log import TrainingLog
    finally:
        sys.path.remove(str(ROOT / "examples"))
    import argparse

    args = argparse.Namespace(metrics=str(tmp_path / "m.jsonl"), no_progress=False, print_every=1)
    log = TrainingLog(2, args, rank=1)
    log.step(1.0, 0.1, 4)
    log.close()
    assert not os.path.exists(tmp_path / "m.jsonl") and log.bar is None and not log.plain
