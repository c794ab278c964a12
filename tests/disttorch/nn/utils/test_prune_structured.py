"""nn.utils.prune structured and iterative pruning against PyTorch: the pruning tutorial's sequence on a LeNet
(names, hooks, PruningContainer history, state_dict keys, forward and gradients), exact L1/Ln choices when
combined, random pruning checked by counts, custom methods, and the errors."""
import numpy as np
import pytest

import disttorch
from disttorch.nn.utils import prune

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")


def _lenet(m):
    nn, F = m.nn, m.nn.functional

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(-1, int(x.nelement() / x.shape[0]))
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)
    return LeNet()


def _pair(seed=0):
    ours, theirs = _lenet(disttorch), _lenet(torch)
    rng = np.random.default_rng(seed)
    for (_, po), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        w = (0.2 * rng.standard_normal(tuple(pt.shape))).astype(np.float32)
        po.data = disttorch.tensor(w)
        with torch.no_grad():
            pt.copy_(torch.tensor(w))
    return ours, theirs


def _np(t):
    return t.detach().numpy()


def _same_layout(mo, mt):
    assert [n for n, _ in mo.named_parameters()] == [n for n, _ in mt.named_parameters()]
    assert [n for n, _ in mo.named_buffers()] == [n for n, _ in mt.named_buffers()]
    assert list(mo.state_dict().keys()) == list(mt.state_dict().keys())
    assert [type(h).__name__ for h in mo._forward_pre_hooks.values()] == \
        [type(h).__name__ for h in mt._forward_pre_hooks.values()]


def _hook(module, name):
    return next(h for h in module._forward_pre_hooks.values() if h._tensor_name == name)


def _forward_backward(ours, theirs, seed=3):
    x = np.random.default_rng(seed).standard_normal((2, 1, 32, 32)).astype(np.float32)
    yo, yt = ours(disttorch.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(_np(yo), _np(yt), rtol=1e-4, atol=1e-4)
    yo.sum().backward()
    yt.sum().backward()
    for (n, po), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        g = pt.grad.numpy()
        np.testing.assert_allclose(po.grad.numpy(), g, rtol=1e-4, atol=1e-5 * np.abs(g).max(), err_msg=n)


def test_tutorial_sequence():
    ours, theirs = _pair()
    mo, mt = ours.conv1, theirs.conv1
    prune.random_unstructured(mo, name="weight", amount=0.3)
    tprune.random_unstructured(mt, name="weight", amount=0.3)
    _same_layout(mo, mt)
    assert int((mo.weight_mask == 0).sum()) == int((mt.weight_mask == 0).sum()) == 45
    np.testing.assert_array_equal(_np(mo.weight), _np(mo.weight_orig) * _np(mo.weight_mask))
    # continue torch from our random mask so that what follows is deterministic and comparable
    reference = _pair()[1].conv1
    tprune.custom_from_mask(reference, "weight", torch.tensor(_np(mo.weight_mask)))

    prune.l1_unstructured(mo, name="bias", amount=3)
    tprune.l1_unstructured(mt, name="bias", amount=3)
    tprune.l1_unstructured(reference, name="bias", amount=3)
    _same_layout(mo, mt)
    np.testing.assert_array_equal(_np(mo.bias_mask), _np(mt.bias_mask))

    prune.ln_structured(mo, name="weight", amount=0.5, n=2, dim=0)
    tprune.ln_structured(mt, name="weight", amount=0.5, n=2, dim=0)
    tprune.ln_structured(reference, name="weight", amount=0.5, n=2, dim=0)
    _same_layout(mo, mt)
    np.testing.assert_array_equal(_np(mo.weight_mask), _np(reference.weight_mask))
    np.testing.assert_array_equal(_np(mo.weight), _np(reference.weight))
    assert ((_np(mo.weight_mask) == 0).reshape(6, -1).all(1)).sum() == 3
    ho, ht = _hook(mo, "weight"), _hook(mt, "weight")
    assert isinstance(ho, prune.PruningContainer) and isinstance(ht, tprune.PruningContainer)
    assert [type(h).__name__ for h in ho] == [type(h).__name__ for h in ht] == ["RandomUnstructured", "LnStructured"]
    assert len(ho) == 2 and isinstance(ho[1], prune.LnStructured)
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())

    prune.remove(mo, "weight")
    tprune.remove(mt, "weight")
    tprune.remove(reference, "weight")
    _same_layout(mo, mt)
    assert isinstance(mo.weight, disttorch.nn.Parameter)
    np.testing.assert_array_equal(_np(mo.weight), _np(reference.weight))
    assert prune.is_pruned(ours) and tprune.is_pruned(theirs)
    prune.remove(mo, "bias")
    assert not prune.is_pruned(ours)


