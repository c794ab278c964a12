"""SummaryWriter writes event files that TensorBoard's EventAccumulator reads back like torch's."""
import glob
import os
import subprocess
import sys

import numpy as np
import pytest

import disttorch

pytest.importorskip("tensorboard")
torch = pytest.importorskip("torch")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from torch.utils.tensorboard import SummaryWriter as TorchWriter  # noqa: E402

from disttorch.utils.tensorboard import SummaryWriter  # noqa: E402


def _load(path):
    acc = EventAccumulator(str(path), size_guidance={"tensors": 0, "scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def _write(writer_cls, tensor_fn, log_dir):
    with writer_cls(log_dir=str(log_dir)) as w:
        for step in range(5):
            w.add_scalar("loss", tensor_fn(1.0 / (step + 1)), step)
        w.add_scalar("plain", 2.5, 7)
        w.add_scalars("run", {"a": 1.0, "b": tensor_fn(2.0)}, 3)
        w.add_histogram("h", tensor_fn(np.linspace(-3.0, 3.0, 101)), 1, bins=10)
        w.add_text("note", "hello *world*", 2)
        w.flush()


def test_event_files_match_torch(tmp_path):
    _write(SummaryWriter, lambda v: disttorch.tensor(v), tmp_path / "ours")
    _write(TorchWriter, lambda v: torch.tensor(v), tmp_path / "theirs")
    ours, theirs = _load(tmp_path / "ours"), _load(tmp_path / "theirs")
    for tag in ["loss", "plain"]:
        a, b = ours.Scalars(tag), theirs.Scalars(tag)
        assert [(e.step, e.value) for e in a] == [(e.step, e.value) for e in b]
    for key in ["a", "b"]:
        a = _load(tmp_path / "ours" / f"run_{key}").Scalars("run")
        b = _load(tmp_path / "theirs" / f"run_{key}").Scalars("run")
        assert [(e.step, e.value) for e in a] == [(e.step, e.value) for e in b]
    ha, hb = ours.Histograms("h")[0], theirs.Histograms("h")[0]
    assert ha.step == hb.step == 1
    for field in ["min", "max", "num", "sum", "sum_squares"]:
        assert getattr(ha.histogram_value, field) == pytest.approx(getattr(hb.histogram_value, field))
    assert list(ha.histogram_value.bucket) == list(hb.histogram_value.bucket)
    assert list(ha.histogram_value.bucket_limit) == pytest.approx(list(hb.histogram_value.bucket_limit))
    ta, tb = ours.Tensors("note/text_summary"), theirs.Tensors("note/text_summary")
    assert ta[0].step == tb[0].step == 2
    assert ta[0].tensor_proto.string_val == tb[0].tensor_proto.string_val


def test_default_histogram_bins_and_close(tmp_path):
    w = SummaryWriter(str(tmp_path))
    vals = disttorch.randn(1000, generator=disttorch.Generator().manual_seed(0))
    w.add_histogram("w", vals, 0)
    w.close()
    h = _load(tmp_path).Histograms("w")[0].histogram_value
    assert h.num == 1000 and sum(h.bucket) == 1000
    assert h.min == pytest.approx(float(vals.min())) and h.max == pytest.approx(float(vals.max()))
    assert glob.glob(os.path.join(str(tmp_path), "events.out.tfevents.*"))


def test_non_scalar_rejected(tmp_path):
    with SummaryWriter(str(tmp_path)) as w, pytest.raises(ValueError, match="one element"):
        w.add_scalar("x", disttorch.ones(3), 0)


def test_missing_package_raises_import_error():
    code = ("import sys; sys.modules['tensorboard'] = None\n"
            "for mod in ('torch.utils.tensorboard', 'disttorch.utils.tensorboard'):\n"
            "    try:\n"
            "        __import__(mod)\n"
            "    except ImportError as e:\n"
            "        print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout.splitlines()
    assert len(out) == 2 and out[0] == out[1] and "tensorboard" in out[0]
