"""The meta device against PyTorch's on the same programs: shapes, dtypes, devices, printing and errors,
including the patterns of the tutorials that use it (reasoning about shapes, load_state_dict tips, model
ensembling)."""
from __future__ import annotations

import copy

import pytest

import disttorch

torch = pytest.importorskip("torch")


def both(program):
    """Run ``program(lib)`` with PyTorch and with disttorch; return both results."""
    return program(torch), program(disttorch)


def outcome(fn):
    try:
        out = fn()
        return ("ok", repr(out) if hasattr(out, "shape") else out)
    except Exception as exc:  # the error type and message are part of the behaviour compared
        return (type(exc).__name__, str(exc))


def describe(t) -> tuple:
    return (tuple(t.shape), str(t.dtype).split(".")[-1], str(t.device), t.is_meta, t.requires_grad)


def test_device_and_factories() -> None:
    def program(lib):
        dev = lib.device("meta")
        made = [lib.empty(2, 3, device="meta"), lib.zeros(2, device=dev), lib.ones((2, 1), device="meta"),
                lib.rand(3, 4, device="meta"), lib.randn(1, device="meta", dtype=lib.float64),
                lib.full((2,), 7, device="meta"), lib.arange(5, device="meta"),
                lib.arange(0.0, 1.0, 0.25, device="meta"),
                lib.eye(3, device="meta"), lib.tensor([1, 2], device="meta"), lib.randint(0, 5, (2, 2), device="meta"),
                lib.linspace(0, 1, 4, device="meta"), lib.empty(0, device="meta"), lib.ones((), device="meta"),
                lib.zeros(2, 3, dtype=lib.bool, device="meta"), lib.ones(2, requires_grad=True, device="meta")]
        real = lib.ones(2, 3)
        made += [lib.empty_like(real, device="meta"), lib.zeros_like(made[0]), lib.ones_like(made[0], dtype=lib.int32),
                 lib.rand_like(made[0]), lib.full_like(made[0], 2.0), made[0].new_empty(4), made[0].new_zeros(1, 2)]
        return [str(dev), repr(dev), dev.type, dev.index, *[describe(t) for t in made], *[repr(t) for t in made]]

    assert program(torch) == program(disttorch)


def test_moves_and_errors() -> None:
    def program(lib):
        m = lib.ones(2, 3).to("meta")
        res = [describe(m), describe(lib.ones(3).to(device="meta", dtype=lib.float16)),
               describe(m.to(lib.float64)), m.stride(), m.is_contiguous(), m.numel(), m.dim(), m.data_ptr()]
        for fn in (m.item, lambda: m[0, 0].item(), m.numpy, m.tolist, m.cpu, lambda: float(m[0, 0]),
                   lambda: bool(m[0, 0]), lambda: m + lib.ones(2, 3), lambda: lib.ones(2, 3) * m,
                   lambda: lib.tensor(m).detach()):
            res.append(outcome(fn))
        res.append(describe(m + lib.tensor(1.0)))  # a 0-dim cpu tensor joins a meta one
        return res

    assert program(torch) == program(disttorch)


def test_ops_give_meta_tensors_of_the_right_shape_and_dtype() -> None:
    def program(lib):
        a = lib.empty(4, 3, device="meta")
        b = lib.empty(3, 5, device="meta", dtype=lib.float64)
        i = lib.empty(4, dtype=lib.int64, device="meta")
        outs = [a * 2 + 1, a @ b.float(), a.sum(), a.mean(0), a.max(1).values, a.max(1).indices, a.argmax(),
                a.T, a.reshape(2, 6), a.view(-1), a[1:, ::2], a[i], lib.cat([a, a], 1), lib.stack([a, a]),
                a.unsqueeze(0).expand(2, 4, 3), a > 0, (i + 1.5), i // 2, lib.where(a > 0, a, 0.0), a.softmax(-1),
                lib.nn.functional.gelu(a), lib.erf(a), a.to(lib.int8) + i.to(lib.int8)[:, None], a.exp().log(),
                lib.einsum("ij,jk->ik", a, b.float()), a.cumsum(0), a.sort(1).values, a.topk(2).indices]
        return [describe(t) for t in outs]

    assert program(torch) == program(disttorch)


