"""Run the example training scripts end to end with small settings, as a user would from the repo root."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_example(script: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, os.path.join("examples", script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{script} exited with {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def lm_val_losses(stdout: str) -> list[float]:
    return [float(v) for v in re.findall(r"^epoch +\d+ .*val loss ([0-9.]+)", stdout, flags=re.M)]


@pytest.mark.timeout(660)
def test_mnist_digits_cnn(tmp_path):
    pytest.importorskip("sklearn")
    save = tmp_path / "digits.pt"
    out = run_example(
        "mnist_digits_cnn.py", "--epochs", "3", "--seed", "0", "--target", "0.95", "--save", str(save)
    ).stdout
    epochs = re.findall(r"^epoch +(\d+) +loss ([0-9.]+) +train acc ([0-9.]+) +test acc ([0-9.]+)", out, flags=re.M)
    assert [int(e[0]) for e in epochs] == [1, 2, 3], out
    losses = [float(e[1]) for e in epochs]
    assert losses[-1] < losses[0], out
    final = float(re.search(r"^final test accuracy: ([0-9.]+)", out, flags=re.M).group(1))
    reloaded = float(re.search(r"reloaded test acc ([0-9.]+)", out).group(1))
    assert final >= 0.95 and reloaded == final, out
    assert save.is_file() and save.stat().st_size > 0


@pytest.mark.timeout(660)
def test_mnist_digits_cnn_fails_when_target_missed():
    pytest.importorskip("sklearn")
    proc = subprocess.run(
        [sys.executable, os.path.join("examples", "mnist_digits_cnn.py"), "--epochs", "1", "--target", "1.01"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "target accuracy not reached" in proc.stdout


@pytest.mark.timeout(660)
def test_text_lstm():
    args = ["--max-chars", "40000", "--epochs", "5", "--hidden", "128", "--sample-chars", "40", "--target-loss", "2.8"]
    out = run_example("text_lstm.py", *args).stdout
    assert "LSTM(64, 128, batch_first=True)" in out
    val = lm_val_losses(out)
    assert len(val) == 6, out  # epoch 0 (untrained) and 5 training epochs
    assert val[0] > 4.0 and val[-1] < 2.8 and val[-1] < val[1] < val[0], out
    assert re.search(r"^epoch +5 +train loss [0-9.]+ +train ppl +[0-9.]+ +val loss", out, flags=re.M), out
    sample = out.split("sample (temperature 0.8):\n", 1)[1].split("\nfinal val loss", 1)[0]
    assert sample.startswith("Return the ") and len(sample) == len("Return the ") + 40, out


@pytest.mark.timeout(660)
def test_text_transformer():
    args = ["--max-chars", "40000", "--epochs", "5", "--d-model", "64", "--layers", "1", "--sample-chars", "40"]
    out = run_example("text_transformer.py", *args, "--target-loss", "3.0").stdout
    assert "TransformerEncoderLayer(" in out
    val = lm_val_losses(out)
    assert len(val) == 6, out
    assert val[0] > 4.0 and val[-1] < 3.0 and val[-1] < val[1] < val[0], out


@pytest.mark.timeout(400)
def test_examples_take_device(device):
    """--device: fit_line learns the same line on every device (same cpu-drawn data and initial weights), the
    digits CNN and the character LSTM train there (on cuda: the stand-in in CI, or a GPU)."""
    learned = re.compile(r"learned y = (-?[0-9.]+) x \+ (-?[0-9.]+)")
    line = learned.search(run_example("fit_line.py", "--device", device, "--no-progress").stdout)
    ref = learned.search(run_example("fit_line.py", "--no-progress").stdout)
    assert line and ref and [float(v) for v in line.groups()] == pytest.approx([float(v) for v in ref.groups()],
                                                                               abs=2e-3)
    if importlib.util.find_spec("sklearn") is not None:
        out = run_example("mnist_digits_cnn.py", "--device", device, "--epochs", "2", "--target", "0.9",
                          "--no-progress").stdout
        assert "final test accuracy" in out, out
    out = run_example("text_lstm.py", "--device", device, "--max-chars", "20000", "--epochs", "2", "--hidden", "64",
                      "--sample-chars", "10", "--target-loss", "3.6", "--no-progress").stdout
    val = lm_val_losses(out)
    assert len(val) == 3 and val[-1] < val[0], out
