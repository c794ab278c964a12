"""disttorch.save / load, PyTorch checkpoint reading, safetensors interchange, safety and atomicity."""
import collections
import io
import json
import math
import os
import pickle
import zipfile

import numpy as np
import pytest

import disttorch
from disttorch.serialization import _save as save_impl
from disttorch.utils import safetensors as st

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
          "complex64", "complex128", "uint16", "uint32", "uint64"]


def sample(dtype_name, shape, seed=0):
    """A disttorch tensor of the dtype holding varied values (built through float64 or ints)."""
    rng = np.random.default_rng(seed)
    dt = getattr(disttorch, dtype_name)
    if dtype_name == "bool":
        return disttorch.tensor(rng.random(shape) > 0.5)
    if dt.is_floating_point or dt.is_complex:
        base = disttorch.tensor(rng.standard_normal(shape) * 10)
        if dt.is_complex:
            base = base + 1j * disttorch.tensor(rng.standard_normal(shape))
        return base.to(dt)
    return disttorch.tensor(rng.integers(0, 100, shape)).to(dt)


def as_np(t):
    arr = np.asarray(t.detach().__array__())
    return arr.astype(np.float32) if t.dtype is disttorch.bfloat16 else arr


def assert_tensor_equal(a, b):
    assert isinstance(a, disttorch.Tensor) and isinstance(b, disttorch.Tensor)
    assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape) and a.requires_grad == b.requires_grad
    np.testing.assert_array_equal(as_np(a), as_np(b))


def roundtrip(obj, **load_kw):
    buf = io.BytesIO()
    disttorch.save(obj, buf)
    buf.seek(0)
    return disttorch.load(buf, **load_kw)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (5,), (2, 3, 4)])
def test_tensor_roundtrip_every_dtype(dtype, shape):
    t = sample(dtype, shape)
    assert_tensor_equal(roundtrip(t), t)


def test_noncontiguous_views_grad_and_parameters(tmp_path):
    base = disttorch.arange(24.0).reshape(4, 6)
    views = {"t": base.t(), "strided": base[::2, 1::3], "row": base[2], "neg": base.flip(0)}
    p = disttorch.nn.Parameter(disttorch.randn(3, 2))
    frozen = disttorch.nn.Parameter(disttorch.ones(2), requires_grad=False)
    leaf = disttorch.ones(2, requires_grad=True)
    path = tmp_path / "ckpt.pt"
    disttorch.save({**views, "p": p, "frozen": frozen, "leaf": leaf, "again": p}, path)
    out = disttorch.load(path)
    for k, v in views.items():
        assert_tensor_equal(out[k], v)
    assert type(out["p"]) is disttorch.nn.Parameter and out["p"].requires_grad
    assert_tensor_equal(out["p"], p)
    assert type(out["frozen"]) is disttorch.nn.Parameter and not out["frozen"].requires_grad
    assert out["leaf"].requires_grad and out["leaf"].is_leaf
    assert out["again"] is out["p"]  # one object saved twice loads as one object
    out["t"].add_(1)  # views of one buffer still share memory once loaded (as in PyTorch) ...
    assert out["row"].tolist() == (base[2] + 1).tolist() and out["strided"].tolist() == (views["strided"] + 1).tolist()
    assert out["neg"].tolist() == views["neg"].tolist()  # ... a flipped view (negative strides) is its own copy