def test_autograd_on_meta() -> None:
    def program(lib):
        w = lib.empty(3, 4, device="meta", requires_grad=True)
        x = lib.randn(2, 3, device="meta")
        loss = (x @ w).relu().sum()
        loss.backward()
        return [describe(loss), repr(loss), describe(w.grad), loss.grad_fn.name()]

    assert program(torch) == program(disttorch)


def test_reasoning_about_shapes_recipe() -> None:
    """Shapes of a LeNet-style network's layers, computed on meta inputs."""
    def program(lib):
        nn, F = lib.nn, lib.nn.functional
        lib.manual_seed(0)
        conv1, pool, conv2 = nn.Conv2d(3, 6, 5), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5)
        fc1, fc2 = nn.Linear(16 * 5 * 5, 120), nn.Linear(120, 10)
        for mod in (conv1, conv2, fc1, fc2):
            mod.to("meta")
        x = lib.rand(4, 3, 32, 32, device="meta")
        shapes = []
        for step in (lambda x: pool(F.relu(conv1(x))), lambda x: pool(F.relu(conv2(x))),
                     lambda x: lib.flatten(x, 1), lambda x: F.relu(fc1(x)), fc2):
            x = step(x)
            shapes.append(describe(x))
        img = lib.empty(2, 3, 17, 13, device="meta")
        shapes += [describe(y) for y in (
            F.avg_pool2d(img, 3), F.adaptive_avg_pool2d(img, (4, 5)), F.max_pool2d(img, 3, 2, 1, ceil_mode=True),
            F.conv2d(img, lib.empty(8, 3, 3, 3, device="meta"), stride=2, padding=1, dilation=2),
            F.conv_transpose2d(img, lib.empty(3, 4, 3, 3, device="meta"), stride=2),
            nn.BatchNorm2d(3, device="meta")(img), nn.LayerNorm(13, device="meta")(img),
            F.interpolate(img, scale_factor=2), F.dropout(img, 0.5))]
        y, idx = F.max_pool2d(img, 2, return_indices=True)
        return shapes + [describe(y), describe(idx)]

    assert program(torch) == program(disttorch)


def test_module_on_meta_and_load_state_dict_assign() -> None:
    """The load_state_dict tips recipe: build on meta (no memory, no init), then take real weights."""
    def program(lib):
        nn = lib.nn
        lin = nn.Linear(4, 3, device="meta")
        res = [repr(lin.weight), describe(lin.bias)]
        sd = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).state_dict()
        sd = {k: lib.linspace(-1, 1, v.numel(), dtype=lib.float64).reshape(v.shape) for k, v in sd.items()}
        with lib.device("meta") if hasattr(lib.device("meta"), "__enter__") else _meta_default(lib):
            model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        res.append(describe(model[0].weight))
        res.append(outcome(lambda: model.load_state_dict(sd, assign=False) and None))  # copying into meta: no-op
        res.append(describe(model[0].weight))
        keys = model.load_state_dict(sd, assign=True)
        res += [str(keys), type(model[0].weight).__name__, describe(model[0].weight), describe(model[2].bias)]
        res.append(model(lib.ones(1, 3, dtype=lib.float64)).tolist())
        empty = nn.Linear(2, 3, device="meta").to_empty(device="cpu")
        res += [describe(empty.weight), type(empty.weight).__name__]
        real = nn.Linear(2, 2)
        res.append(describe(real.to("meta").weight))
        return res

    assert program(torch) == program(disttorch)


