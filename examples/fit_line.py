"""Train something small: fit y = 3x - 2 (plus noise) with a linear layer and hand-written SGD.

    python3 examples/fit_line.py [--steps 200] [--lr 0.1] [--metrics runs/fit_line.jsonl] [--device cuda]

Uses only what the core offers: tensors, autograd, nn.Linear, no_grad updates.
"""
import argparse

from _training_log import HelpFormatter, TrainingLog, add_arguments, add_device_argument, pick_device

import disttorch as torch
from disttorch import nn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--steps", type=int, default=200, help="SGD steps on the whole batch")
    ap.add_argument("--lr", type=float, default=0.1, help="learning rate")
    add_device_argument(ap)
    add_arguments(ap)
    args = ap.parse_args()
    device = pick_device(args.device)

    torch.manual_seed(0)
    x = torch.rand(256, 1) * 4 - 2
    y = 3 * x - 2 + 0.1 * torch.randn(256, 1)
    x, y = x.to(device), y.to(device)  # drawn on the cpu: the same data on every device
    model = nn.Linear(1, 1).to(device)
    log = TrainingLog(args.steps, args, desc="fit")
    for step in range(1, args.steps + 1):
        loss = ((model(x) - y) ** 2).mean()
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= args.lr * p.grad
        log.step(loss.item(), args.lr, len(x))
        if step % 50 == 0 or step == 1:
            log.write(f"step {step:4d}  loss {loss.item():.5f}")
    log.close()
    w, b = model.weight.item(), model.bias.item()
    print(f"learned y = {w:.3f} x + {b:.3f}  (true: y = 3 x - 2)")
    if abs(w - 3) > 0.05 or abs(b + 2) > 0.05:
        raise SystemExit("did not converge")


if __name__ == "__main__":
    main()
