"""``disttorchrun``'s command line: torchrun's options mapped onto the MPI launcher (or srun) that is installed."""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from dataclasses import dataclass, field

from .. import __version__  # the package's __init__ is light: this imports no framework module
from . import mpi
from .mpi import LaunchError

BOOTSTRAP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bootstrap.py")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

DESCRIPTION = """\
Start a disttorch (or any Python) program on N ranks through the MPI launcher that is installed
(MPICH's Hydra from the `mpich` wheel, Open MPI or Intel MPI) or through `srun` inside a SLURM
allocation. The ranks are MPI processes: the script's disttorch.distributed.init_process_group()
reads rank and size from MPI. Every rank also gets torchrun's environment (RANK, LOCAL_RANK,
WORLD_SIZE, LOCAL_WORLD_SIZE) and DISTTORCH_RESTART_COUNT; its output lines are prefixed
"[rank N] ". When one rank fails, the whole job is stopped and the failing rank is reported."""

EPILOG = """\
examples:
  disttorchrun --nproc-per-node 4 train.py --epochs 10
  disttorchrun --nproc-per-node 2 -m mypackage.train
  disttorchrun --hosts node1:4,node2:4 train.py          # 8 ranks on two machines
  disttorchrun --nnodes 2 --nproc-per-node 4 --hostfile hosts.txt train.py
  disttorchrun --max-restarts 3 --log-dir logs train.py  # relaunch after a failure, per-rank logs
  disttorchrun --dry-run --nproc-per-node 2 train.py     # print the command, run nothing
  srun/sbatch: inside an allocation `disttorchrun train.py` runs one rank per SLURM task.

without disttorchrun:
  mpiexec -n 4 python train.py   and   srun python train.py   work as well; use
  mpiexec -n 4 python -m disttorch.launcher.bootstrap train.py   for torchrun's variables and prefixes."""


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="disttorchrun", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"disttorchrun (disttorch {__version__})")
    g = p.add_argument_group("ranks and hosts")
    g.add_argument("--nproc-per-node", "--nproc_per_node", metavar="N|auto", default=None,
                   help="ranks per machine; 'auto': one per GPU when cuda is present, else one per core "
                        "(default: 1, or the SLURM allocation's tasks inside one)")
    g.add_argument("--nnodes", type=int, default=None, metavar="M",
                   help="number of machines (default: the number of hosts given, else 1)")
    g.add_argument("--hosts", "-H", default=None, metavar="HOST[:SLOTS],...",
                   help="machines to run on, with optional rank counts, e.g. node1:4,node2:4")
    g.add_argument("--hostfile", default=None, metavar="FILE",
                   help="file of hosts, one per line: 'host', 'host:4' or 'host slots=4'")
    g.add_argument("--launcher", default="auto", choices=("auto", *mpi.KINDS),
                   help="process launcher to use (default auto: srun inside a SLURM allocation, else the "
                        "mpiexec next to this Python or on PATH, else a single local process)")
    g.add_argument("--mpiexec", default=None, metavar="PATH", help="use this mpiexec/mpirun executable")
    g.add_argument("--mpi-args", "--mpi_args", default="", metavar='"ARGS"',
                   help="extra arguments passed to mpiexec / mpirun / srun as they are (quoted, one string)")
    g = p.add_argument_group("failures and output")
    g.add_argument("--max-restarts", "--max_restarts", type=int, default=0, metavar="K",
                   help="relaunch the whole job up to K times after a failure; DISTTORCH_RESTART_COUNT "
                        "tells the script which attempt it is (resume from a checkpoint then)")
    g.add_argument("--log-dir", "--log_dir", default=None, metavar="DIR",
                   help="write each rank's output to DIR/attempt_<k>/<rank>/{stdout,stderr}.log instead "
                        "of the console (see --tee)")
    g.add_argument("--tee", nargs="?", const=3, default=0, type=int, choices=(0, 1, 2, 3), metavar="{1,2,3}",
                   help="with --log-dir, also show stdout (1), stderr (2) or both (3, the default) on the console")
    g.add_argument("--threads-per-rank", "--threads_per_rank", type=int, default=None, metavar="T",
                   help="BLAS/OpenMP threads per rank, exported as " + ", ".join(THREAD_VARS)
                        + " (default: cores // ranks per machine, unless OMP_NUM_THREADS is already set)")
    g.add_argument("--dry-run", "--dry_run", action="store_true",
                   help="print the exact command and environment, run nothing")
    p.add_argument("-m", "--module", action="store_true",
                   help="run the target as a module (python -m), like torchrun's -m")
    p.add_argument("script", nargs="?", help="the training script (or module with -m)")
    p.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments for the script")
    return p