def _meta_default(lib):
    """``lib.set_default_device('meta')`` for the length of a ``with`` block."""
    class _Guard:
        def __enter__(self):
            lib.set_default_device("meta")

        def __exit__(self, *exc):
            lib.set_default_device(None)

    return _Guard()


def test_ensembling_tutorial() -> None:
    """stack_module_state, a base model moved to meta, functional_call under vmap with the real parameters."""
    def program(lib):
        nn = lib.nn
        models = [nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2)) for _ in range(4)]
        with lib.no_grad():
            for k, mod in enumerate(models):
                for j, p in enumerate(mod.parameters()):
                    p.copy_(lib.linspace(-1, 1, p.numel()).reshape(p.shape) * (k + 1) / (j + 1))
        params, buffers = lib.func.stack_module_state(models)
        base = copy.deepcopy(models[0]).to("meta")

        def fmodel(params, buffers, x):
            return lib.func.functional_call(base, (params, buffers), (x,))

        x = lib.linspace(-2, 2, 18).reshape(6, 3)
        out = lib.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
        return describe(base[0].weight), describe(out), [describe(p) for p in params.values()], out.tolist()

    t, d = both(program)
    assert t[:3] == d[:3]
    flat = lambda rows: [v for plane in rows for row in plane for v in row]  # noqa: E731
    assert flat(d[3]) == pytest.approx(flat(t[3]), rel=1e-6)


def test_set_default_device_meta() -> None:
    def program(lib):
        lib.set_default_device("meta")
        try:
            return [describe(lib.ones(2)), describe(lib.nn.Linear(2, 3).weight), describe(lib.tensor([1.0]))]
        finally:
            lib.set_default_device(None)

    assert program(torch) == program(disttorch)
    assert disttorch.ones(1).device.type == "cpu"


def test_value_dependent_calls_and_copies() -> None:
    """What needs values raises PyTorch's errors; what needs only shapes works, as in PyTorch."""
    def program(lib):
        m = lib.empty(2, 3, device="meta")
        lin = lib.nn.Linear(2, 2, device="meta")
        sd = {k: lib.ones_like(v, device="cpu") for k, v in lin.state_dict().items()}
        calls = [
            lambda: str(lib.device("meta:0")), lambda: copy.deepcopy(m), lambda: str(copy.deepcopy(lin).weight.device),
            lambda: m.copy_(lib.ones(2, 3)), lambda: lib.ones(2, 3).copy_(m), lambda: m.clone(), lambda: m.data,
            lambda: str(lib.nn.Linear(2, 2).to_empty(device="meta").weight.device), lambda: lib.allclose(m, m),
            lambda: lib.equal(m, m),
            lambda: lib.nonzero(m), lambda: m[m > 0], lambda: bool(m.sum()), lambda: int(m[0, 0]), lambda: str(m),
            lambda: f"{m.sum()}", lambda: repr(lib.nn.Sequential(lib.nn.Linear(2, 3, device="meta"))),
            lambda: m.add_(1).mul_(lib.empty(3, device="meta")), lambda: (m.numel(), m.element_size(), m.nbytes),
            lambda: lib.unique(m), lambda: lib.empty(4, dtype=lib.int64, device="meta") // 2,
            lambda: lib.empty(3, device="meta").expand(2, 3).sum(0), lambda: m.to("meta") is m,
        ]
        # errors compared by their type and first sentence (PyTorch's go on with advice about torch.compile)
        res = [(kind, text.split(". ")[0].rstrip(".") if kind != "ok" else text) for kind, text in map(outcome, calls)]
        with pytest.warns(UserWarning, match="copying from a non-meta parameter in the checkpoint to a meta "
                          "parameter in the current model, which is a no-op"):
            res.append(str(lin.load_state_dict(sd)))
        res.append(describe(lin.weight))
        return res

    assert program(torch) == program(disttorch)


