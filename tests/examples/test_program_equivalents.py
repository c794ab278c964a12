"""What well-known public PyTorch programs exercise, run in disttorch and in real torch from the same weights.

Each case builds a model in disttorch, copies its state_dict into the same model built with torch, feeds both the
same data and checks that the loss after every optimizer step agrees to float32 precision.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from program_models import gpt_classes, lm_classes

import disttorch

torch = pytest.importorskip("torch")

RTOL = 1e-4


def to_np(t) -> np.ndarray:
    return np.array(t.detach().cpu().numpy())


def copy_weights(src, dst) -> None:
    """Load a disttorch model's state_dict into the torch model of the same code."""
    dst.load_state_dict({k: torch.from_numpy(to_np(v)) for k, v in src.state_dict().items()})


def assert_losses(ours: list[float], theirs: list[float], rtol: float = RTOL) -> None:
    assert len(ours) == len(theirs) > 0
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-6)


# -- 1. a character-level GPT ------------------------------------------------------------------------------------


def cosine_lr(step: int, base: float = 3e-3, warmup: int = 2, total: int = 6, floor: float = 3e-4) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    ratio = (step - warmup) / (total - warmup)
    return floor + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (base - floor)


def train_gpt(T, model, batches) -> tuple[list[float], list[float]]:
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    opt = T.optim.AdamW(groups, lr=cosine_lr(0), betas=(0.9, 0.95), fused=False)
    losses, norms = [], []
    for step, (x, y) in enumerate(batches):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(step)
        _, loss = model(T.from_numpy(x), T.from_numpy(y))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norms.append(float(T.nn.utils.clip_grad_norm_(model.parameters(), 1.0)))
        opt.step()
        losses.append(loss.item())
    return losses, norms


@pytest.mark.parametrize("fused", [True, False], ids=["sdpa", "masked_softmax"])
def test_char_gpt(fused):
    vocab, context = 17, 8
    cfg = dict(vocab=vocab, context=context, width=16, heads=2, layers=2, fused=fused)
    disttorch.manual_seed(0)
    ours = gpt_classes(disttorch).GPT(**cfg)
    theirs = gpt_classes(torch).GPT(**cfg)
    copy_weights(ours, theirs)
    assert ours.lm_head.weight is ours.wte.weight
    n_ours = sum(p.numel() for p in ours.parameters())
    assert n_ours == sum(p.numel() for p in theirs.parameters())

    rng = np.random.default_rng(0)
    text = rng.integers(0, vocab, size=200)
    batches = []
    for _ in range(6):
        starts = rng.integers(0, len(text) - context - 1, size=4)
        batches.append((np.stack([text[s:s + context] for s in starts]),
                        np.stack([text[s + 1:s + 1 + context] for s in starts])))
    loss_ours, norm_ours = train_gpt(disttorch, ours, batches)
    loss_theirs, norm_theirs = train_gpt(torch, theirs, batches)
    assert_losses(loss_ours, loss_theirs)
    np.testing.assert_allclose(norm_ours, norm_theirs, rtol=RTOL)

    ours.eval()
    theirs.eval()
    prompt = batches[0][0][:2, :5]
    with disttorch.no_grad():
        logits_ours, _ = ours(disttorch.from_numpy(prompt))
    with torch.no_grad():
        logits_theirs, _ = theirs(torch.from_numpy(prompt))
    np.testing.assert_allclose(to_np(logits_ours), to_np(logits_theirs), rtol=RTOL, atol=1e-5)

    disttorch.manual_seed(1)
    out = ours.generate(disttorch.from_numpy(prompt), steps=6, temperature=0.8, top_k=5)
    assert tuple(out.shape) == (2, 11) and out.dtype == disttorch.int64
    assert np.array_equal(to_np(out)[:, :5], prompt)
    assert ((to_np(out) >= 0) & (to_np(out) < vocab)).all()
    # with top_k=1 sampling is greedy, so both frameworks must pick the same tokens
    greedy_ours = ours.generate(disttorch.from_numpy(prompt), steps=4, top_k=1)
    greedy_theirs = theirs.generate(torch.from_numpy(prompt), steps=4, top_k=1)
    assert np.array_equal(to_np(greedy_ours), to_np(greedy_theirs))


def test_char_gpt_attention_paths_agree():
    cfg = dict(vocab=11, context=6, width=8, heads=2, layers=1)
    disttorch.manual_seed(0)
    fused = gpt_classes(disttorch).GPT(**cfg, fused=True)
    masked = gpt_classes(disttorch).GPT(**cfg, fused=False)
    masked.load_state_dict(fused.state_dict())
    idx = disttorch.from_numpy(np.random.default_rng(4).integers(0, 11, size=(3, 6)))
    with disttorch.no_grad():
        a, _ = fused(idx)
        b, _ = masked(idx)
    np.testing.assert_allclose(to_np(a), to_np(b), rtol=RTOL, atol=1e-6)