def test_prune_all_layers_and_train_step():
    ours, theirs = _pair(1)
    for mods in (ours, theirs):
        p = prune if mods is ours else tprune
        conv, lin = (disttorch.nn.Conv2d, disttorch.nn.Linear) if mods is ours else (torch.nn.Conv2d, torch.nn.Linear)
        for _, module in mods.named_modules():
            if isinstance(module, conv):
                p.l1_unstructured(module, name="weight", amount=0.2)
                p.ln_structured(module, name="weight", amount=2, n=1, dim=0)
            elif isinstance(module, lin):
                p.l1_unstructured(module, name="weight", amount=0.4)
    assert dict(ours.named_buffers()).keys() == dict(theirs.named_buffers()).keys()
    for (n, bo), (_, bt) in zip(ours.named_buffers(), theirs.named_buffers()):
        np.testing.assert_array_equal(_np(bo), _np(bt), err_msg=n)
    _forward_backward(ours, theirs)


@pytest.mark.parametrize("n", [1, 2, 3.5, float("inf"), float("-inf")])
@pytest.mark.parametrize("dim,amount", [(0, 0.5), (1, 2), (-1, 0.4), (-2, 3), (3, 0.0), (2, 5)])
def test_ln_structured_exact(n, dim, amount):
    ours, theirs = _pair(2)
    prune.ln_structured(ours.conv2, "weight", amount=amount, n=n, dim=dim)
    tprune.ln_structured(theirs.conv2, "weight", amount=amount, n=n, dim=dim)
    _same_layout(ours.conv2, theirs.conv2)
    np.testing.assert_array_equal(_np(ours.conv2.weight_mask), _np(theirs.conv2.weight_mask))


@pytest.mark.parametrize("steps", [
    [("ln", 0.25, 2, 0), ("ln", 0.5, 2, 0)],
    [("ln", 3, 1, 0), ("ln", 2, 1, 1), ("l1", 0.3)],
    [("l1", 0.5), ("ln", 0.5, float("inf"), 0), ("l1", 40)],
    [("l1", 100), ("ln", 1, 2, -1), ("custom",), ("ln", 0.5, 1, 0)],
])
def test_iterative_combinations_exact(steps):
    ours, theirs = _pair(4)
    custom = (np.random.default_rng(7).random((16, 6, 5, 5)) > 0.3).astype(np.float32)
    for step in steps:
        for p, mod, lib in ((prune, ours.conv2, disttorch), (tprune, theirs.conv2, torch)):
            if step[0] == "ln":
                p.ln_structured(mod, "weight", amount=step[1], n=step[2], dim=step[3])
            elif step[0] == "l1":
                p.l1_unstructured(mod, "weight", amount=step[1])
            else:
                p.custom_from_mask(mod, "weight", lib.tensor(custom))
        _same_layout(ours.conv2, theirs.conv2)
        np.testing.assert_array_equal(_np(ours.conv2.weight_mask), _np(theirs.conv2.weight_mask))
    assert [type(h).__name__ for h in _hook(ours.conv2, "weight")] == \
        [type(h).__name__ for h in _hook(theirs.conv2, "weight")]
    _forward_backward(ours, theirs)


@pytest.mark.parametrize("n", ["fro", 1, float("inf")])
@pytest.mark.parametrize("dim", [0, 1])
def test_ln_structured_linear(n, dim):
    ours, theirs = _pair(3)
    prune.ln_structured(ours.fc2, "weight", amount=0.3, n=n, dim=dim)
    tprune.ln_structured(theirs.fc2, "weight", amount=0.3, n=n, dim=dim)
    np.testing.assert_array_equal(_np(ours.fc2.weight_mask), _np(theirs.fc2.weight_mask))