def test_save_and_load_meta_tensors_both_ways(tmp_path) -> None:
    """Meta tensors are saved without storage, as PyTorch saves them; each library reads the other's file."""
    def program(lib):
        lin = lib.nn.Linear(2, 3, device="meta")
        return {"sd": lin.state_dict(), "x": lib.empty(2, 3, device="meta", requires_grad=True), "p": lin.weight,
                "i": lib.empty(4, dtype=lib.int32, device="meta")}

    def summary(obj):
        return {k: ({n: describe(v) for n, v in t.items()} if isinstance(t, dict) else
                    (describe(t), type(t).__name__)) for k, t in obj.items()}

    for writer, reader in ((torch, disttorch), (disttorch, torch), (disttorch, disttorch)):
        path = tmp_path / f"{writer.__name__}_{reader.__name__}.pt"
        writer.save(program(writer), path)
        assert summary(reader.load(path)) == summary(program(torch))


def test_meta_with_another_device(device) -> None:
    """To meta from any device (no values read); back out raises; mixing raises PyTorch's device error."""
    x = disttorch.ones(2, 3, device=device)
    m = x.to("meta")
    assert describe(m) == ((2, 3), "float32", "meta", True, False)
    assert describe(disttorch.nn.Linear(2, 2, device=device).to("meta").weight) == ((2, 2), "float32", "meta",
                                                                                    True, True)
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor; no data!"):
        m.to(device)
    with pytest.raises(RuntimeError, match=f"Tensor on device {x.device} is not on the expected device meta!"):
        m + x
    with pytest.raises(RuntimeError, match=f"Tensor on device meta is not on the expected device {x.device}!"):
        x * m
    assert describe(m + disttorch.tensor(2.0)) == describe(m)  # a 0-dim cpu tensor joins (PyTorch's rule)



def test_load_with_map_location_meta(tmp_path) -> None:
    def program(lib):
        path = tmp_path / f"{lib.__name__}.pt"
        lib.save({"w": lib.linspace(0, 1, 6).reshape(2, 3), "sd": lib.nn.Linear(2, 2).state_dict()}, path)
        loaded = lib.load(path, map_location="meta")
        return describe(loaded["w"]), {k: describe(v) for k, v in loaded["sd"].items()}

    assert program(torch) == program(disttorch)


def test_training_step_and_layers_on_meta() -> None:
    def program(lib):
        F = lib.nn.functional
        m = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.LayerNorm(4), lib.nn.Linear(4, 1)).to("meta")
        res = []
        for opt_cls in (lib.optim.SGD, lib.optim.Adam, lib.optim.AdamW):
            opt = opt_cls(m.parameters(), lr=0.1)
            loss = F.mse_loss(m(lib.randn(5, 3, device="meta")), lib.randn(5, 1, device="meta"))
            loss.backward()
            opt.step()
            opt.zero_grad()
            res.append((describe(loss), [describe(p) for p in m.parameters()],
                        sorted(str(v.device) for s in opt.state.values() for v in s.values() if hasattr(v, "device"))))
        x = lib.randn(2, 5, 7, device="meta")
        idx = lib.empty(2, 3, dtype=lib.long, device="meta")
        layers = [
            lambda: lib.nn.LSTM(7, 3, batch_first=True, device="meta")(x)[0],
            lambda: lib.nn.TransformerEncoderLayer(7, 1, 16, batch_first=True, device="meta")(x),
            lambda: lib.nn.Embedding(10, 4, device="meta")(idx),
            lambda: F.cross_entropy(lib.randn(4, 3, device="meta"), lib.empty(4, dtype=lib.long, device="meta")),
            lambda: F.scaled_dot_product_attention(x, x, x), lambda: lib.nn.GRU(7, 2, device="meta")(x)[1],
            lambda: lib.nn.Conv1d(5, 2, 3, device="meta")(x), lambda: F.one_hot(idx, 5)]
        return res + [describe(f()) for f in layers]

    assert program(torch) == program(disttorch)
