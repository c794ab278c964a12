"""Data-parallel training of a small CNN on scikit-learn's handwritten digits (8x8, 10 classes).

    python3 examples/ddp_train.py                      # one process, no MPI needed
    mpiexec -n 2 python3 examples/ddp_train.py         # two ranks, each with its share of every epoch
    disttorchrun --nproc-per-node 3 examples/ddp_train.py --metrics runs/ddp.jsonl
    mpiexec -n 2 python3 examples/ddp_train.py --device cuda   # one GPU per rank, NCCL

The canonical PyTorch DDP script with ``disttorch`` for ``torch``: init_process_group, DistributedSampler
(with set_epoch), SyncBatchNorm, DistributedDataParallel, rank-0 printing, destroy_process_group. The
global batch is ``--batch-size`` whatever the number of ranks, so results barely depend on it.
"""
import argparse
import time

import numpy as np
from _training_log import HelpFormatter, TrainingLog, add_arguments, add_device_argument, pick_device

import disttorch as torch
import disttorch.distributed as dist
from disttorch import nn
from disttorch.nn.parallel import DistributedDataParallel as DDP
from disttorch.utils.data import DataLoader, DistributedSampler, Subset, TensorDataset


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 4 x 4
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 2 x 2
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def load_digits(test_fraction: float = 0.2, seed: int = 0):
    """Train and test TensorDatasets (pixels scaled to [0, 1]); the same split on every rank."""
    from sklearn.datasets import load_digits as sk_digits

    data = sk_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None]  # N x 1 x 8 x 8
    y = data.target.astype(np.int64)
    order = np.random.RandomState(seed).permutation(len(y))
    n_test = int(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (TensorDataset(torch.tensor(x[train]), torch.tensor(y[train])),
            TensorDataset(torch.tensor(x[test]), torch.tensor(y[test])))


def evaluate(model, dataset, rank: int, world: int, device) -> float:
    """Accuracy over the whole test set: each rank scores its own slice, then the counts are summed."""
    shard = Subset(dataset, range(rank, len(dataset), world))
    model.eval()
    counts = torch.zeros(2, dtype=torch.float64, device=device)
    with torch.no_grad():
        for x, y in DataLoader(shard, batch_size=256):
            x, y = x.to(device), y.to(device)
            counts[0] += (model(x).argmax(1) == y).sum()
            counts[1] += len(y)
    dist.all_reduce(counts)
    model.train()
    return float(counts[0] / counts[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--epochs", type=int, default=8, help="passes over the training set")
    ap.add_argument("--batch-size", type=int, default=32, help="global batch size, split over the ranks")
    ap.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (momentum 0.9)")
    ap.add_argument("--seed", type=int, default=0, help="weights, shuffling and split")
    ap.add_argument("--backend", default=None, choices=("nccl", "mpi", "gloo"),
                    help="process-group backend (default: NCCL for cuda tensors when cupy has it, else MPI)")
    add_device_argument(ap)
    add_arguments(ap)
    args = ap.parse_args()

    dist.init_process_group(args.backend)  # under mpiexec this also makes cuda:(local rank) current
    rank, world = dist.get_rank(), dist.get_world_size()
    device = pick_device(args.device)
    torch.manual_seed(args.seed)

    train_set, test_set = load_digits(seed=args.seed)
    sampler = DistributedSampler(train_set, shuffle=True, seed=args.seed)
    loader = DataLoader(train_set, batch_size=max(1, args.batch_size // world), sampler=sampler)

    model = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(Net()).to(device))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    if rank == 0:
        print(f"training on {world} rank(s) ({device}, backend {dist.get_backend()}), {len(train_set)} train / "
              f"{len(test_set)} test images, "
              f"{len(loader)} steps per epoch", flush=True)

    start = time.perf_counter()
    log = TrainingLog(args.epochs * len(loader), args, rank)
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        total = torch.zeros(2, dtype=torch.float64, device=device)
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            value = loss.item()  # the step's one device-to-host copy
            total[0] += value * len(y)
            total[1] += len(y)
            log.step(value, opt.param_groups[0]["lr"], len(y) * world)
        dist.all_reduce(total)
        log.write(f"epoch {epoch + 1}: train loss {float(total[0] / total[1]):.4f}")
    log.close()

    accuracy = evaluate(model, test_set, rank, world, device)
    if rank == 0:
        print(f"test accuracy: {100 * accuracy:.2f}% ({time.perf_counter() - start:.1f} s)", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