def test_nested_structures_and_scalars():
    sd = collections.OrderedDict(weight=disttorch.ones(2, 2), bias=disttorch.zeros(2))
    optim_state = {
        "state": {0: {"step": disttorch.tensor(3.0), "exp_avg": disttorch.ones(2)}, 1: {}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False,
                          "foreach": None, "params": [0, 1], "name": "héllo ✓"}],
    }
    obj = {
        "model": sd, "optim": optim_state, "epoch": 7, "big": 2**70, "neg": -3, "ratio": 0.25,
        "specials": [math.inf, -math.inf], "z": 1 + 2j, "flags": (True, False, None), "blob": b"\x00\xff",
        "dtype": disttorch.bfloat16, "device": disttorch.device("cpu"), "size": disttorch.Size([2, 3]),
        "tags": {"a", "b"}, "frozen": frozenset({1}), (1, "tuple key"): "value", 3.5: "float key", None: [[], {}, ()],
        "counts": collections.Counter("aab"), "ba": bytearray(b"xy"),
    }
    out = roundtrip(obj)  # all of it loads with the default weights_only=True
    assert type(out["model"]) is collections.OrderedDict and list(out["model"]) == ["weight", "bias"]
    assert_tensor_equal(out["model"]["weight"], sd["weight"])
    st0 = out["optim"]["state"][0]
    assert list(out["optim"]["state"]) == [0, 1]
    assert st0["step"].item() == 3.0 and st0["step"].dtype is disttorch.float32
    assert out["optim"]["param_groups"] == optim_state["param_groups"]
    assert type(out["optim"]["param_groups"][0]["betas"]) is tuple
    plain = {k: v for k, v in obj.items() if k not in ("model", "optim", "specials")}
    assert {k: out[k] for k in plain} == plain
    assert out["dtype"] is disttorch.bfloat16 and type(out["size"]) is disttorch.Size and type(out["flags"]) is tuple
    assert out["specials"] == [math.inf, -math.inf] and math.isnan(roundtrip(math.nan))
    assert roundtrip(5) == 5 and roundtrip("text") == "text" and roundtrip(None) is None
    # numpy objects are not on PyTorch's default allow-list: they need weights_only=False
    arrays = {"np": np.arange(6, dtype=np.int16).reshape(2, 3), "np_scalar": np.float32(1.5)}
    with pytest.raises(pickle.UnpicklingError, match="(?s)Weights only load failed.*GLOBAL numpy"):
        roundtrip(arrays)
    back = roundtrip(arrays, weights_only=False)
    np.testing.assert_array_equal(back["np"], arrays["np"])
    assert back["np"].dtype == np.int16 and type(back["np_scalar"]) is np.float32


class Point:
    """A user class for the allow-list tests (module level, so that pickle can name it)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return type(other) is Point and (self.x, self.y) == (other.x, other.y)


def test_anything_picklable_saves_and_cycles_survive(tmp_path):
    cyclic = [1]
    cyclic.append(cyclic)
    back = roundtrip(cyclic)
    assert back[0] == 1 and back[1] is back
    for bad in (lambda: 0, {"fn": print, "gen": (i for i in range(2))}):
        with pytest.raises((pickle.PicklingError, TypeError, AttributeError)):
            disttorch.save(bad, tmp_path / "x.pt")
    assert os.listdir(tmp_path) == []  # a failed save leaves nothing behind
    assert roundtrip({"p": Point(1, disttorch.ones(2))}, weights_only=False)["p"].y.tolist() == [1.0, 1.0]


def test_map_location():
    t = disttorch.arange(4.0)
    buf = io.BytesIO()
    disttorch.save({"t": t, "view": t[1:]}, buf)
    for ml in (None, "cpu", disttorch.device("cpu"), {"cpu": "cpu"}, lambda s, loc: s, lambda s, loc: None):
        out = disttorch.load(io.BytesIO(buf.getvalue()), map_location=ml)
        assert_tensor_equal(out["t"], t) and assert_tensor_equal(out["view"], t[1:])
    cuda_ckpt = _with_location(buf.getvalue(), "cuda:1")
    seen = []
    out = disttorch.load(io.BytesIO(cuda_ckpt), map_location=lambda s, loc: seen.append(loc) or s)
    assert seen == ["cuda:1"] and out["t"].device == disttorch.device("cpu")  # one storage, placed once
    for ml in ("cpu", {"cuda:1": "cpu"}, disttorch.device("cpu")):
        assert_tensor_equal(disttorch.load(io.BytesIO(cuda_ckpt), map_location=ml)["t"], t)
    assert torch.load(io.BytesIO(cuda_ckpt), map_location="cpu")["t"].tolist() == t.tolist()
    if not disttorch.cuda.is_available():
        with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA device but "
                                               r"torch.cuda.is_available\(\) is False"):
            disttorch.load(io.BytesIO(cuda_ckpt))


@pytest.mark.skipif(not disttorch.cuda.is_available(), reason="needs a GPU")
def test_cuda_tensors_save_with_their_location():
    t = disttorch.arange(6.0, device="cuda").reshape(2, 3)
    buf = io.BytesIO()
    disttorch.save({"t": t, "v": t.t()}, buf)
    assert b"cuda:0" in zipfile.ZipFile(io.BytesIO(buf.getvalue())).read("archive/data.pkl")
    out = disttorch.load(io.BytesIO(buf.getvalue()))
    assert out["t"].device == disttorch.device("cuda:0") and out["v"].tolist() == t.t().tolist()
    assert disttorch.load(io.BytesIO(buf.getvalue()), map_location="cpu")["v"].device.type == "cpu"
    assert torch.load(io.BytesIO(buf.getvalue()), map_location="cpu")["v"].tolist() == t.t().tolist()


def _with_location(data: bytes, location: str) -> bytes:
    """The same checkpoint with every storage's saved location replaced (a cuda checkpoint, without a GPU)."""
    src, dst = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    old = b"X\x03\x00\x00\x00cpu"
    new = b"X" + len(location).to_bytes(4, "little") + location.encode()
    with zipfile.ZipFile(dst, "w") as out:
        for name in src.namelist():
            content = src.read(name)
            if name.endswith("data.pkl"):
                assert old in content
                content = content.replace(old, new)
            out.writestr(name, content)
    return dst.getvalue()