# -- 2. word-level language models --------------------------------------------------------------------------------


def repackage(h):
    return tuple(repackage(v) for v in h) if isinstance(h, tuple) else h.detach()


def train_rnn(T, model, chunks, lr: float = 0.5) -> list[float]:
    model.train()
    hidden = model.init_hidden(chunks[0][0].shape[1])
    losses = []
    for x, y in chunks:
        hidden = repackage(hidden)
        model.zero_grad()
        output, hidden = model(T.from_numpy(x), hidden)
        loss = T.nn.functional.nll_loss(T.nn.functional.log_softmax(output, dim=-1), T.from_numpy(y).view(-1))
        loss.backward()
        T.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        losses.append(loss.item())
    return losses


def lm_chunks(ntoken: int, seq: int = 5, batch: int = 3, n: int = 4) -> list[tuple[np.ndarray, np.ndarray]]:
    stream = np.random.default_rng(1).integers(0, ntoken, size=(seq * n + 1, batch))
    return [(stream[i * seq:(i + 1) * seq], stream[i * seq + 1:(i + 1) * seq + 1]) for i in range(n)]


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_word_rnn_lm(kind):
    cfg = dict(kind=kind, ntoken=20, ninp=8, nhid=12, nlayers=2)
    disttorch.manual_seed(0)
    ours = lm_classes(disttorch).RNNModel(**cfg)
    theirs = lm_classes(torch).RNNModel(**cfg)
    copy_weights(ours, theirs)
    chunks = lm_chunks(cfg["ntoken"])
    assert_losses(train_rnn(disttorch, ours, chunks), train_rnn(torch, theirs, chunks))


def train_transformer(T, model, chunks, lr: float = 0.1) -> list[float]:
    model.train()
    mask = T.nn.Transformer.generate_square_subsequent_mask(chunks[0][0].shape[0])
    losses = []
    for x, y in chunks:
        model.zero_grad()
        output = model(T.from_numpy(x), mask)
        loss = T.nn.functional.nll_loss(output.view(-1, output.size(-1)), T.from_numpy(y).view(-1))
        loss.backward()
        T.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        losses.append(loss.item())
    return losses


def test_word_transformer_lm_and_whole_model_save(tmp_path):
    import program_models

    cfg = dict(ntoken=20, ninp=8, nhead=2, nhid=16, nlayers=2)
    disttorch.manual_seed(0)
    ours = program_models.DtTransformerModel(**cfg)
    theirs = lm_classes(torch).TransformerModel(**cfg)
    copy_weights(ours, theirs)
    mask = disttorch.nn.Transformer.generate_square_subsequent_mask(4)
    assert np.array_equal(to_np(mask), to_np(torch.nn.Transformer.generate_square_subsequent_mask(4)))
    assert "pos.pe" in ours.state_dict() and not any(n.startswith("pos.") for n, _ in ours.named_parameters())
    chunks = lm_chunks(cfg["ntoken"])
    assert_losses(train_transformer(disttorch, ours, chunks), train_transformer(torch, theirs, chunks))

    ours.eval()
    theirs.eval()
    x_np = chunks[1][0]
    with disttorch.no_grad():
        out_ours = ours(disttorch.from_numpy(x_np), disttorch.nn.Transformer.generate_square_subsequent_mask(5))
    with torch.no_grad():
        out_theirs = theirs(torch.from_numpy(x_np), torch.nn.Transformer.generate_square_subsequent_mask(5))
    np.testing.assert_allclose(to_np(out_ours), to_np(out_theirs), rtol=RTOL, atol=1e-5)

    path = tmp_path / "model.pt"
    disttorch.save(ours, path)
    loaded = disttorch.load(path, weights_only=False)
    assert type(loaded) is type(ours) and loaded is not ours and not loaded.training
    x = disttorch.from_numpy(chunks[0][0])
    mask = disttorch.nn.Transformer.generate_square_subsequent_mask(x.shape[0])
    with disttorch.no_grad():
        assert np.array_equal(to_np(ours(x, mask)), to_np(loaded(x, mask)))


def test_rnn_whole_model_save(tmp_path):
    import program_models

    disttorch.manual_seed(0)
    model = program_models.DtRNNModel("LSTM", 20, 8, 12, 2)
    path = tmp_path / "rnn.pt"
    disttorch.save(model, path)
    loaded = disttorch.load(path, weights_only=False)
    x = disttorch.from_numpy(lm_chunks(20)[0][0])
    with disttorch.no_grad():
        a, (h, c) = model(x, model.init_hidden(3))
        b, (h2, c2) = loaded(x, loaded.init_hidden(3))
    for u, v in ((a, b), (h, h2), (c, c2)):
        assert np.array_equal(to_np(u), to_np(v))


