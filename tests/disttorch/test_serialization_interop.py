"""disttorch.save <-> real torch.load and torch.save <-> disttorch.load, whole modules, file layout."""
import collections
import io
import os
import pickle
import struct
import warnings
import zipfile

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def to_np(t):
    t = t.detach()
    return t.float().numpy() if str(t.dtype) == "torch.bfloat16" else t.numpy()


def d_np(t):
    arr = np.asarray(t.detach().__array__())
    return arr.astype(np.float32) if t.dtype is disttorch.bfloat16 else arr


def saved(obj):
    buf = io.BytesIO()
    disttorch.save(obj, buf)
    return buf.getvalue()


def small_model(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.ReLU(), lib.nn.Linear(4, 2))


def test_state_dict_to_torch():
    model = small_model(disttorch)
    model(disttorch.randn(5, 3))  # moves the batch-norm statistics
    sd = model.state_dict()
    loaded = torch.load(io.BytesIO(saved(sd)))  # PyTorch's default weights_only=True accepts it
    assert type(loaded) is collections.OrderedDict and list(loaded) == list(sd)
    for k, v in sd.items():
        assert str(loaded[k].dtype) == str(v.dtype) and tuple(loaded[k].shape) == tuple(v.shape), k
        np.testing.assert_array_equal(to_np(loaded[k]), d_np(v))
    theirs = small_model(torch)
    theirs.load_state_dict(loaded)
    theirs.eval(), model.eval()
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    expected = model(disttorch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(theirs(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
                                   "uint8", "bool", "complex64", "complex128", "uint16", "uint32", "uint64"])
def test_every_dtype_to_torch_and_back(dtype):
    dt = getattr(disttorch, dtype)
    base = (disttorch.arange(24, dtype=disttorch.float64).reshape(4, 6) * 1.5 - (0 if "uint" in dtype else 7)).to(dt)
    obj = {"w": base, "t": base.t(), "row": base[1], "scalar": base[0, 0].clone(), "empty": base[:0]}
    blob = saved(obj)
    theirs = torch.load(io.BytesIO(blob))
    for k, v in obj.items():
        assert str(theirs[k].dtype) == str(v.dtype) and tuple(theirs[k].shape) == tuple(v.shape), k
        np.testing.assert_array_equal(to_np(theirs[k]), d_np(v))
    back = disttorch.load(io.BytesIO(torch_saved(theirs)))
    for k, v in obj.items():
        assert back[k].dtype is v.dtype
        np.testing.assert_array_equal(d_np(back[k]), d_np(v))


def torch_saved(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_views_share_one_storage_without_amplification():
    big = disttorch.arange(100_000.0)
    views = {f"v{i}": big[i * 10:(i + 1) * 10] for i in range(200)}
    views["all"], views["matrix_t"] = big, big.reshape(1000, 100).t()
    blob = saved(views)
    assert len(blob) < big.nbytes + 64 * 1024  # 202 tensors, one storage
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert [n for n in zf.namelist() if "/data/" in n] == ["archive/data/0"]
    theirs = torch.load(io.BytesIO(blob))
    ptr = theirs["all"].untyped_storage().data_ptr()
    assert all(t.untyped_storage().data_ptr() == ptr for t in theirs.values())
    assert theirs["v7"].storage_offset() == 70 and theirs["matrix_t"].stride() == (1, 100)
    theirs["all"].zero_()
    assert theirs["v7"].sum().item() == 0  # views in PyTorch too
    ours = disttorch.load(io.BytesIO(blob))
    ours["all"].add_(0.5)
    assert ours["v7"].tolist() == [70.5 + i for i in range(10)] and ours["matrix_t"][3, 2].item() == 203.5
    # a Parameter and a view of it share a storage as well
    p = disttorch.nn.Parameter(disttorch.randn(4, 3))
    both = torch.load(io.BytesIO(saved({"p": p, "row": p.detach()[2]})))
    assert isinstance(both["p"], torch.nn.Parameter) and both["p"].requires_grad
    assert both["row"].untyped_storage().data_ptr() == both["p"].untyped_storage().data_ptr()
    np.testing.assert_array_equal(both["row"].numpy(), p.detach()[2].numpy())


def test_torch_views_load_as_views():
    base = torch.arange(12.0)
    ours = disttorch.load(io.BytesIO(torch_saved({"base": base, "m": base.view(3, 4).t(), "tail": base[8:]})))
    assert ours["m"].stride() == (1, 4) and ours["tail"].tolist() == [8.0, 9.0, 10.0, 11.0]
    ours["base"].add_(1)
    assert ours["tail"].tolist() == [9.0, 10.0, 11.0, 12.0] and ours["m"][0, 1].item() == 5.0
    again = torch.load(io.BytesIO(saved(ours)))  # and saving them again keeps them one storage
    assert again["tail"].untyped_storage().data_ptr() == again["base"].untyped_storage().data_ptr()


def test_nested_containers_and_optimizer_state_to_torch():
    model = small_model(disttorch)
    opt = disttorch.optim.Adam(model.parameters(), lr=0.01)
    model(disttorch.randn(5, 3)).sum().backward()
    opt.step()
    obj = {"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3, "dtype": disttorch.float16,
           "device": disttorch.device("cpu"), "shape": disttorch.Size([2, 3]), "raw": b"\x01\x02",
           "nested": [(1, 2.5, None), {"k": [disttorch.ones(2)]}], 7: "int key", "z": 3 - 1j, "s": {1, 2}}
    theirs = torch.load(io.BytesIO(saved(obj)))
    assert theirs["dtype"] is torch.float16 and theirs["device"] == torch.device("cpu")
    assert theirs["shape"] == torch.Size([2, 3]) and type(theirs["shape"]) is torch.Size
    assert theirs["raw"] == b"\x01\x02" and theirs[7] == "int key" and theirs["z"] == 3 - 1j and theirs["s"] == {1, 2}
    assert theirs["nested"][0] == (1, 2.5, None) and theirs["nested"][1]["k"][0].tolist() == [1.0, 1.0]
    assert theirs["optim"]["param_groups"] == opt.state_dict()["param_groups"]
    t_model = small_model(torch)
    t_opt = torch.optim.Adam(t_model.parameters(), lr=0.01)
    t_model.load_state_dict(theirs["model"])
    t_opt.load_state_dict(theirs["optim"])  # PyTorch's optimizer takes disttorch's state as its own
    for i, state in opt.state_dict()["state"].items():
        for k, v in state.items():
            np.testing.assert_array_equal(to_np(t_opt.state_dict()["state"][i][k]), d_np(v))
    # with weights_only=False PyTorch reads any plain container, frozenset included
    assert torch.load(io.BytesIO(saved({"f": frozenset({3})})), weights_only=False) == {"f": frozenset({3})}


def test_file_layout_is_pytorchs(tmp_path):
    path = tmp_path / "model.pt"
    disttorch.save({"a": disttorch.ones(3), "b": disttorch.zeros(2, dtype=disttorch.int64)}, path)
    ref = tmp_path / "ref.pt"
    torch.save({"a": torch.ones(3), "b": torch.zeros(2, dtype=torch.int64)}, ref)
    with zipfile.ZipFile(path) as ours, zipfile.ZipFile(ref) as theirs:
        assert [n.split("/", 1)[1] for n in ours.namelist()] == [n.split("/", 1)[1] for n in theirs.namelist()]
        assert ours.namelist()[0] == "model/data.pkl"
        for name in ("version", ".format_version", ".storage_alignment", "byteorder"):
            assert ours.read(f"model/{name}") == theirs.read(f"ref/{name}"), name
        assert ours.read("model/data.pkl") == theirs.read("ref/data.pkl")  # the same pickle, byte for byte
        raw = path.read_bytes()
        for info in ours.infolist():
            name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
            start = info.header_offset + 30 + name_len + extra_len
            if "/data/" in info.filename:
                assert start % 64 == 0, info.filename
            assert raw[start:start + info.file_size] == ours.read(info.filename)


def test_whole_module_round_trip_and_refusal(tmp_path):
    model = small_model(disttorch)
    model.eval()
    path = tmp_path / "whole.pt"
    disttorch.save(model, path)
    with pytest.raises(pickle.UnpicklingError, match=r"(?s)Weights only load failed.*GLOBAL "
                                                     r"disttorch.nn.modules.container.Sequential was not an allowed"):
        disttorch.load(path)
    back = disttorch.load(path, weights_only=False)
    assert type(back) is type(model) and str(back) == str(model) and not back.training
    x = disttorch.randn(4, 3)
    np.testing.assert_array_equal(back(x).detach().numpy(), model(x).detach().numpy())
    assert back[0].weight is not model[0].weight and isinstance(back[0].weight, disttorch.nn.Parameter)
    classes = [disttorch.nn.Sequential, disttorch.nn.Linear, disttorch.nn.BatchNorm1d, disttorch.nn.ReLU]
    with disttorch.serialization.safe_globals(classes):  # or allow-list the classes and keep weights_only
        np.testing.assert_array_equal(disttorch.load(path)(x).detach().numpy(), model(x).detach().numpy())


def test_recurrent_language_model_saved_whole(tmp_path):
    """What word-language-model does: torch.save(model, f) ... model = torch.load(f, weights_only=False)."""

    class RNNModel(disttorch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = disttorch.nn.Embedding(20, 8)
            self.rnn = disttorch.nn.LSTM(8, 16, 2, batch_first=True)
            self.decoder = disttorch.nn.Linear(16, 20)
            self.decoder.weight = disttorch.nn.Parameter(disttorch.randn(20, 16))

        def forward(self, x):
            out, _ = self.rnn(self.encoder(x))
            return self.decoder(out)

    globals()["RNNModel"] = RNNModel  # picklable by name, as a model class in a user's script is
    RNNModel.__qualname__ = "RNNModel"
    model = RNNModel()
    path = tmp_path / "model.pt"
    with open(path, "wb") as f:
        disttorch.save(model, f)
    with open(path, "rb") as f:
        back = disttorch.load(f, weights_only=False)
    x = disttorch.randint(0, 20, (2, 5))
    np.testing.assert_allclose(back(x).detach().numpy(), model(x).detach().numpy(), rtol=1e-6)


def test_module_pickled_by_torch_loads_into_disttorch(tmp_path):
    theirs = small_model(torch)
    theirs.eval()
    path = tmp_path / "torch_whole.pt"
    torch.save(theirs, path)
    with pytest.raises(pickle.UnpicklingError) as ours_err:
        disttorch.load(path)
    with pytest.raises(pickle.UnpicklingError) as theirs_err:
        torch.load(path)
    assert str(ours_err.value) == str(theirs_err.value)  # the same refusal, word for word
    assert sorted(disttorch.serialization.get_unsafe_globals_in_checkpoint(path)) == \
        sorted(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    ours = disttorch.load(path, weights_only=False)
    assert type(ours) is disttorch.nn.Sequential and type(ours[0]) is disttorch.nn.Linear and not ours.training
    x = np.random.default_rng(1).standard_normal((3, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(disttorch.tensor(x)).detach().numpy(), theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    # allow-listing disttorch's classes also admits PyTorch's names for them
    with disttorch.serialization.safe_globals([disttorch.nn.Sequential, disttorch.nn.Linear,
                                               disttorch.nn.BatchNorm1d, disttorch.nn.ReLU]):
        assert type(disttorch.load(path)[1]) is disttorch.nn.BatchNorm1d


def test_force_no_weights_only_environment(tmp_path, monkeypatch):
    path = tmp_path / "np.pt"
    disttorch.save({"a": np.arange(3)}, path)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.warns(UserWarning, match="TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected"):
        assert disttorch.load(path)["a"].tolist() == [0, 1, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(pickle.UnpicklingError):
            disttorch.load(path, weights_only=True)  # an explicit argument wins
    monkeypatch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(RuntimeError, match="Only one of"):
        disttorch.load(path)
    monkeypatch.delenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    with pytest.raises(pickle.UnpicklingError):
        disttorch.load(path, weights_only=False)
    with pytest.raises(RuntimeError, match="explicit pickle_module"):
        disttorch.load(path, pickle_module=pickle)


def test_safetensors_path_loads_like_torch_load(tmp_path):
    from disttorch.utils import safetensors as st

    path = tmp_path / "w.safetensors"
    st.save_file({"w": disttorch.arange(3.0)}, path)
    assert disttorch.load(str(path))["w"].tolist() == [0.0, 1.0, 2.0]
    assert os.path.exists(path)


def test_docs_example_runs():
    import re
    import subprocess
    import sys

    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "tensors.md")) as f:
        section = f.read().split("## Saving and loading", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks
    for code in blocks:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr


def test_column_major_buffers_and_empty_tensors():
    a = disttorch.tensor(np.asfortranarray(np.arange(12.0, dtype=np.float32).reshape(3, 4)))
    obj = {"a": a, "col": a[:, 1], "e1": disttorch.zeros(0), "e2": disttorch.zeros(0, 2, dtype=disttorch.int64)}
    theirs = torch.load(io.BytesIO(saved(obj)))
    assert theirs["a"].stride() == a.stride() == (1, 3)
    assert theirs["col"].untyped_storage().data_ptr() == theirs["a"].untyped_storage().data_ptr()
    np.testing.assert_array_equal(theirs["a"].numpy(), a.numpy())
    assert theirs["e1"].dtype is torch.float32 and theirs["e2"].dtype is torch.int64 and theirs["e2"].shape == (0, 2)


def test_recurrent_and_conv_modules_pickled_by_torch():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(4, 8, 2, batch_first=True)
    stack = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Conv1d(4, 4, 3), torch.nn.LayerNorm(2),
                                torch.nn.GELU())
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    ids = np.array([[1, 2, 3, 4]])
    ours = disttorch.load(io.BytesIO(torch_saved(lstm)), weights_only=False)
    assert type(ours) is disttorch.nn.LSTM
    expected = lstm(torch.from_numpy(x))[0].detach().numpy()
    np.testing.assert_allclose(ours(disttorch.tensor(x))[0].detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    ours = disttorch.load(io.BytesIO(torch_saved(stack)), weights_only=False)
    expected = stack(torch.from_numpy(ids)).detach().numpy()
    np.testing.assert_allclose(ours(disttorch.tensor(ids)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
