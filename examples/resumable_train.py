"""Data-parallel training that survives a crash: checkpoints with disttorch.utils.resume, restarts by disttorchrun.

    disttorchrun --nproc-per-node 2 --max-restarts 3 examples/resumable_train.py --ckpt-dir ckpt
    python examples/resumable_train.py --ckpt-dir ckpt                 # one process, no MPI needed

Every ``--save-every`` steps all state is checkpointed (model, optimizer, lr scheduler, the sampler's epoch,
the position inside the epoch and every rank's random states). When a rank dies, disttorchrun stops the job
and starts it again (``--max-restarts``); the script resumes from the latest checkpoint and ends with the
same parameters, bit for bit, as a run that never stopped. ``--crash-at-step S --crash-rank R`` makes rank R
kill itself with SIGKILL at step S on the first attempt (DISTTORCH_RESTART_COUNT=0), to try it out.
"""
import argparse
import os
import signal

import numpy as np

import disttorch as torch
import disttorch.distributed as dist
from disttorch import nn
from disttorch.utils.data import DistributedSampler, TensorDataset
from disttorch.utils.resume import Checkpointer


def make_data(n: int, seed: int) -> TensorDataset:
    """A fixed toy classification set (the same on every rank)."""
    rs = np.random.RandomState(seed)
    x = rs.randn(n, 8).astype(np.float32)
    y = (x[:, :4].sum(1) > x[:, 4:].sum(1)).astype(np.int64) + 2 * (x[:, 0] > 0)
    return TensorDataset(torch.tensor(x), torch.tensor(y))


class Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """--help shows the defaults (of options with a help text) and the docstring as written."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=Formatter)
    ap.add_argument("--steps", type=int, default=20, help="optimizer steps in all")
    ap.add_argument("--batch-size", type=int, default=8, help="samples per rank per step")
    ap.add_argument("--save-every", type=int, default=4, help="steps between checkpoints")
    ap.add_argument("--keep-last", type=int, default=2, help="checkpoints kept")
    ap.add_argument("--ckpt-dir", default="checkpoints", help="checkpoint folder")
    ap.add_argument("--out", default=None, help="save the final parameters here (rank 0)")
    ap.add_argument("--seed", type=int, default=0, help="weights and data")
    ap.add_argument("--crash-at-step", type=int, default=None, help="SIGKILL one rank at this step (first attempt)")
    ap.add_argument("--crash-rank", type=int, default=1, help="the rank --crash-at-step kills")
    args = ap.parse_args()

    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    restart = int(os.environ.get("DISTTORCH_RESTART_COUNT", "0"))
    torch.manual_seed(args.seed + rank)  # every rank its own dropout masks: their random states matter
    np.random.seed(args.seed + rank)

    data = make_data(96, args.seed)
    sampler = DistributedSampler(data, shuffle=True, seed=args.seed)
    steps_per_epoch = len(sampler) // args.batch_size
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 4))
    if world > 1:
        from disttorch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.7)
    loss_fn = nn.CrossEntropyLoss()

    ckpt = Checkpointer(args.ckpt_dir, keep_last=args.keep_last, model=model, optimizer=opt, scheduler=sched,
                        sampler=sampler)
    state = ckpt.resume()
    step, epoch, position = (state["step"], state["epoch"], state["position"]) if state else (0, 0, 0)
    if rank == 0:
        where = f"resumed from {os.path.basename(state['path'])} at step {step}" if state else "fresh start"
        print(f"attempt {restart}: {world} rank(s), {where}", flush=True)

    while step < args.steps:
        if position >= steps_per_epoch:
            epoch, position = epoch + 1, 0
        sampler.set_epoch(epoch)
        order = list(sampler)
        while position < steps_per_epoch and step < args.steps:
            idx = torch.tensor(order[position * args.batch_size:(position + 1) * args.batch_size])
            x, y = data.tensors[0][idx], data.tensors[1][idx]
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            step, position = step + 1, position + 1
            if restart == 0 and step == args.crash_at_step and rank == args.crash_rank:
                print(f"crashing at step {step} (SIGKILL)", flush=True)  # disttorchrun prefixes "[rank N] "
                os.kill(os.getpid(), signal.SIGKILL)
            if rank == 0:
                print(f"step {step}: epoch {epoch} loss {loss.item():.5f}", flush=True)
            if step % args.save_every == 0:
                ckpt.save(step, epoch=epoch, position=position)

    if rank == 0 and args.out:
        plain = model.module if world > 1 else model
        torch.save({name: p.detach() for name, p in plain.named_parameters()}, args.out)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