def test_atomic_save_survives_a_crash(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    old = {"w": disttorch.ones(3), "b": disttorch.zeros(3)}
    disttorch.save(old, str(path))
    before = path.read_bytes()
    calls = []
    real = save_impl._write_record

    def crash_midway(zf, name, data, align=False):
        calls.append(name)
        if name.endswith("data/1"):
            raise OSError("disk on fire")
        real(zf, name, data, align)

    monkeypatch.setattr(save_impl, "_write_record", crash_midway)
    with pytest.raises(OSError, match="disk on fire"):
        disttorch.save({"w": disttorch.full((3,), 5.0), "b": disttorch.ones(3)}, path)
    assert calls[-1].endswith("data/1")
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.pt"]
    assert_tensor_equal(disttorch.load(path)["w"], old["w"])
    with pytest.raises(OSError, match="disk on fire"):
        disttorch.save({"a": disttorch.ones(1), "b": disttorch.ones(1)}, tmp_path / "new.pt")
    assert os.listdir(tmp_path) == ["model.pt"]
    monkeypatch.undo()
    disttorch.save({"w": disttorch.full((3,), 5.0)}, path)
    assert disttorch.load(path)["w"].tolist() == [5.0, 5.0, 5.0] and os.listdir(tmp_path) == ["model.pt"]
    with pytest.raises(RuntimeError, match="Parent directory .* does not exist"):
        disttorch.save(1, tmp_path / "missing" / "x.pt")


def test_stale_temporaries_of_killed_saves_are_removed(tmp_path):
    import subprocess
    import time

    from disttorch.serialization import _files

    dead = subprocess.Popen(["true"])
    dead.wait()
    host = _files._HOST
    stale_here = tmp_path / f".model.pt.{host}-{dead.pid}.0123456789ab.tmp"  # its process has ended
    live_here = tmp_path / f".model.pt.{host}-{os.getppid()}.0123456789ab.tmp"  # a save still running
    old_elsewhere = tmp_path / ".model.pt.otherhost-1.0123456789ab.tmp"
    new_elsewhere = tmp_path / ".model.pt.otherhost-2.0123456789ab.tmp"
    other_target = tmp_path / f".other.pt.{host}-{dead.pid}.0123456789ab.tmp"
    for f in (stale_here, live_here, old_elsewhere, new_elsewhere, other_target):
        f.write_bytes(b"partial")
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(old_elsewhere, (day_ago, day_ago))
    disttorch.save({"w": disttorch.ones(2)}, tmp_path / "model.pt")
    assert sorted(os.listdir(tmp_path)) == sorted(["model.pt", live_here.name, new_elsewhere.name, other_target.name])


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _EvalPayload:
    def __reduce__(self):
        return (eval, ("1 + 1",))


def test_malicious_pickles_are_refused(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"w": _Evil(marker)}, protocol=2)
    plain = tmp_path / "evil.pkl"
    plain.write_bytes(payload)
    with pytest.raises(RuntimeError, match="is not a disttorch checkpoint .*looks like a bare pickle"):
        disttorch.load(plain, weights_only=False)
    # the same payload as data.pkl inside an otherwise genuine PyTorch checkpoint
    genuine = io.BytesIO()
    torch.save({"w": torch.ones(2)}, genuine)
    src, forged = zipfile.ZipFile(io.BytesIO(genuine.getvalue())), tmp_path / "evil.pt"
    with zipfile.ZipFile(forged, "w") as out:
        for name in src.namelist():
            out.writestr(name, payload if name.endswith("data.pkl") else src.read(name))
    with pytest.raises(pickle.UnpicklingError) as ours:
        disttorch.load(forged)
    with pytest.raises(pickle.UnpicklingError) as theirs:
        torch.load(forged)
    assert str(ours.value) == str(theirs.value)  # PyTorch's text, word for word
    message = str(ours.value)
    assert "Weights only load failed" in message and "GLOBAL posix.system whose module posix is blocked" in message
    assert "weights_only` set to `False`" in str(ours.value)
    assert disttorch.serialization.get_unsafe_globals_in_checkpoint(forged) == ["posix.system"]
    # a global outside the blocked modules: PyTorch's "not an allowed global" text, word for word
    with zipfile.ZipFile(forged, "w") as out:
        for name in src.namelist():
            content = pickle.dumps(_EvalPayload(), protocol=2) if name.endswith("data.pkl") else src.read(name)
            out.writestr(name, content)
    with pytest.raises(pickle.UnpicklingError) as ours:
        disttorch.load(forged)
    with pytest.raises(pickle.UnpicklingError) as theirs:
        torch.load(forged)
    assert str(ours.value) == str(theirs.value) and "GLOBAL eval was not an allowed global" in str(ours.value)
    # setting attributes through BUILD on an object that is not allow-listed is refused as well
    build = (b"\x80\x02ctorch\nSize\nq\x00)\x85R}q\x01X\x01\x00\x00\x00aK\x01sb.")
    with zipfile.ZipFile(tmp_path / "build.pt", "w") as out:
        out.writestr("x/data.pkl", build)
    with pytest.raises(pickle.UnpicklingError, match="(?s)Weights only load failed.*Can only build Tensor, Parameter, "
                                                     "OrderedDict or types allowlisted"):
        disttorch.load(tmp_path / "build.pt")
    assert not marker.exists()


