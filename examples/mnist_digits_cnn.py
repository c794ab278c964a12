"""Train a small CNN on scikit-learn's bundled 8x8 handwritten digits (no download needed).

Run:  python examples/mnist_digits_cnn.py [--epochs 12] [--batch-size 64] [--lr 3e-3] [--seed 0] [--save PATH]
      [--device cuda]

Written exactly as PyTorch code; only the import line differs. Exits with status 1 when the final test
accuracy is below ``--target``.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np
from _training_log import HelpFormatter, TrainingLog, add_arguments, add_device_argument, pick_device
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import disttorch as torch
import disttorch.nn.functional as F
from disttorch import nn
from disttorch.utils.data import DataLoader, TensorDataset


class DigitsCNN(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),  # 16 x 8 x 8
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),  # 32 x 8 x 8
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 32 x 4 x 4
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.25),
            nn.Linear(32 * 4 * 4, 64),
            nn.ReLU(),
            nn.Linear(64, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def load_data(seed: int):
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)  # pixel values 0..16 -> 0..1
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=seed, stratify=digits.target
    )
    mean, std = x_train.mean(), x_train.std()
    to_x = lambda a: ((torch.from_numpy(a) - mean) / std).unsqueeze(1)  # N x 1 x 8 x 8
    to_y = lambda a: torch.from_numpy(a.astype(np.int64))
    return TensorDataset(to_x(x_train), to_y(y_train)), TensorDataset(to_x(x_test), to_y(y_test))


def evaluate(model: nn.Module, loader: DataLoader, device) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            correct += (model(x).argmax(dim=1) == y).sum().item()
            total += y.numel()
    return correct / total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=HelpFormatter)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, help="where to save the state_dict (default: a temporary file)")
    parser.add_argument("--target", type=float, default=0.97, help="required final test accuracy")
    add_device_argument(parser)
    add_arguments(parser)
    args = parser.parse_args(argv)
    device = pick_device(args.device)

    torch.manual_seed(args.seed)
    train_set, test_set = load_data(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=generator)
    test_loader = DataLoader(test_set, batch_size=256)
    print(f"train samples: {len(train_set)}  test samples: {len(test_set)}")

    model = DigitsCNN().to(device)
    print(model)
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

    start = time.perf_counter()
    log = TrainingLog(args.epochs * len(train_loader), args)
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        loss_sum = 0.0
        correct = seen = 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * y.shape[0]
            correct += (logits.argmax(dim=1) == y).sum().item()
            seen += y.shape[0]
            log.step(loss.item(), scheduler.get_last_lr()[0], y.shape[0])
        scheduler.step()
        test_acc = evaluate(model, test_loader, device)
        log.write(
            f"epoch {epoch:3d}  loss {loss_sum / seen:.4f}  train acc {correct / seen:.4f}  "
            f"test acc {test_acc:.4f}  lr {scheduler.get_last_lr()[0]:.2e}  time {time.perf_counter() - t0:.2f}s"
        )
    log.close()
    print(f"training time: {time.perf_counter() - start:.2f}s")

    # Save, reload into a fresh model, and check the reloaded model scores the same.
    with tempfile.TemporaryDirectory() as tmp:
        path = args.save or os.path.join(tmp, "digits_cnn.pt")
        torch.save(model.state_dict(), path)
        restored = DigitsCNN().to(device)
        restored.load_state_dict(torch.load(path))
        reloaded_acc = evaluate(restored, test_loader, device)
    x_test = test_set.tensors[0].to(device)
    with torch.no_grad():
        same_outputs = torch.equal(model(x_test), restored(x_test))
    where = path if args.save else "a temporary file"
    print(f"saved state_dict to {where}; reloaded test acc {reloaded_acc:.4f}")
    if reloaded_acc != test_acc or not same_outputs:
        print(f"error: reloaded model differs (accuracy {reloaded_acc:.4f} vs {test_acc:.4f})")
        return 1

    print(f"final test accuracy: {test_acc:.4f} (target {args.target:.4f})")
    if test_acc < args.target:
        print("error: target accuracy not reached")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
