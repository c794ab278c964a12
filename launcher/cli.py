"""``disttorchrun``'s command line: torchrun's options mapped onto the MPI launcher (or srun) that is installed."""
from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sys
import tempfile
import uuid
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
WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, ROLE_RANK, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_*...);
its output lines are prefixed "[rank N] ". When one rank fails, the whole job is stopped and the
failing rank is reported. torchrun's command lines work unchanged: replace torchrun by disttorchrun."""

EPILOG = """\
examples:
  disttorchrun --nproc-per-node 4 train.py --epochs 10
  disttorchrun --standalone --nproc_per_node=2 train.py  # a torchrun line, unchanged
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
    g.add_argument("--nproc-per-node", "--nproc_per_node", metavar="N|auto|cpu|gpu", default=None,
                   help="ranks per machine; 'cpu': one per core, 'gpu': one per GPU, 'auto': one per GPU when cuda "
                        "is present, else one per core (default: 1, or the SLURM allocation's tasks inside one)")
    g.add_argument("--nnodes", default=None, metavar="M|MIN:MAX",
                   help="number of machines (default: the number of hosts given, else 1); torchrun's elastic "
                        "range MIN:MAX is accepted (srun gets --nodes=MIN-MAX; otherwise the hosts given must fit)")
    g.add_argument("--hosts", "-H", default=None, metavar="HOST[:SLOTS],...",
                   help="machines to run on, with optional rank counts, e.g. node1:4,node2:4")
    g.add_argument("--hostfile", default=None, metavar="FILE",
                   help="file of hosts, one per line: 'host', 'host:4' or 'host slots=4'")
    g.add_argument("--standalone", action="store_true",
                   help="torchrun's single-machine mode: every rank on this machine (MPI connects them; "
                        "no rendezvous server is started)")
    g.add_argument("--master-addr", "--master_addr", default=None, metavar="ADDR",
                   help="exported to the ranks as MASTER_ADDR (default: the first host, else 127.0.0.1)")
    g.add_argument("--master-port", "--master_port", type=int, default=None, metavar="PORT",
                   help="exported to the ranks as MASTER_PORT (default: a free port on one machine, else 29500)")
    g.add_argument("--launcher", default="auto", choices=("auto", *mpi.KINDS),
                   help="process launcher to use (default auto: srun inside a SLURM allocation, else the "
                        "mpiexec next to this Python or on PATH, else a single local process)")
    g.add_argument("--mpiexec", default=None, metavar="PATH", help="use this mpiexec/mpirun executable")
    g.add_argument("--mpi-args", "--mpi_args", default="", metavar='"ARGS"',
                   help="extra arguments passed to mpiexec / mpirun / srun as they are (one string, split like "
                        "a shell would: --mpi-args \"--mpi=pmi2\" or --mpi-args=--mpi=pmi2)")
    g = p.add_argument_group("failures and output")
    g.add_argument("--max-restarts", "--max_restarts", type=int, default=0, metavar="K",
                   help="relaunch the whole job up to K times after a failure; TORCHELASTIC_RESTART_COUNT "
                        "(and DISTTORCH_RESTART_COUNT) tell the script which attempt it is")
    g.add_argument("--log-dir", "--log_dir", default=None, metavar="DIR",
                   help="write each rank's output to DIR/attempt_<k>/<rank>/{stdout,stderr}.log instead "
                        "of the console (see --tee, --redirects)")
    g.add_argument("--redirects", "-r", default=None, metavar="SPEC",
                   help="with --log-dir: which streams go to the files only, as torchrun: 1 stdout, 2 stderr, "
                        "3 both, or per local rank '0:3,1:2'; other streams stay on the console "
                        "(default with --log-dir: 3)")
    g.add_argument("--tee", "-t", nargs="?", const="3", default=None, metavar="SPEC",
                   help="with --log-dir, also show these streams on the console: 1 stdout, 2 stderr, "
                        "3 both (a bare --tee), or per local rank '0:3,1:1'")
    g.add_argument("--local-ranks-filter", "--local_ranks_filter", default=None, metavar="R,R,...",
                   help="show only these local ranks' output on the console (log files keep everything)")
    g.add_argument("--threads-per-rank", "--threads_per_rank", type=int, default=None, metavar="T",
                   help="BLAS/OpenMP threads per rank, exported as " + ", ".join(THREAD_VARS)
                        + " (default: cores // ranks per machine, unless OMP_NUM_THREADS is already set)")
    g.add_argument("--dry-run", "--dry_run", action="store_true",
                   help="print the exact command and environment, run nothing")
    g = p.add_argument_group("the program")
    g.add_argument("-m", "--module", action="store_true",
                   help="run the target as a module (python -m), like torchrun's -m")
    g.add_argument("--no-python", "--no_python", action="store_true",
                   help="the target is an executable, not a Python script: run it as it is")
    g.add_argument("--run-path", "--run_path", action="store_true",
                   help="accepted: the script always runs with runpy.run_path in the rank's own interpreter")
    g.add_argument("--role", default="default", help="exported as ROLE_NAME (default: default)")
    g = p.add_argument_group("torchrun options with no effect here (accepted, noted, ignored: MPI or srun "
                             "starts, connects and watches the ranks)")
    g.add_argument("--node-rank", "--node_rank", type=int, default=0, metavar="N",
                   help="one disttorchrun starts every machine (--hosts, --hostfile or SLURM); run it once")
    for names, metavar in IGNORED_WITH_VALUE:
        g.add_argument(*names, default=None, metavar=metavar, help="ignored")
    g.add_argument("--virtual-local-rank", "--virtual_local_rank", action="store_true", help="ignored")
    p.add_argument("script", nargs="?", help="the training script (or module with -m, executable with --no-python)")
    p.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments for the script")
    return p


# torchrun options that have no meaning when MPI's launcher (or srun) starts and connects the ranks
IGNORED_WITH_VALUE = (
    (("--rdzv-backend", "--rdzv_backend"), "BACKEND"),
    (("--rdzv-endpoint", "--rdzv_endpoint"), "HOST:PORT"),
    (("--rdzv-id", "--rdzv_id"), "ID"),
    (("--rdzv-conf", "--rdzv_conf"), "K=V,..."),
    (("--monitor-interval", "--monitor_interval"), "S"),
    (("--start-method", "--start_method"), "METHOD"),
    (("--event-log-handler", "--event_log_handler"), "NAME"),
    (("--local-addr", "--local_addr"), "ADDR"),
    (("--logs-specs", "--logs_specs"), "NAME"),
    (("--numa-binding", "--numa_binding"), "MODE"),
    (("--signals-to-handle", "--signals_to_handle"), "SIGNALS"),
    (("--shutdown-timeout", "--shutdown_timeout"), "S"),
    (("--duplicate-stdout-filters", "--duplicate_stdout_filters"), "FILTERS"),
    (("--duplicate-stderr-filters", "--duplicate_stderr_filters"), "FILTERS"),
)
WHY_IGNORED = {
    "rdzv_backend": "MPI's launcher connects the ranks (no rendezvous)",
    "rdzv_endpoint": "MPI's launcher connects the ranks (no rendezvous)",
    "rdzv_conf": "MPI's launcher connects the ranks (no rendezvous)",
    "monitor_interval": "disttorchrun watches the ranks every 0.1 s",
    "start_method": "the ranks are processes of the MPI launcher, not multiprocessing children",
    "event_log_handler": "no torchelastic events are emitted",
    "local_addr": "MPI picks the address (--mpi-args \"-iface IFACE\" selects a network with MPICH)",
    "logs_specs": "use --log-dir, --redirects and --tee",
    "numa_binding": "bind with the MPI launcher instead, e.g. --mpi-args \"-bind-to core\"",
    "signals_to_handle": "SIGINT, SIGTERM and SIGHUP are forwarded to the MPI launcher",
    "shutdown_timeout": "ranks still alive 5 s after a stop are killed",
    "duplicate_stdout_filters": "not supported",
    "duplicate_stderr_filters": "not supported",
    "virtual_local_rank": "LOCAL_RANK is the rank on its machine; the cuda device is LOCAL_RANK % devices",
}
_STD_SPEC = re.compile(r"[0-3]|\d+:[0-3](,\d+:[0-3])*")


def parse_std(spec: str | None, option: str) -> int | dict[int, int] | None:
    """torchrun's stream selection: ``"3"`` (all ranks) or ``"0:1,1:2"`` (per local rank; others 0)."""
    if spec is None:
        return None
    if not _STD_SPEC.fullmatch(spec.strip()):
        raise LaunchError(f"{option} {spec!r}: give 0 (none), 1 (stdout), 2 (stderr), 3 (both), "
                          "or per local rank, e.g. 0:3,1:1")
    spec = spec.strip()
    if ":" not in spec:
        return int(spec)
    return {int(rank): int(value) for rank, value in (item.split(":") for item in spec.split(","))}