@dataclass
class Job:
    """Everything needed to start each attempt of the job."""
    kind: str
    exe: str | None
    nprocs: int | None
    nproc_per_node: int | None
    nnodes: int | None
    hosts: list[mpi.Host] | None
    rank_env: dict[str, str]
    mpi_args: list[str]
    target: list[str]
    oversubscribe: bool
    max_restarts: int
    log_dir: str | None
    tee: int
    run_root: str
    notes: list[str] = field(default_factory=list)

    def env_for(self, attempt: int) -> dict[str, str]:
        env = dict(self.rank_env)
        env["DISTTORCH_RESTART_COUNT"] = str(attempt)
        env["DISTTORCH_RUN_DIR"] = os.path.join(self.run_root, f"attempt_{attempt}")
        return env

    def command(self, attempt: int) -> list[str]:
        return mpi.build_command(self.kind, self.exe, nprocs=self.nprocs, nproc_per_node=self.nproc_per_node,
                                 nnodes=self.nnodes, hosts=self.hosts, env=self.env_for(attempt),
                                 mpi_args=self.mpi_args, target=self.target, oversubscribe=self.oversubscribe)


def local_cores(env: dict) -> int:
    slurm = env.get("SLURM_CPUS_ON_NODE", "")
    if slurm.isdigit():
        return int(slurm)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def gpu_count() -> int:
    from .bootstrap import cuda_device_count  # only for --nproc-per-node auto

    return cuda_device_count()


def _slurm_tasks_per_node(env: dict) -> int | None:
    spec = env.get("SLURM_NTASKS_PER_NODE") or env.get("SLURM_TASKS_PER_NODE", "").split("(")[0].split(",")[0]
    return int(spec) if spec and spec.isdigit() else None


