"""Train a character-level LSTM language model on the docstrings of Python's standard library.

Run:  python examples/text_lstm.py [--epochs 10] [--max-chars 100000] [--seq-len 64] [--hidden 256] [--target-loss 2.1]

The corpus is read from modules that ship with every Python installation, in a fixed order, so no download is
needed and a run is reproducible for a given Python version. Written exactly as PyTorch code; only the import
line differs. Exits with status 1 when the held-out loss does not drop below ``--target-loss``.
"""

import argparse
import importlib
import inspect
import math
import sys
import time

from _training_log import HelpFormatter, TrainingLog, add_arguments, add_device_argument, pick_device

import disttorch as torch
import disttorch.nn.functional as F
from disttorch import nn
from disttorch.utils.data import DataLoader, TensorDataset

CORPUS_MODULES = (
    "textwrap", "json", "collections", "functools", "itertools", "statistics", "string", "heapq",
    "difflib", "csv", "copy", "pprint", "argparse", "shutil", "calendar", "pathlib",
)  # fmt: skip


def stdlib_docstrings(max_chars: int) -> str:
    """Module docstrings plus the docstrings of their public functions and classes, in a fixed order."""
    parts = []
    for module_name in CORPUS_MODULES:
        module = importlib.import_module(module_name)
        parts.append(inspect.getdoc(module) or "")
        for name in sorted(vars(module)):
            obj = getattr(module, name)
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                parts.append(inspect.getdoc(obj) or "")
    return "\n\n".join(p for p in parts if p)[:max_chars]


class CharLSTM(nn.Module):
    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(
            embed_dim, hidden_size, num_layers=num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens, state=None):
        out, state = self.lstm(self.embedding(tokens), state)
        return self.head(self.dropout(out)), state


def make_sequences(ids, seq_len: int) -> TensorDataset:
    """Cut a 1-D tensor of ids into (input, next-character target) pairs of length seq_len."""
    n = (ids.numel() - 1) // seq_len
    inputs = ids[: n * seq_len].view(n, seq_len)
    targets = ids[1 : n * seq_len + 1].view(n, seq_len)
    return TensorDataset(inputs, targets)


def load_data(args) -> tuple[list, dict, DataLoader, DataLoader, torch.Generator]:
    """The vocabulary (itos, stoi), train and held-out loaders, and the generator that shuffles and samples."""
    text = stdlib_docstrings(args.max_chars)
    itos = sorted(set(text))
    stoi = {c: i for i, c in enumerate(itos)}
    ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    split = int(0.9 * len(text))
    train_set = make_sequences(ids[:split], args.seq_len)
    val_set = make_sequences(ids[split:], args.seq_len)
    generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=generator)
    val_loader = DataLoader(val_set, batch_size=256)
    print(
        f"corpus: {len(text)} chars, vocab {len(itos)}, train sequences {len(train_set)}, val sequences {len(val_set)}"
    )
    return itos, stoi, train_loader, val_loader, generator


def evaluate(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits, _ = model(x)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
            count += y.numel()
    return total / count


def sample(model: nn.Module, stoi: dict, itos: list, prompt: str, length: int, temperature: float, generator) -> str:
    model.eval()
    device = next(model.parameters()).device
    out = list(prompt)
    with torch.no_grad():
        logits, state = model(torch.tensor([[stoi[c] for c in prompt]], device=device))
        for _ in range(length):
            probs = torch.softmax(logits[0, -1] / temperature, dim=-1)
            next_id = torch.multinomial(probs.cpu(), 1, generator=generator)  # the generator is a cpu one
            out.append(itos[next_id.item()])
            logits, state = model(next_id.view(1, 1).to(device), state)
    return "".join(out)


def fit(model: nn.Module, optimizer, train_loader: DataLoader, val_loader: DataLoader, args) -> float:
    """Train a model that returns (logits, state) for ``args.epochs`` with a one-cycle schedule up to ``args.lr``,
    printing the model and the losses of each epoch; returns the final held-out loss."""
    print(model)
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    device = next(model.parameters()).device
    steps = args.epochs * len(train_loader)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.1)
    val_loss = evaluate(model, val_loader)
    print(f"epoch   0  val loss {val_loss:.4f}  val ppl {math.exp(val_loss):7.2f}")
    start = time.perf_counter()
    log = TrainingLog(steps, args)
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            logits, _ = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            lr = scheduler.get_last_lr()[0]
            scheduler.step()
            value = loss.item()  # the step's one device-to-host copy
            total += value * y.numel()
            count += y.numel()
            log.step(value, lr, y.shape[0])
        train_loss = total / count
        val_loss = evaluate(model, val_loader)
        log.write(
            f"epoch {epoch:3d}  train loss {train_loss:.4f}  train ppl {math.exp(train_loss):7.2f}  "
            f"val loss {val_loss:.4f}  val ppl {math.exp(val_loss):7.2f}  time {time.perf_counter() - t0:.2f}s"
        )
    log.close()
    print(f"training time: {time.perf_counter() - start:.2f}s")
    return val_loss


def report(sample_text: str, val_loss: float, args) -> int:
    """Print the sample and the final loss; the exit status (1 when ``args.target_loss`` was not reached)."""
    print(f"sample (temperature {args.temperature}):")
    print(sample_text)
    print(f"final val loss: {val_loss:.4f} (target < {args.target_loss:.4f})")
    if not val_loss < args.target_loss:
        print("error: target loss not reached")
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=HelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-chars", type=int, default=100000, help="corpus size in characters")
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--embed-dim", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--clip", type=float, default=1.0, help="gradient norm clipping")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-chars", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--target-loss", type=float, default=2.1, help="required final held-out loss (nats/char)")
    add_device_argument(parser)
    add_arguments(parser)
    args = parser.parse_args(argv)
    device = pick_device(args.device)

    torch.manual_seed(args.seed)
    itos, stoi, train_loader, val_loader, generator = load_data(args)

    model = CharLSTM(len(itos), args.embed_dim, args.hidden, args.layers, args.dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    val_loss = fit(model, optimizer, train_loader, val_loader, args)
    text = sample(model, stoi, itos, "Return the ", args.sample_chars, args.temperature, generator)
    return report(text, val_loss, args)


if __name__ == "__main__":
    sys.exit(main())