def test_ln_importance_scores():
    ours, theirs = _pair(5)
    s = np.random.default_rng(8).standard_normal((120, 400)).astype(np.float32)
    prune.ln_structured(ours.fc1, "weight", 0.3, n=2, dim=0, importance_scores=disttorch.tensor(s))
    tprune.ln_structured(theirs.fc1, "weight", 0.3, n=2, dim=0, importance_scores=torch.tensor(s))
    np.testing.assert_array_equal(_np(ours.fc1.weight_mask), _np(theirs.fc1.weight_mask))
    with pytest.raises(AssertionError, match="importance_scores should have the same shape"):
        prune.ln_structured(ours.fc2, "weight", 0.3, n=2, dim=0, importance_scores=disttorch.ones(3))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_random_structured_counts(dim):
    ours, _ = _pair()
    mod = ours.conv2
    prune.random_structured(mod, "weight", amount=0.5, dim=dim)
    other = tuple(d for d in range(4) if d != dim % 4)
    dead = (_np(mod.weight_mask) == 0).all(axis=other)
    size = mod.weight_orig.shape[dim]
    assert dead.sum() == round(0.5 * size)
    # each channel is all-zero or all-one
    assert set(np.unique(_np(mod.weight_mask).sum(axis=other))) <= {0.0, float(np.prod([mod.weight_orig.shape[d]
                                                                                         for d in other]))}
    prune.random_structured(mod, "weight", amount=1, dim=dim)
    dead2 = (_np(mod.weight_mask) == 0).all(axis=other)
    assert dead2.sum() == dead.sum() + 1 and dead2[dead].all()
    assert isinstance(_hook(mod, "weight"), prune.PruningContainer)


def test_random_unstructured_after_structured():
    ours, _ = _pair()
    prune.ln_structured(ours.fc3, "weight", amount=4, n=2, dim=0)
    prune.random_unstructured(ours.fc3, "weight", amount=0.5)
    mask = _np(ours.fc3.weight_mask)
    assert (mask == 0).all(1).sum() >= 4
    assert (mask == 0).sum() == 4 * 84 + round(0.5 * 6 * 84)


class _FooBar:
    def __init__(self, p):
        class FooBarPruningMethod(p.BasePruningMethod):
            """Prune every other entry in a tensor."""
            PRUNING_TYPE = "unstructured"

            def compute_mask(self, t, default_mask):
                mask = default_mask.clone()
                mask.view(-1)[::2] = 0
                return mask
        self.cls = FooBarPruningMethod


def test_custom_method_subclass():
    ours, theirs = _pair()
    fo, ft = _FooBar(prune).cls, _FooBar(tprune).cls
    fo.apply(ours.fc3, "bias")
    ft.apply(theirs.fc3, "bias")
    np.testing.assert_array_equal(_np(ours.fc3.bias_mask), _np(theirs.fc3.bias_mask))
    fo.apply(ours.fc3, "bias")  # again: only the kept entries are seen
    ft.apply(theirs.fc3, "bias")
    np.testing.assert_array_equal(_np(ours.fc3.bias_mask), _np(theirs.fc3.bias_mask))
    _same_layout(ours.fc3, theirs.fc3)
    out = fo().prune(disttorch.arange(6.0))
    np.testing.assert_array_equal(out.numpy(), ft().prune(torch.arange(6.0)).numpy())


def test_global_after_pruning_and_identity():
    ours, theirs = _pair(6)
    for p, m in ((prune, ours), (tprune, theirs)):
        p.ln_structured(m.conv1, "weight", amount=2, n=2, dim=0)
        p.identity(m.fc3, "weight")
        params = [(m.conv1, "weight"), (m.conv2, "weight"), (m.fc1, "weight"), (m.fc2, "weight"), (m.fc3, "weight")]
        p.global_unstructured(params, pruning_method=p.L1Unstructured, amount=0.2)
    for a, b in zip(ours.modules(), theirs.modules()):
        _same_layout(a, b)
    for (n, bo), (_, bt) in zip(ours.named_buffers(), theirs.named_buffers()):
        np.testing.assert_array_equal(_np(bo), _np(bt), err_msg=n)
    assert [type(h).__name__ for h in _hook(ours.fc3, "weight")] == ["Identity", "CustomFromMask"]
    with pytest.raises(TypeError, match='Only "unstructured" PRUNING_TYPE supported'):
        prune.global_unstructured([(ours.fc2, "bias")], prune.LnStructured, amount=1, n=2, dim=0)
    with pytest.raises(TypeError, match="importance_scores must be of type dict"):
        prune.global_unstructured([(ours.fc2, "bias")], prune.L1Unstructured, importance_scores=[1], amount=1)


def _same_error(fo, ft, exc):
    with pytest.raises(exc) as eo:
        fo()
    with pytest.raises(exc) as et:
        ft()
    assert str(eo.value).replace("disttorch", "torch") == str(et.value)