def _std_bits(value: int | dict[int, int] | None, local_rank: int) -> int:
    if value is None:
        return 0
    return value if isinstance(value, int) else value.get(local_rank, 0)


def parse_nnodes(spec: str | None) -> tuple[int, int] | None:
    """``"2"`` -> (2, 2); torchrun's elastic ``"1:4"`` -> (1, 4)."""
    if spec is None:
        return None
    parts = spec.split(":")
    try:
        low, high = (int(parts[0]), int(parts[-1])) if len(parts) <= 2 else (0, -1)
    except ValueError:
        low, high = 0, -1
    if low < 1 or high < low:
        raise LaunchError(f"--nnodes must be a number >= 1 or MIN:MAX with 1 <= MIN <= MAX, not {spec!r}")
    return low, high


def first_slurm_node(nodelist: str) -> str | None:
    """The first host of a SLURM node list: ``gpu[03-08,12],cpu1`` -> ``gpu03``."""
    m = re.match(r"([^,\[]+)(?:\[(\d+))?", nodelist.strip())
    return (m.group(1) + (m.group(2) or "")) if m else None


def free_port() -> int:
    """A TCP port that is free on this machine now (what torchrun's standalone mode picks too)."""
    import socket

    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


@dataclass
class Job:
    """Everything needed to start each attempt of the job."""
    kind: str
    exe: str | None
    nprocs: int | None
    nproc_per_node: int | None
    nnodes: int | str | None  # a str only for srun's --nodes=MIN-MAX
    hosts: list[mpi.Host] | None
    rank_env: dict[str, str]
    mpi_args: list[str]
    target: list[str]
    oversubscribe: bool
    max_restarts: int
    log_dir: str | None
    tee: int | dict[int, int] | None
    run_root: str
    notes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # one line per torchrun option without effect here
    redirects: int | dict[int, int] | None = None
    local_ranks_filter: set[int] | None = None
    per_node: int | None = None  # ranks per machine, for a rank's local rank (block placement)
    script_check: tuple[str, str] | None = None  # (kind, name) to look for before starting anything

    def env_for(self, attempt: int) -> dict[str, str]:
        env = dict(self.rank_env)
        env["DISTTORCH_RESTART_COUNT"] = env["TORCHELASTIC_RESTART_COUNT"] = str(attempt)
        env["DISTTORCH_RUN_DIR"] = os.path.join(self.run_root, f"attempt_{attempt}")
        return env

    def command(self, attempt: int) -> list[str]:
        return mpi.build_command(self.kind, self.exe, nprocs=self.nprocs, nproc_per_node=self.nproc_per_node,
                                 nnodes=self.nnodes, hosts=self.hosts, env=self.env_for(attempt),
                                 mpi_args=self.mpi_args, target=self.target, oversubscribe=self.oversubscribe)

    def local_rank_of(self, rank: int) -> int:
        """The rank's index on its machine, for ranks placed in blocks (what MPI and srun do by default)."""
        if self.hosts and all(h.slots for h in self.hosts) and self.nproc_per_node is None:
            for host in self.hosts:
                if rank < host.slots:
                    return rank
                rank -= host.slots
        return rank % self.per_node if self.per_node else rank

    def file_streams(self, rank: int) -> int:
        """Bits (1 stdout, 2 stderr) of the rank's streams that go to its log files."""
        if not self.log_dir:
            return 0
        local = self.local_rank_of(rank)
        if self.redirects is None:
            return 3
        return (_std_bits(self.redirects, local) | _std_bits(self.tee, local)) & 3

    def console_streams(self, rank: int) -> int:
        """Bits of the rank's streams shown on the console."""
        local = self.local_rank_of(rank)
        if self.local_ranks_filter is not None and local not in self.local_ranks_filter:
            return 0
        if not self.log_dir:
            return 3
        tee = _std_bits(self.tee, local)
        if self.redirects is None:
            return tee & 3
        return 3 & ~(_std_bits(self.redirects, local) & ~tee)