def test_safe_globals_allow_a_user_class(tmp_path):
    path = tmp_path / "point.pt"
    disttorch.save({"p": Point(1, disttorch.arange(3.0)), "q": [Point(2, 3)]}, path)
    name = f"{Point.__module__}.Point"
    with pytest.raises(pickle.UnpicklingError, match=f"GLOBAL {name} was not an allowed global by default"):
        disttorch.load(path)
    assert disttorch.serialization.get_unsafe_globals_in_checkpoint(path) == [name]
    try:
        disttorch.serialization.add_safe_globals([Point])
        assert Point in disttorch.serialization.get_safe_globals()
        assert disttorch.serialization.get_unsafe_globals_in_checkpoint(path) == []
        out = disttorch.load(path)
        assert out["q"] == [Point(2, 3)] and out["p"].y.tolist() == [0.0, 1.0, 2.0]
        disttorch.serialization.clear_safe_globals()
        assert disttorch.serialization.get_safe_globals() == []
        with pytest.raises(pickle.UnpicklingError):
            disttorch.load(path)
        with disttorch.serialization.safe_globals([(Point, name)]):
            assert disttorch.load(path)["q"] == [Point(2, 3)]
        with pytest.raises(pickle.UnpicklingError):
            disttorch.load(path)
        with torch.serialization.safe_globals([Point]):  # PyTorch reads the same file with the same allow-list
            assert torch.load(path)["p"].y.tolist() == [0.0, 1.0, 2.0]
    finally:
        disttorch.serialization.clear_safe_globals()


