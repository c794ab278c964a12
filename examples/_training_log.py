"""Progress, metrics and a loss curve for the training examples (imported by them; not an example itself).

- progress: a tqdm bar when tqdm is installed, else a plain line every ``print_every`` steps and at least every
  ``max_quiet`` seconds; only on rank 0, so DDP jobs show one bar;
- ``--metrics PATH``: one JSON object per logged step (step, loss, lr, throughput in samples/s, elapsed s);
- a loss-curve PNG next to the metrics file (``PATH`` with ``.png``), when matplotlib is installed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """``--help`` shows each option's default, and the docstring as it is written."""


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--metrics", metavar="PATH", default=None,
                    help="write JSON lines (step, loss, lr, throughput, elapsed) here, and a loss-curve PNG beside "
                         "it when matplotlib is installed")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")
    ap.add_argument("--print-every", type=int, default=50, help="steps between progress lines without tqdm")
    for action in ap._actions:  # options without a help text: argparse would print no default for them
        if action.help is None and action.option_strings and action.default is not argparse.SUPPRESS:
            action.help = "(default: %(default)s)"


def add_device_argument(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                    help="where the model and batches live (cuda needs cupy and a GPU)")


def pick_device(name: str) -> Any:
    """The ``torch.device`` for ``--device``: cuda means this process's current cuda device, which
    ``init_process_group`` sets to ``local_rank % device_count`` under a launcher; a clear error without a GPU."""
    import disttorch as torch

    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise SystemExit("--device cuda: no usable GPU here (cuda needs cupy, e.g. pip install "
                         "'disttorch[cuda12]', and a visible CUDA device)")
    return torch.device("cuda", torch.cuda.current_device())


class TrainingLog:
    """``log.step(loss, lr, samples)`` once per optimizer step; ``log.close()`` at the end."""

    def __init__(self, total_steps: int | None, args: argparse.Namespace, rank: int = 0, desc: str = "train",
                 max_quiet: float = 10.0) -> None:
        self.rank, self.total, self.desc, self.max_quiet = rank, total_steps, desc, max_quiet
        self.print_every = max(1, getattr(args, "print_every", 50))
        self.start = self.last_print = time.perf_counter()
        self.steps, self.samples, self.losses = 0, 0, []
        self.bar: Any = None
        self.metrics = None
        self.metrics_path = getattr(args, "metrics", None) if rank == 0 else None
        show = rank == 0 and not getattr(args, "no_progress", False)
        self.plain = show
        if show:
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                tty = sys.stderr.isatty()
                self.bar = tqdm(total=total_steps, desc=desc, unit="step", dynamic_ncols=True,
                                mininterval=0.5 if tty else max_quiet / 2, file=sys.stderr)
                self.plain = False
        if self.metrics_path:
            os.makedirs(os.path.dirname(os.path.abspath(self.metrics_path)), exist_ok=True)
            self.metrics = open(self.metrics_path, "w")

    def step(self, loss: float, lr: float, samples: int) -> None:
        self.steps += 1
        self.samples += samples
        now = time.perf_counter()
        elapsed = now - self.start
        throughput = self.samples / elapsed if elapsed > 0 else 0.0
        if self.rank != 0:
            return
        self.losses.append((self.steps, loss))
        if self.metrics is not None:
            self.metrics.write(json.dumps({"step": self.steps, "loss": loss, "lr": lr, "throughput": throughput,
                                           "elapsed": elapsed}) + "\n")
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.3g}", refresh=False)
            self.bar.update(1)
        elif self.plain and (self.steps % self.print_every == 0 or now - self.last_print >= self.max_quiet
                             or self.steps == self.total):
            of = f"/{self.total}" if self.total else ""
            print(f"{self.desc} step {self.steps}{of}: loss {loss:.4f}, lr {lr:.3g}, {throughput:.0f} samples/s, "
                  f"{elapsed:.1f} s", flush=True)
            self.last_print = now

    def write(self, line: str) -> None:
        """Print a line on rank 0 without breaking the progress bar."""
        if self.rank != 0:
            return
        if self.bar is not None:
            self.bar.write(line, file=sys.stdout)
            sys.stdout.flush()
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.metrics is not None:
            self.metrics.close()
            self.plot(os.path.splitext(self.metrics_path)[0] + ".png")

    def plot(self, path: str) -> str | None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return None
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot([s for s, _ in self.losses], [v for _, v in self.losses], lw=1)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(self.desc)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path