def local_cores(env: dict) -> int:
    slurm = env.get("SLURM_CPUS_ON_NODE", "")
    if slurm.isdigit():
        return int(slurm)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def gpu_count() -> int:
    from .bootstrap import cuda_device_count  # only for --nproc-per-node auto / gpu

    return cuda_device_count()


def _slurm_tasks_per_node(env: dict) -> int | None:
    spec = env.get("SLURM_NTASKS_PER_NODE") or env.get("SLURM_TASKS_PER_NODE", "").split("(")[0].split(",")[0]
    return int(spec) if spec and spec.isdigit() else None


def _nproc_per_node(value: str | None, cores: int, notes: list[str]) -> int | None:
    if value is None:
        return None
    if value in ("auto", "cpu", "gpu", "xpu"):
        gpus = gpu_count() if value in ("auto", "gpu") else 0
        if value in ("gpu", "xpu") and not gpus:
            raise LaunchError(f"--nproc-per-node {value}: no {'cuda' if value == 'gpu' else value} device is "
                              "available" + (" (cupy sees none)" if value == "gpu" else ""))
        ppn = gpus if gpus else cores
        notes.append(f"--nproc-per-node {value}: {ppn} ({'GPUs' if gpus else 'cores'})")
        return ppn
    try:
        ppn = int(value)
    except ValueError:
        raise LaunchError(f"--nproc-per-node must be a number, 'cpu', 'gpu' or 'auto', not {value!r}") from None
    if ppn < 1:
        raise LaunchError("--nproc-per-node must be >= 1")
    return ppn