def plan(args: argparse.Namespace, env: dict | None = None) -> Job:
    env = dict(os.environ if env is None else env)
    if not args.script:
        raise LaunchError("no script given: disttorchrun [options] train.py [args...]  (see --help)")
    if args.hosts and args.hostfile:
        raise LaunchError("give --hosts or --hostfile, not both")
    if args.max_restarts < 0:
        raise LaunchError("--max-restarts must be >= 0")
    if args.threads_per_rank is not None and args.threads_per_rank < 1:
        raise LaunchError("--threads-per-rank must be >= 1")
    kind, exe = mpi.detect(args.launcher, args.mpiexec, env)
    hosts = mpi.parse_hosts(args.hosts) if args.hosts else mpi.parse_hostfile(args.hostfile) if args.hostfile else None
    cores = local_cores(env)
    notes: list[str] = []

    ppn: int | None
    if args.nproc_per_node is None:
        ppn = None
    elif args.nproc_per_node == "auto":
        gpus = gpu_count()
        ppn = gpus if gpus else cores
        notes.append(f"--nproc-per-node auto: {ppn} ({'GPUs' if gpus else 'cores'})")
    else:
        try:
            ppn = int(args.nproc_per_node)
        except ValueError:
            raise LaunchError(f"--nproc-per-node must be a number or 'auto', not {args.nproc_per_node!r}") from None
        if ppn < 1:
            raise LaunchError("--nproc-per-node must be >= 1")
    nnodes = args.nnodes
    if nnodes is not None and nnodes < 1:
        raise LaunchError("--nnodes must be >= 1")
    if hosts:
        if nnodes is not None and nnodes != len(hosts):
            raise LaunchError(f"--nnodes {nnodes} but {len(hosts)} hosts given")
        nnodes = len(hosts)

    if kind == mpi.SRUN:
        nprocs = ppn * nnodes if ppn is not None and nnodes is not None else None
        per_node = ppn or _slurm_tasks_per_node(env) or 1
    else:
        if hosts:
            if ppn is not None:
                nprocs = ppn * len(hosts)
            elif all(h.slots for h in hosts):
                nprocs = sum(h.slots for h in hosts)
            else:
                nprocs = len(hosts) if all(h.slots is None for h in hosts) else None
                if nprocs is None:
                    raise LaunchError("give every host a slot count (host:N) or use --nproc-per-node")
            per_node = ppn or max(h.slots or 1 for h in hosts)
        else:
            if (nnodes or 1) > 1:
                raise LaunchError(f"--nnodes {nnodes} needs the machines: --hosts or --hostfile "
                                  "(or run inside a SLURM allocation)")
            nprocs = ppn or 1
            per_node = nprocs
        if kind == mpi.LOCAL and nprocs > 1:
            raise LaunchError(f"{nprocs} ranks need an MPI launcher and none was found: pip install mpich "
                              "(or mpi4py with a system MPI), or use --mpiexec PATH")

    rank_env = {"DISTTORCH_LAUNCHER": "1", "DISTTORCH_MAX_RESTARTS": str(args.max_restarts)}
    if args.threads_per_rank is not None:
        threads = args.threads_per_rank
    elif "OMP_NUM_THREADS" in env:
        threads = None
        notes.append("OMP_NUM_THREADS is set: thread counts left as they are")
    else:
        threads = max(1, cores // max(1, per_node))
    if threads is not None:
        rank_env.update({name: str(threads) for name in THREAD_VARS})

    target = [sys.executable, BOOTSTRAP] + (["-m"] if args.module else []) + [args.script, *args.script_args]
    run_root = os.path.join(tempfile.gettempdir(), "disttorchrun-XXXXXXXX")  # run_job makes a private one
    return Job(kind=kind, exe=exe, nprocs=nprocs, nproc_per_node=ppn, nnodes=args.nnodes, hosts=hosts,
               rank_env=rank_env, mpi_args=shlex.split(args.mpi_args), target=target,
               oversubscribe=not hosts and nprocs is not None and nprocs > cores, max_restarts=args.max_restarts,
               log_dir=args.log_dir, tee=args.tee, run_root=run_root, notes=notes)


def describe(job: Job) -> str:
    """The dry run's text: launcher, environment of the ranks and the exact command of the first attempt."""
    lines = [f"disttorchrun: launcher: {mpi.NAMES[job.kind]}" + (f" ({job.exe})" if job.exe else "")]
    lines += [f"disttorchrun: {note}" for note in job.notes]
    ranks = "the SLURM allocation's tasks" if job.nprocs is None else str(job.nprocs)
    lines.append(f"disttorchrun: ranks: {ranks}; restarts: up to {job.max_restarts}")
    lines.append("environment:")
    lines += [f"  {name}={value}" for name, value in job.env_for(0).items()]
    lines.append("command:")
    lines.append("  " + shlex.join(job.command(0)))
    return "\n".join(lines)


def _normalize(argv: list[str]) -> list[str]:
    """A bare ``--tee`` (before the script) means ``--tee 3`` (keep argparse from taking the script as its
    value), and ``--mpi-args "-x y"`` is one value even though it starts with a dash."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg in ("--mpi-args", "--mpi_args") and i + 1 < len(out):  # its value usually starts with "-"
            out[i:i + 2] = [f"--mpi-args={out[i + 1]}"]
            continue
        if arg == "--tee" and (i + 1 == len(out) or out[i + 1] not in ("0", "1", "2", "3")):
            out.insert(i + 1, "3")
            break
        if not arg.startswith("-"):  # options end where the script begins (a script's own --tee is its own)
            prev = out[i - 1] if i else ""
            if not prev.startswith("-") or "=" in prev or prev in _FLAGS:
                break
    return out


_FLAGS = {"--dry-run", "--dry_run", "-m", "--module", "--version", "-h", "--help"}


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(_normalize(sys.argv[1:] if argv is None else argv))
    try:
        job = plan(args)
    except LaunchError as exc:
        print(f"disttorchrun: error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(describe(job))
        return 0
    from .run import run_job

    return run_job(job)
