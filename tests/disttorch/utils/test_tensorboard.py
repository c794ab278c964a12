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


def _hparam_events(writer_cls, tensor_fn, log_dir):
    with writer_cls(log_dir=str(log_dir)) as w:
        w.add_hparams({"lr": 0.1, "bsize": 8, "opt": "adam", "nesterov": True, "t": tensor_fn([0.5]), "skip": None},
                      {"hparam/accuracy": 0.75, "hparam/loss": tensor_fn(0.25)},
                      hparam_domain_discrete={"opt": ["adam", "sgd"]}, run_name="run0", global_step=3)
    return _load(log_dir / "run0")


def test_add_hparams_as_torch(tmp_path):
    from tensorboard.plugins.hparams import metadata

    ours = _hparam_events(SummaryWriter, lambda v: disttorch.tensor(v), tmp_path / "ours")
    theirs = _hparam_events(TorchWriter, lambda v: torch.tensor(v), tmp_path / "theirs")
    assert sorted(ours.Tags()["scalars"]) == sorted(theirs.Tags()["scalars"]) == ["hparam/accuracy", "hparam/loss"]
    for tag in ours.Tags()["scalars"]:
        assert [(e.step, e.value) for e in ours.Scalars(tag)] == [(e.step, e.value) for e in theirs.Scalars(tag)]
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    for tag in (metadata.EXPERIMENT_TAG, metadata.SESSION_START_INFO_TAG, metadata.SESSION_END_INFO_TAG):
        mine, torchs = HParamsPluginData(), HParamsPluginData()
        mine.ParseFromString(ours.SummaryMetadata(tag).plugin_data.content)
        torchs.ParseFromString(theirs.SummaryMetadata(tag).plugin_data.content)
        assert ours.SummaryMetadata(tag).plugin_data.plugin_name == "hparams"
        assert mine == torchs, tag
    for writer_cls in (SummaryWriter, TorchWriter):
        with writer_cls(log_dir=str(tmp_path / "bad")) as w:
            with pytest.raises(TypeError, match="hparam_dict and metric_dict should be dictionary"):
                w.add_hparams([1], {})
            with pytest.raises(ValueError, match="value should be one of int, float, str, bool, or torch.Tensor"):
                w.add_hparams({"a": [1]}, {})
