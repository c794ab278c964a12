"""Train a small character-level transformer language model on the docstrings of Python's standard library.

Run:  python examples/text_transformer.py [--epochs 10] [--d-model 128] [--layers 2] [--target-loss 2.35]

Same corpus and data pipeline as ``text_lstm.py`` (imported from it), with a causal transformer encoder
instead of an LSTM. Written exactly as PyTorch code; only the import line differs. Exits with status 1 when
the held-out loss does not drop below ``--target-loss``.
"""

import argparse
import sys

from _training_log import HelpFormatter, add_arguments, add_device_argument, pick_device
from text_lstm import fit, load_data, report

import disttorch as torch
import disttorch.nn.functional as F
from disttorch import nn


class CharTransformer(nn.Module):
    def __init__(self, vocab_size: int, context: int, d_model: int, nhead: int, num_layers: int, dropout: float):
        super().__init__()
        self.context = context
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(context, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, nhead, dim_feedforward=4 * d_model, dropout=dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        self.register_buffer("causal_mask", nn.Transformer.generate_square_subsequent_mask(context), persistent=False)

    def forward(self, tokens):
        t = tokens.shape[1]
        positions = torch.arange(t, device=tokens.device)
        h = self.token_embedding(tokens) + self.position_embedding(positions)
        h = self.encoder(h, mask=self.causal_mask[:t, :t], is_causal=True)
        # Returns (logits, None) so it shares fit() and evaluate() with the LSTM model.
        return self.head(self.norm(h)), None


def sample(model: CharTransformer, stoi: dict, itos: list, prompt: str, length: int, temperature: float, generator):
    model.eval()
    ids = [stoi[c] for c in prompt]
    with torch.no_grad():
        for _ in range(length):
            context = torch.tensor([ids[-model.context :]], device=model.head.weight.device)
            logits, _ = model(context)
            probs = F.softmax(logits[0, -1] / temperature, dim=-1)
            ids.append(torch.multinomial(probs.cpu(), 1, generator=generator).item())  # a cpu generator
    return "".join(itos[i] for i in ids)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=HelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-chars", type=int, default=100000, help="corpus size in characters")
    parser.add_argument("--seq-len", type=int, default=64, help="context length")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--nhead", type=int, default=4)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--clip", type=float, default=1.0, help="gradient norm clipping")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-chars", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--target-loss", type=float, default=2.35, help="required final held-out loss (nats/char)")
    add_device_argument(parser)
    add_arguments(parser)
    args = parser.parse_args(argv)
    device = pick_device(args.device)

    torch.manual_seed(args.seed)
    itos, stoi, train_loader, val_loader, generator = load_data(args)

    model = CharTransformer(len(itos), args.seq_len, args.d_model, args.nhead, args.layers, args.dropout).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    val_loss = fit(model, optimizer, train_loader, val_loader, args)
    text = sample(model, stoi, itos, "Return the ", args.sample_chars, args.temperature, generator)
    return report(text, val_loss, args)


if __name__ == "__main__":
    sys.exit(main())