def _ignored_notes(args: argparse.Namespace) -> list[str]:
    lines = []
    for names, _ in IGNORED_WITH_VALUE:
        dest = names[1].lstrip("-")
        value = getattr(args, dest)
        if value is not None and dest != "rdzv_id":
            lines.append(f"{names[0]} {value} ignored: {WHY_IGNORED[dest]}")
    if args.virtual_local_rank:
        lines.append(f"--virtual-local-rank ignored: {WHY_IGNORED['virtual_local_rank']}")
    if args.node_rank:
        lines.append(f"--node-rank {args.node_rank} ignored: one disttorchrun starts the ranks of every machine "
                     "(--hosts, --hostfile or a SLURM allocation); run it once, not once per machine")
    if (args.tee is not None or args.redirects is not None) and not args.log_dir:
        which = " and ".join(o for o, v in (("--redirects", args.redirects), ("--tee", args.tee)) if v is not None)
        lines.append(f"{which} ignored without --log-dir: all output goes to the console")
    return lines


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
    if args.no_python and args.module and not args.run_path:
        raise LaunchError("don't use both --no-python and --module (-m)")
    redirects, tee = parse_std(args.redirects, "--redirects"), parse_std(args.tee, "--tee")
    ranks_filter = None
    if args.local_ranks_filter is not None:
        try:
            ranks_filter = {int(r) for r in args.local_ranks_filter.split(",")}
        except ValueError:
            raise LaunchError("--local-ranks-filter must be a comma-separated list of integers, e.g. 0,1,2") from None
    nnodes_range = parse_nnodes(args.nnodes)
    if args.standalone:
        if args.hosts or args.hostfile:
            raise LaunchError("--standalone runs every rank on this machine: drop --hosts / --hostfile")
        if nnodes_range and nnodes_range[0] > 1:
            raise LaunchError(f"--standalone runs on one machine, but --nnodes {args.nnodes} asks for more")
        nnodes_range = (1, 1)
    kind, exe = mpi.detect(args.launcher, args.mpiexec, env)
    hosts = mpi.parse_hosts(args.hosts) if args.hosts else mpi.parse_hostfile(args.hostfile) if args.hostfile else None
    cores = local_cores(env)
    notes: list[str] = []
    ignored = _ignored_notes(args)

    ppn = _nproc_per_node(args.nproc_per_node, cores, notes)
    if args.standalone and ppn is None:
        ppn = 1  # torchrun's default, also inside a SLURM allocation
    nnodes: int | str | None = None
    if nnodes_range is not None:
        low, high = nnodes_range
        if hosts:
            if not low <= len(hosts) <= high:
                raise LaunchError(f"--nnodes {args.nnodes} but {len(hosts)} hosts given")
            nnodes = len(hosts)
        elif low == high:
            nnodes = low
        elif kind == mpi.SRUN:
            nnodes = f"{low}-{high}"  # srun takes the same range
        elif low == 1:
            nnodes = 1
            ignored.append(f"--nnodes {args.nnodes}: no elastic membership under MPI; running on this machine "
                           "(give --hosts or --hostfile for more)")
        else:
            nnodes = low
    if hosts:
        nnodes = len(hosts)

    if kind == mpi.SRUN:
        nprocs = ppn * nnodes if ppn is not None and isinstance(nnodes, int) else None
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
                raise LaunchError(f"--nnodes {args.nnodes} needs the machines: --hosts or --hostfile (or run inside "
                                  "a SLURM allocation); one disttorchrun starts the ranks of every machine")
            nprocs = ppn or 1
            per_node = nprocs
        if kind == mpi.LOCAL and nprocs > 1:
            raise LaunchError(f"{nprocs} ranks need an MPI launcher and none was found: pip install mpich "
                              "(or mpi4py with a system MPI), or use --mpiexec PATH")

    one_machine = not hosts and kind != mpi.SRUN
    if args.master_addr:
        master_addr = args.master_addr
    elif hosts:
        master_addr = hosts[0].name
    elif kind == mpi.SRUN and first_slurm_node(env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST") or ""):
        master_addr = first_slurm_node(env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST") or "")
    else:
        master_addr = "127.0.0.1"
    master_port = args.master_port if args.master_port is not None else free_port() if one_machine else 29500
    run_id = args.rdzv_id if args.rdzv_id and not args.standalone else str(uuid.uuid4())
    rank_env = {"DISTTORCH_LAUNCHER": "1", "DISTTORCH_MAX_RESTARTS": str(args.max_restarts),
                "MASTER_ADDR": master_addr, "MASTER_PORT": str(master_port), "ROLE_NAME": args.role,
                "TORCHELASTIC_MAX_RESTARTS": str(args.max_restarts), "TORCHELASTIC_RUN_ID": run_id}
    if args.threads_per_rank is not None:
        threads = args.threads_per_rank
    elif "OMP_NUM_THREADS" in env:
        threads = None
        notes.append("OMP_NUM_THREADS is set: thread counts left as they are")
    else:
        threads = max(1, cores // max(1, per_node))
    if threads is not None:
        rank_env.update({name: str(threads) for name in THREAD_VARS})

    python = env.get("PYTHON_EXEC") or sys.executable
    if args.run_path or not args.no_python:
        how = ["-m"] if args.module else []
        check = ("module", args.script) if args.module else ("script", args.script)
    else:
        how, check = ["--no-python"], ("program", args.script)
    target = [python, BOOTSTRAP, *how, args.script, *args.script_args]
    run_root = os.path.join(tempfile.gettempdir(), "disttorchrun-XXXXXXXX")  # run_job makes a private one
    return Job(kind=kind, exe=exe, nprocs=nprocs, nproc_per_node=ppn, nnodes=nnodes if nnodes_range else None,
               hosts=hosts, rank_env=rank_env, mpi_args=shlex.split(args.mpi_args), target=target,
               oversubscribe=not hosts and nprocs is not None and nprocs > cores, max_restarts=args.max_restarts,
               log_dir=args.log_dir, tee=tee, run_root=run_root, notes=notes, ignored=ignored, redirects=redirects,
               local_ranks_filter=ranks_filter, per_node=per_node, script_check=check)


def missing_target(job: Job, cwd: str | None = None) -> str | None:
    """Why the script, module or program cannot be started, checked here before any rank starts (None: fine)."""
    if job.script_check is None:
        return None
    what, name = job.script_check
    cwd = cwd or os.getcwd()
    if what == "script":
        path = os.path.join(cwd, name)
        if os.path.isdir(path):
            if os.path.isfile(os.path.join(path, "__main__.py")):
                return None
            return f"can't find '__main__.py' in {name!r} (a folder)"
        return None if os.path.isfile(path) else f"can't open file {name!r}: no such file (looked in {cwd})"
    if what == "module":
        import importlib.machinery

        top = name.split(".")[0]
        if top in sys.builtin_module_names:
            return None
        search = [cwd, *(p for p in sys.path[1:] if p)]
        if importlib.machinery.PathFinder.find_spec(top, search) is None:
            return f"no module named {top!r} (looked in {cwd} and sys.path)"
        return None
    if os.sep in name:
        ok = os.path.isfile(os.path.join(cwd, name)) and os.access(os.path.join(cwd, name), os.X_OK)
    else:
        ok = shutil.which(name) is not None
    return None if ok else f"--no-python: {name!r} is not an executable file (nor on PATH)"


def describe(job: Job) -> str:
    """The dry run's text: launcher, environment of the ranks and the exact command of the first attempt."""
    lines = [f"disttorchrun: launcher: {mpi.NAMES[job.kind]}" + (f" ({job.exe})" if job.exe else "")]
    lines += [f"disttorchrun: {note}" for note in job.notes + job.ignored]
    ranks = "the SLURM allocation's tasks" if job.nprocs is None else str(job.nprocs)
    lines.append(f"disttorchrun: ranks: {ranks}; restarts: up to {job.max_restarts}")
    lines.append("environment:")
    lines += [f"  {name}={value}" for name, value in job.env_for(0).items()]
    lines.append("command:")
    lines.append("  " + shlex.join(job.command(0)))
    return "\n".join(lines)


_STD_VALUE = re.compile(r"[0-3]|\d+:[0-3](,\d+:[0-3])*")


def split_argv(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[list[str], str | None, list[str]]:
    """``(options, script, script_args)``: the options end where the script begins; everything after it is
    the script's own (its ``--tee`` is its own). An option's value is glued to it (``--mpi-args=--mpi=pmi2``)
    so that argparse never mistakes a value that starts with ``-`` for an option; a bare ``--tee`` (or one
    followed by something that is no stream spec) means ``--tee 3``."""
    actions = parser._option_string_actions
    longs = [name for name in actions if name.startswith("--")]
    options: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        name, eq, _ = arg.partition("=")
        if name.startswith("--"):
            found = {actions[n] for n in longs if n == name} or {actions[n] for n in longs if n.startswith(name)}
            action = found.pop() if len(found) == 1 else None
        else:
            action = actions.get(arg[:2])
            if action is not None and len(arg) > 2:  # -t3, -Hnode1:2: the value is attached
                options.append(arg)
                i += 1
                continue
        if action is None or action.nargs == 0 or eq:  # unknown (argparse says so), a flag, or --opt=value
            options.append(arg)
            i += 1
            continue
        glue = "=" if name.startswith("--") else ""
        if action.nargs == "?":  # --tee [SPEC]
            if i + 1 < len(argv) and _STD_VALUE.fullmatch(argv[i + 1]):
                options.append(f"{name}{glue}{argv[i + 1]}")
                i += 2
            else:
                options.append(f"{name}{glue}{action.const}")
                i += 1
            continue
        if i + 1 < len(argv):
            options.append(f"{name}{glue}{argv[i + 1]}")
            i += 2
        else:
            options.append(arg)  # argparse reports the missing value
            i += 1
    script = argv[i] if i < len(argv) else None
    return options, script, argv[i + 1:]


# torchrun's options that take their default from PET_<DEST> in the environment (torchrun's own rule)
PET_OPTIONS = ("nnodes", "nproc_per_node", "rdzv_backend", "rdzv_endpoint", "rdzv_id", "rdzv_conf", "standalone",
               "max_restarts", "monitor_interval", "start_method", "event_log_handler", "role", "module", "no_python",
               "run_path", "log_dir", "redirects", "tee", "local_ranks_filter", "duplicate_stdout_filters",
               "duplicate_stderr_filters", "node_rank", "master_addr", "master_port", "local_addr",
               "signals_to_handle", "shutdown_timeout", "virtual_local_rank")


def apply_pet_defaults(parser: argparse.ArgumentParser, env: dict) -> None:
    """``PET_NPROC_PER_NODE=2 disttorchrun train.py`` as with torchrun: the command line still wins."""
    for action in parser._actions:
        value = env.get(f"PET_{action.dest.upper()}") if action.dest in PET_OPTIONS else None
        if value is None:
            continue
        if action.nargs == 0:  # a flag: PET_STANDALONE=1
            try:
                action.default = bool(int(value))
            except ValueError:
                raise LaunchError(f"PET_{action.dest.upper()}={value!r}: give 0 or 1") from None
        else:
            action.default = value  # a string: argparse converts it with the option's type


def parse_args(argv: list[str], env: dict | None = None) -> argparse.Namespace:
    parser = make_parser()
    apply_pet_defaults(parser, os.environ if env is None else env)
    options, script, rest = split_argv(parser, argv)
    args = parser.parse_args(options + ([script] if script is not None else []))
    args.script_args = rest
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        job = plan(args)
        problem = None if args.dry_run else missing_target(job)
    except LaunchError as exc:
        problem = str(exc)
    if problem:
        print(f"disttorchrun: error: {problem}; nothing was started", file=sys.stderr)
        return 2
    if args.dry_run:
        print(describe(job))
        return 0
    for line in job.ignored:
        print(f"disttorchrun: {line}", file=sys.stderr)
    from .run import run_job

    return run_job(job)