def test_garbage_truncated_and_wrong_files(tmp_path):
    good = io.BytesIO()
    disttorch.save({"w": disttorch.randn(100)}, good)
    data = good.getvalue()
    cases = {"garbage": b"this is not a checkpoint at all", "empty": b"", "truncated": data[: len(data) // 2],
             "tail_cut": data[:-30]}
    wrong = io.BytesIO()
    with zipfile.ZipFile(wrong, "w") as z:
        z.writestr("archive/format", b"disttorch-checkpoint 1")
        z.writestr("archive/data.json", b"{not json")
    cases["bad_json"] = wrong.getvalue()
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("readme.txt", b"hello")
    cases["other_zip"] = other_zip.getvalue()
    for label, cut in (("short_storage", 4), ("missing_storage", None)):
        lying = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(lying, "w") as z:
            for name in src.namelist():
                content = src.read(name)
                if name.endswith("data/0"):
                    if cut is None:
                        continue
                    content = content[:-cut]
                z.writestr(name, content)
        cases[label] = lying.getvalue()
    for name, blob in cases.items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(blob)
        with pytest.raises(RuntimeError, match=r"disttorch.load: .* is not a disttorch checkpoint \(or is corrupted\)"):
            disttorch.load(path)
        with pytest.raises(RuntimeError, match="is not a disttorch checkpoint"):
            disttorch.load(io.BytesIO(blob))


def _legacy_checkpoint(path):
    """A checkpoint in disttorch's first format (JSON + .npy), as earlier versions wrote it."""
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64)]
    root = {"t": "dict", "items": [
        ["w", {"t": "tensor", "array": 0, "device": "cpu", "requires_grad": True, "parameter": True}],
        ["steps", {"t": "tensor", "array": 1, "device": "cpu", "requires_grad": False, "parameter": False}],
        ["again", {"t": "tensor", "array": 0, "device": "cpu", "requires_grad": True, "parameter": True}],
        ["shape", {"t": "size", "v": [2, 3]}], ["pair", {"t": "tuple", "v": [1, "a"]}],
        ["rng", {"t": "ndarray", "array": 1}], ["epoch", 4]]}
    doc = {"format": "disttorch-checkpoint", "version": 1, "root": root,
           "arrays": [{"dtype": "float32", "shape": [2, 3]}, {"dtype": "int64", "shape": [2]}]}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/format", b"disttorch-checkpoint 1")
        for i, arr in enumerate(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, allow_pickle=False)
            z.writestr(f"archive/arrays/{i}.npy", buf.getvalue())
        z.writestr("archive/data.json", json.dumps(doc))


def test_old_disttorch_checkpoints_still_load(tmp_path):
    path = tmp_path / "old.pt"
    _legacy_checkpoint(path)
    out = disttorch.load(path)
    assert type(out["w"]) is disttorch.nn.Parameter and out["w"].requires_grad and out["again"] is out["w"]
    assert out["w"].tolist() == [[0, 1, 2], [3, 4, 5]] and out["steps"].dtype is disttorch.int64
    assert out["shape"] == disttorch.Size([2, 3]) and out["pair"] == (1, "a") and out["epoch"] == 4
    np.testing.assert_array_equal(out["rng"], [1, 2])
    disttorch.save(out, path)  # saving again writes PyTorch's format
    assert "old/data.pkl" in zipfile.ZipFile(path).namelist()
    assert torch.load(path, weights_only=False)["w"].tolist() == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
                                   "uint8", "bool", "complex64", "uint16"])
def test_loads_pytorch_checkpoints(dtype, tmp_path):
    tdt = getattr(torch, dtype)
    base = (torch.arange(24, dtype=torch.float64).reshape(4, 6) * 1.5 - 7).to(tdt)
    param = torch.nn.Parameter(base.clone(), requires_grad=base.is_floating_point())
    sd = collections.OrderedDict(w=base, t=base.t(), row=base[1], strided=base[::2, ::3], scalar=base[0, 0].clone(),
                                 empty=base[:0], p=param)
    path = tmp_path / "torch.pt"
    torch.save(sd, path)
    out = disttorch.load(path)
    assert type(out) is collections.OrderedDict and list(out) == list(sd)
    for k, v in sd.items():
        o = out[k]
        assert str(o.dtype) == str(v.dtype) and tuple(o.shape) == tuple(v.shape), k
        np.testing.assert_array_equal(as_np(o), v.detach().float().numpy() if dtype == "bfloat16" else
                                      v.detach().numpy())
    assert type(out["p"]) is disttorch.nn.Parameter and out["p"].requires_grad == sd["p"].requires_grad