# -- 3. polynomial regression ----------------------------------------------------------------------------------


def poly_features(T, x, degree: int):
    x = x.unsqueeze(1)
    return T.cat([x ** i for i in range(1, degree + 1)], 1)


def train_regression(T, w_init: np.ndarray, b_init: np.ndarray, xs: list[np.ndarray]) -> list[float]:
    degree = w_init.shape[1]
    w_true = T.from_numpy(np.array([[0.5], [-1.2], [0.3], [0.8]], dtype=np.float32)[:degree])
    fc = T.nn.Linear(degree, 1)
    with T.no_grad():
        fc.weight.copy_(T.from_numpy(w_init))
        fc.bias.copy_(T.from_numpy(b_init))
    losses = []
    for x in xs:
        feats = poly_features(T, T.from_numpy(x), degree)
        target = feats.mm(w_true) + 0.25
        fc.zero_grad()
        loss = T.nn.functional.smooth_l1_loss(fc(feats), target)
        loss.backward()
        for param in fc.parameters():
            param.data.add_(-0.1 * param.grad)
        losses.append(loss.item())
    return losses


def test_polynomial_regression():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((1, 4)).astype(np.float32)
    b = rng.standard_normal(1).astype(np.float32)
    xs = [rng.uniform(-1.0, 1.0, 32).astype(np.float32) for _ in range(8)]
    ours = train_regression(disttorch, w, b, xs)
    assert_losses(ours, train_regression(torch, w, b, xs))
    assert ours[-1] < ours[0]


# -- 4. the tutorials' autograd basics -------------------------------------------------------------------------


def legendre3_function(T):
    class Legendre3(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x ** 3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * x ** 2 - 1)

    return Legendre3


def fit_sine(T, custom: bool, steps: int = 5, lr: float = 5e-6) -> tuple[list[float], list[float]]:
    x = T.linspace(-math.pi, math.pi, 200)
    y = T.sin(x)
    coef = [T.tensor(v, requires_grad=True) for v in (0.0, -1.0, 0.0, 0.3)]
    p3 = legendre3_function(T).apply
    losses = []
    for _ in range(steps):
        a, b, c, d = coef
        y_pred = a + b * p3(c + d * x) if custom else a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with T.no_grad():
            for w in coef:
                w -= lr * w.grad
        for w in coef:
            w.grad.zero_()
    return losses, [w.item() for w in coef]


@pytest.mark.parametrize("custom", [False, True], ids=["polynomial", "legendre_function"])
def test_tutorial_sine_fit(custom):
    loss_ours, coef_ours = fit_sine(disttorch, custom)
    loss_theirs, coef_theirs = fit_sine(torch, custom)
    assert_losses(loss_ours, loss_theirs)
    np.testing.assert_allclose(coef_ours, coef_theirs, rtol=RTOL, atol=1e-6)


def test_tutorial_manual_two_layer_net():
    rng = np.random.default_rng(3)
    x_np, y_np = rng.standard_normal((16, 10)).astype(np.float32), rng.standard_normal((16, 3)).astype(np.float32)
    w1_np, w2_np = rng.standard_normal((10, 20)).astype(np.float32), rng.standard_normal((20, 3)).astype(np.float32)

    def run(T) -> list[float]:
        x, y = T.from_numpy(x_np), T.from_numpy(y_np)
        w1 = T.from_numpy(w1_np.copy()).requires_grad_()
        w2 = T.from_numpy(w2_np.copy()).requires_grad_()
        losses = []
        for _ in range(5):
            loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
            losses.append(loss.item())
            loss.backward()
            with T.no_grad():
                w1 -= 1e-4 * w1.grad
                w2 -= 1e-4 * w2.grad
                w1.grad.zero_()
                w2.grad.zero_()
        return losses

    assert_losses(run(disttorch), run(torch))


# -- 5. the NLP tutorials: a BiLSTM-CRF tagger and an n-gram model, in the legacy style they are written in ------