def test_errors_and_rollback():
    ours, theirs = _pair()
    _same_error(lambda: prune.ln_structured(ours.fc3, "bias", 0.5, n=2, dim=0),
                lambda: tprune.ln_structured(theirs.fc3, "bias", 0.5, n=2, dim=0), ValueError)
    assert [n for n, _ in ours.fc3.named_parameters()] == ["weight", "bias"]  # rolled back
    assert not prune.is_pruned(ours)
    _same_error(lambda: prune.ln_structured(ours.fc3, "weight", 0.5, n=2, dim=2),
                lambda: tprune.ln_structured(theirs.fc3, "weight", 0.5, n=2, dim=2), IndexError)
    _same_error(lambda: prune.ln_structured(ours.conv2, "weight", 0.5, n="fro", dim=0),
                lambda: tprune.ln_structured(theirs.conv2, "weight", 0.5, n="fro", dim=0), RuntimeError)
    _same_error(lambda: prune.random_structured(ours.fc3, "weight", 11, dim=0),
                lambda: tprune.random_structured(theirs.fc3, "weight", 11, dim=0), ValueError)
    for bad, exc in (("0.5", TypeError), (-2, ValueError), (1.01, ValueError)):
        _same_error(lambda: prune.ln_structured(ours.fc3, "weight", bad, n=2, dim=0),
                    lambda: tprune.ln_structured(theirs.fc3, "weight", bad, n=2, dim=0), exc)
        _same_error(lambda: prune.RandomStructured(bad), lambda: tprune.RandomStructured(bad), exc)
    with pytest.raises(TypeError):
        prune.BasePruningMethod()
    first = prune.L1Unstructured(1)
    first._tensor_name = "weight"
    c = prune.PruningContainer(first)
    with pytest.raises(TypeError, match="is not a BasePruningMethod subclass"):
        c.add_pruning_method(3)
    other = prune.L1Unstructured(1)
    other._tensor_name = "bias"
    with pytest.raises(ValueError, match="Can only add pruning methods acting on the parameter named 'weight'"):
        c.add_pruning_method(other)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_structured_pruning_device(device):
    if device == "cuda" and not disttorch.cuda.is_available():
        pytest.skip("needs a GPU or the cupy stand-in")
    ours, theirs = _pair(9)
    mo, mt = ours.conv2.to(device), theirs.conv2
    for p, m in ((prune, mo), (tprune, mt)):
        p.l1_unstructured(m, "weight", amount=0.3)
        p.ln_structured(m, "weight", amount=0.5, n=2, dim=0)
        p.global_unstructured([(m, "weight"), (m, "bias")], p.L1Unstructured, amount=0.1)
    assert mo.weight_mask.device.type == device
    np.testing.assert_array_equal(mo.weight_mask.cpu().numpy(), _np(mt.weight_mask))
    np.testing.assert_array_equal(mo.bias_mask.cpu().numpy(), _np(mt.bias_mask))
    prune.random_structured(mo, "weight", amount=2, dim=1)
    assert ((mo.weight_mask.cpu().numpy() == 0).all(axis=(0, 2, 3))).sum() == 2


def test_state_dict_round_trip():
    import io
    seen = []
    ours, theirs = _pair(10)
    for p, lib, a in ((prune, disttorch, ours.fc3), (tprune, torch, theirs.fc3)):
        p.l1_unstructured(a, "weight", 0.5)
        p.ln_structured(a, "weight", 2, n=2, dim=0)
        b = lib.nn.Linear(84, 10)
        p.identity(b, "weight")
        res = b.load_state_dict(a.state_dict())
        stale = bool((b.weight == a.weight).all())  # the attribute is refreshed by the next forward
        b(lib.ones(1, 84))
        with pytest.raises(RuntimeError, match="Error\\(s\\) in loading state_dict for Linear"):
            lib.nn.Linear(84, 10).load_state_dict(a.state_dict())
        buf = io.BytesIO()
        lib.save(a, buf)
        buf.seek(0)
        e = lib.load(buf, weights_only=False)
        seen.append((str(res), stale, _np(b.weight_mask), _np(b.weight), sorted(e.state_dict().keys()),
                     p.is_pruned(e), _np(e.weight)))
    (o, t) = seen
    assert o[:2] == t[:2] and o[4:6] == t[4:6]
    for i in (2, 3, 6):
        np.testing.assert_array_equal(o[i], t[i])