def test_loads_pytorch_optimizer_state_and_model(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(5, 3)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pt"
    torch.save({"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3, "dtype": torch.float16,
                "device": torch.device("cpu"), "shape": torch.Size([2, 3]), "raw": b"\x01\x02"}, path)
    out = disttorch.load(path, map_location="cpu")
    assert out["epoch"] == 3 and out["dtype"] is disttorch.float16 and out["device"] == disttorch.device("cpu")
    assert out["shape"] == disttorch.Size([2, 3]) and out["raw"] == b"\x01\x02"
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(out["model"][k].numpy(), v.numpy())
    assert out["model"]["1.num_batches_tracked"].dtype is disttorch.int64
    theirs = opt.state_dict()
    assert out["optim"]["param_groups"] == theirs["param_groups"]
    for i, state in theirs["state"].items():
        for k, v in state.items():
            np.testing.assert_array_equal(out["optim"]["state"][i][k].numpy(), v.numpy())


STATE = {"linear.weight": ("float32", (4, 3)), "linear.bias": ("float32", (4,)), "emb": ("float16", (5, 2)),
         "bf": ("bfloat16", (3,)), "steps": ("int64", ()), "mask": ("bool", (2, 2)), "ids": ("int32", (0,)),
         "bytes": ("uint8", (7,)), "small": ("int8", (3,)), "wide": ("float64", (2,)), "z": ("complex64", (2,))}


def test_safetensors_to_pytorch(tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    ours = {k: sample(dt, shape, seed=i) for i, (k, (dt, shape)) in enumerate(STATE.items())}
    ours["view"] = disttorch.arange(6.0).reshape(2, 3).t()
    path = tmp_path / "model.safetensors"
    st.save_file(ours, path, metadata={"format": "pt"})
    loaded = safetensors_torch.load_file(str(path))
    assert set(loaded) == set(ours)
    for k, v in ours.items():
        assert str(loaded[k].dtype) == str(v.dtype) and tuple(loaded[k].shape) == tuple(v.shape), k
        np.testing.assert_array_equal(loaded[k].float().numpy() if v.dtype is disttorch.bfloat16 else loaded[k].numpy(),
                                      as_np(v))
    from safetensors import safe_open
    with safe_open(str(path), "pt") as fh:
        assert fh.metadata() == {"format": "pt"}
    # the same check without the safetensors package: parse the header and view the bytes with torch
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    begin, end = header["linear.weight"]["data_offsets"]
    w = torch.frombuffer(bytearray(raw[8 + n + begin:8 + n + end]), dtype=torch.float32).reshape(4, 3)
    np.testing.assert_array_equal(w.numpy(), as_np(ours["linear.weight"]))


def test_safetensors_from_pytorch(tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    gen = torch.Generator().manual_seed(0)
    theirs = {"w": torch.randn(4, 3, generator=gen), "b": torch.randn(4, generator=gen).half(),
              "bf": torch.randn(3, generator=gen).bfloat16(), "n": torch.tensor(5), "m": torch.tensor([True, False]),
              "e": torch.zeros(0, 2), "u": torch.arange(5, dtype=torch.uint8), "i": torch.arange(3, dtype=torch.int16)}
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(theirs, str(path))
    for out in (st.load_file(path), st.load(safetensors_torch.save(theirs))):
        assert set(out) == set(theirs)
        for k, v in theirs.items():
            assert str(out[k].dtype) == str(v.dtype) and tuple(out[k].shape) == tuple(v.shape), k
            np.testing.assert_array_equal(as_np(out[k]), v.float().numpy() if v.dtype == torch.bfloat16 else v.numpy())
    model = disttorch.nn.Linear(3, 4)
    model.load_state_dict({"weight": st.load_file(path)["w"], "bias": disttorch.zeros(4)})
    np.testing.assert_array_equal(model.weight.detach().numpy(), theirs["w"].numpy())


def test_safetensors_roundtrip_and_errors(tmp_path):
    ours = {k: sample(dt, shape, seed=i) for i, (k, (dt, shape)) in enumerate(STATE.items())}
    back = st.load(st.save(ours))
    for k, v in ours.items():
        assert_tensor_equal(back[k], v)
    blob = st.save(ours)
    for bad in (b"", b"\x01" * 7, (10**9).to_bytes(8, "little") + b"{}", (2).to_bytes(8, "little") + b"[]",
                blob[:-1], blob + b"\x00"):
        with pytest.raises(st.SafetensorError):
            st.load(bad)
    with pytest.raises(TypeError):
        st.save({"x": np.zeros(2)})
    with pytest.raises(st.SafetensorError, match="no code for dtype"):
        st.save({"x": disttorch.zeros(2, dtype=disttorch.complex128)})