def crf_tagger(T, vocab: int, tags: int, width: int = 5, hidden: int = 4):
    """A bidirectional LSTM under a linear-chain CRF; tag ``tags - 2`` starts, ``tags - 1`` stops a sentence."""
    nn, Variable = T.nn, T.autograd.Variable
    start, stop = tags - 2, tags - 1

    def best(vec):  # the tutorial's argmax: through max(dim) and .data.tolist()
        return T.max(vec, 1)[1].view(-1).data.tolist()[0]

    def log_sum_exp(vec):
        top = vec[0, best(vec)]
        return top + T.log(T.sum(T.exp(vec - top.view(1, -1).expand(1, vec.size()[1]))))

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, width)
            self.lstm = nn.LSTM(width, hidden // 2, num_layers=1, bidirectional=True)
            self.to_tags = nn.Linear(hidden, tags)
            self.transitions = nn.Parameter(T.zeros(tags, tags))

        def features(self, words, state):
            out, _ = self.lstm(self.embed(words).view(len(words), 1, -1), state)
            return self.to_tags(out.view(len(words), -1))

        def partition(self, feats):
            alphas = T.Tensor(1, tags).fill_(-10000.)
            alphas[0][start] = 0.
            alphas = Variable(alphas)
            for feat in feats:
                step = [log_sum_exp(alphas + self.transitions[k].view(1, -1) + feat[k].view(1, -1).expand(1, tags))
                        .view(1) for k in range(tags)]
                alphas = T.cat(step).view(1, -1)
            return log_sum_exp(alphas + self.transitions[stop])

        def gold(self, feats, labels):
            score = Variable(T.Tensor([0]))
            labels = T.cat([T.LongTensor([start]), labels])
            for i, feat in enumerate(feats):
                score = score + self.transitions[labels[i + 1], labels[i]] + feat[labels[i + 1]]
            return score + self.transitions[stop, labels[-1]]

        def nll(self, words, labels, state):
            feats = self.features(words, state)
            return self.partition(feats) - self.gold(feats, labels)

        def viterbi(self, words, state):
            feats = self.features(words, state)
            scores = T.Tensor(1, tags).fill_(-10000.)
            scores[0][start] = 0
            back = []
            for feat in feats:
                ids = [best(scores + self.transitions[k]) for k in range(tags)]
                scores = (T.cat([(scores + self.transitions[k])[0][i].view(1) for k, i in enumerate(ids)]) + feat)
                scores = scores.view(1, -1)
                back.append(ids)
            path = [best(scores + self.transitions[stop])]
            for ids in reversed(back):
                path.append(ids[path[-1]])
            assert path.pop() == start
            return path[::-1]

    return Tagger()


def test_bilstm_crf_tagger():
    rng = np.random.default_rng(5)
    sentences = [(rng.integers(0, 12, 9), rng.integers(0, 3, 9)), (rng.integers(0, 12, 6), rng.integers(0, 3, 6))]
    state = [rng.standard_normal((2, 1, 2)).astype(np.float32) for _ in range(2)]
    trans = rng.standard_normal((5, 5)).astype(np.float32)
    trans[3, :] = trans[:, 4] = -10000  # never into the start tag, never out of the stop tag

    def run(T, model):
        with T.no_grad():
            model.transitions.copy_(T.from_numpy(trans))
        opt = T.optim.SGD(model.parameters(), lr=0.05, weight_decay=1e-4)
        h = tuple(T.autograd.Variable(T.from_numpy(s)) for s in state)
        losses = []
        for _ in range(4):
            for words, labels in sentences:
                model.zero_grad()
                loss = model.nll(T.LongTensor(words.tolist()), T.LongTensor(labels.tolist()), h)
                loss.backward()
                opt.step()
                losses.append(loss.item())
        return losses, model.viterbi(T.LongTensor(sentences[0][0].tolist()), h)

    disttorch.manual_seed(0)
    ours = crf_tagger(disttorch, 12, 5)
    theirs = crf_tagger(torch, 12, 5)
    copy_weights(ours, theirs)
    (loss_ours, path_ours), (loss_theirs, path_theirs) = run(disttorch, ours), run(torch, theirs)
    assert_losses(loss_ours, loss_theirs)
    assert path_ours == path_theirs and len(path_ours) == 9


def test_ngram_model_with_legacy_tensors():
    rng = np.random.default_rng(6)
    contexts, targets = rng.integers(0, 15, (12, 2)), rng.integers(0, 15, 12)

    def run(T, model):
        opt = T.optim.SGD(model.parameters(), lr=0.01)
        totals = []
        for _ in range(3):
            total = T.Tensor([0])
            for ctx, tgt in zip(contexts, targets):
                model.zero_grad()
                emb = model[0](T.autograd.Variable(T.LongTensor(ctx.tolist()))).view((1, -1))
                log_probs = T.nn.functional.log_softmax(model[2](T.nn.functional.relu(model[1](emb))), dim=1)
                loss = T.nn.NLLLoss()(log_probs, T.autograd.Variable(T.LongTensor([int(tgt)])))
                loss.backward()
                opt.step()
                total += loss.data
            assert total.dtype == T.float32 and total.shape == (1,) and total.grad_fn is None
            totals.append(float(total[0]))
        return totals

    def build(T):
        return T.nn.Sequential(T.nn.Embedding(15, 6), T.nn.Linear(12, 32), T.nn.Linear(32, 15))

    disttorch.manual_seed(0)
    ours, theirs = build(disttorch), build(torch)
    copy_weights(ours, theirs)
    assert_losses(run(disttorch, ours), run(torch, theirs))
