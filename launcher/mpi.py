"""Finding the process launcher (MPICH/Hydra, Open MPI, Intel MPI, SLURM's srun) and speaking its dialect."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

MPICH, INTEL, OPENMPI, SRUN, LOCAL = "mpich", "intel", "openmpi", "srun", "local"
KINDS = (MPICH, INTEL, OPENMPI, SRUN, LOCAL)
NAMES = {MPICH: "MPICH (Hydra)", INTEL: "Intel MPI (Hydra)", OPENMPI: "Open MPI", SRUN: "SLURM srun",
         LOCAL: "no MPI (one local process)"}


class LaunchError(RuntimeError):
    """A launch that cannot work as asked (bad options, no MPI); the message says what to do."""


@dataclass(frozen=True)
class Host:
    name: str
    slots: int | None = None

    def __str__(self) -> str:
        return self.name if self.slots is None else f"{self.name}:{self.slots}"


# -- hosts ----------------------------------------------------------------------------------------
def parse_hosts(spec: str) -> list[Host]:
    """``"node1:4,node2:4"`` (or ``node1,node2``) -> hosts with their slot counts."""
    hosts = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, slots = item.rpartition(":")
        if not sep or not slots.isdigit():  # no count (an IPv6 address has colons too)
            hosts.append(Host(item))
        else:
            hosts.append(Host(name, int(slots)))
    if not hosts:
        raise LaunchError(f"--hosts {spec!r} names no host")
    return hosts


def parse_hostfile(path: str) -> list[Host]:
    """A hostfile in MPICH (``host:4``), Open MPI (``host slots=4``) or plain (``host``) form; ``#`` comments."""
    try:
        with open(path) as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise LaunchError(f"cannot read hostfile {path!r}: {exc.strerror}") from None
    hosts = []
    for line in lines:
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        slots = next((w.split("=", 1)[1] for w in words[1:] if w.startswith(("slots=", "cpu="))), None)
        if slots is not None:
            if not slots.isdigit():
                raise LaunchError(f"hostfile {path!r}: bad slot count in {line!r}")
            hosts.append(Host(words[0], int(slots)))
        else:
            hosts.extend(parse_hosts(words[0]))
    if not hosts:
        raise LaunchError(f"hostfile {path!r} names no host")
    return hosts


# -- detection ------------------------------------------------------------------------------------
def flavour_of(version_text: str) -> str | None:
    """Which MPI an ``mpiexec --version`` output belongs to."""
    if "Intel(R) MPI" in version_text or "Intel MPI" in version_text:
        return INTEL
    if "Open MPI" in version_text or "OpenRTE" in version_text or "open-mpi" in version_text:
        return OPENMPI
    if "HYDRA" in version_text or "MPICH" in version_text:
        return MPICH
    return None


def _version_text(exe: str) -> str:
    try:
        done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout + done.stderr


def _candidates() -> list[str]:
    """``mpiexec``/``mpirun`` next to this Python first (the `mpich` wheel installs them there, matching the
    venv's mpi4py), then on PATH."""
    found = []
    here = os.path.dirname(sys.executable)
    for name in ("mpiexec", "mpirun"):
        path = os.path.join(here, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            found.append(path)
    for name in ("mpiexec", "mpirun", "mpiexec.hydra"):
        path = shutil.which(name)
        if path and path not in found:
            found.append(path)
    return found


def in_slurm_allocation(env: dict) -> bool:
    return bool(env.get("SLURM_JOB_ID")) and shutil.which("srun", path=env.get("PATH")) is not None


def detect(requested: str = "auto", mpiexec: str | None = None, env: dict | None = None) -> tuple[str, str | None]:
    """``(kind, executable)`` of the launcher to use. ``requested`` is ``auto`` or one of :data:`KINDS`."""
    env = os.environ if env is None else env
    if requested == LOCAL:
        return LOCAL, None
    if requested == SRUN or (requested == "auto" and mpiexec is None and in_slurm_allocation(env)):
        srun = shutil.which("srun", path=env.get("PATH"))
        if srun is None:
            raise LaunchError("--launcher srun: no `srun` on PATH")
        return SRUN, srun
    candidates = [mpiexec] if mpiexec else _candidates()
    for exe in candidates:
        kind = flavour_of(_version_text(exe))
        if requested in ("auto", kind):
            return kind or MPICH, exe
        if kind is None and requested in (MPICH, INTEL, OPENMPI):  # unrecognised: trust the user
            return requested, exe
    if requested == "auto":
        return LOCAL, None
    raise LaunchError(f"--launcher {requested}: no such MPI launcher found (looked at {candidates or 'PATH'})")


# -- command lines --------------------------------------------------------------------------------
def build_command(kind: str, exe: str | None, *, nprocs: int | None, nproc_per_node: int | None,
                  nnodes: int | None, hosts: list[Host] | None, env: dict[str, str], mpi_args: list[str],
                  target: list[str], oversubscribe: bool = False) -> list[str]:
    """The launcher's argv that starts ``target`` (a complete ``python ... bootstrap script args`` argv) on
    every rank with ``env`` exported. ``nprocs`` None means: let the launcher decide (a SLURM allocation)."""
    if kind == LOCAL:
        return list(target)
    cmd = [exe]
    if kind in (MPICH, INTEL):
        if nprocs is not None:
            cmd += ["-n", str(nprocs)]
        if nproc_per_node is not None and (hosts or (nnodes or 1) > 1):
            cmd += ["-ppn", str(nproc_per_node)]
        if hosts:
            if kind == INTEL or nproc_per_node is not None:  # Intel's -hosts takes names; -ppn gives counts
                cmd += ["-hosts", ",".join(h.name for h in hosts)]
            else:
                cmd += ["-hosts", ",".join(map(str, hosts))]
        for name, value in env.items():
            cmd += ["-genv", name, value]
    elif kind == OPENMPI:
        if nprocs is not None:
            cmd += ["-np", str(nprocs)]
        if hosts:
            cmd += ["--host", ",".join(f"{h.name}:{h.slots if h.slots else (nproc_per_node or 1)}" for h in hosts)]
        if nproc_per_node is not None and (hosts or (nnodes or 1) > 1):
            cmd += ["--map-by", f"ppr:{nproc_per_node}:node"]
        else:  # consecutive ranks on a node, as torchrun's: Open MPI 5's default (by package) numbers local ranks
            cmd += ["--map-by", "slot"]  # across sockets (seen: ranks 0, 1, 2 with local ranks 0, 2, 1)
        if oversubscribe:
            cmd += ["--oversubscribe"]
        for name, value in env.items():
            cmd += ["-x", f"{name}={value}"]
    elif kind == SRUN:
        if nprocs is not None:
            cmd += [f"--ntasks={nprocs}"]
        if nnodes is not None:
            cmd += [f"--nodes={nnodes}"]
        if nproc_per_node is not None:
            cmd += [f"--ntasks-per-node={nproc_per_node}"]
        if hosts:
            cmd += [f"--nodelist={','.join(h.name for h in hosts)}"]
        bad = [name for name, value in env.items() if "," in value]
        if bad:
            raise LaunchError(f"srun --export cannot pass values containing ',' ({', '.join(bad)})")
        cmd += ["--kill-on-bad-exit=1", "--export=" + ",".join(["ALL"] + [f"{n}={v}" for n, v in env.items()])]
    else:
        raise LaunchError(f"unknown launcher kind {kind!r}")
    return cmd + list(mpi_args) + list(target)


# -- files the MPI launcher leaves behind ---------------------------------------------------------
HYDRA_SCRATCH = "hydra_hwloc_xmlfile_"  # MPICH's proxies write the machine's topology to /tmp/hydra_hwloc_xmlfile_*


def proxy_scratch_files(pids: list[int]) -> dict[int, set[str]]:
    """For each of these processes that is a Hydra proxy: the topology files it holds open. A proxy deletes
    its file when it exits normally, but not when it is killed (a rank's MPI_Abort, a teardown), so
    disttorchrun remembers them and deletes them after the job; files of other jobs are never touched."""
    found: dict[int, set[str]] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as fh:
                if fh.read().strip() != "hydra_pmi_proxy":
                    continue
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        found[pid] = set()
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if os.path.basename(target).startswith(HYDRA_SCRATCH):
                found[pid].add(target)
    return found


def scratch_snapshot() -> set[str]:
    """The topology files in /tmp now (taken when an attempt starts)."""
    import glob

    return set(glob.glob(f"/tmp/{HYDRA_SCRATCH}*"))


def orphaned_scratch_files(before: set[str], session: int) -> set[str]:
    """Topology files that appeared since ``before``, are this user's, and no proxy of another job (another
    session than ``session``, this job's) holds open: the ones this job's proxies left, or are leaving as they
    are torn down, when killed before a scan saw them (a job that aborts at once)."""
    new = {p for p in scratch_snapshot() - before if _owned(p)}
    if not new:
        return set()
    others = [int(p) for p in os.listdir("/proc") if p.isdigit() and _session_of(int(p)) not in (session, None)]
    held: set[str] = set()
    for files in proxy_scratch_files(others).values():
        held |= files
    return new - held


def _session_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[3])  # fields after "(comm)": state ppid pgrp session
    except (OSError, ValueError, IndexError):
        return None


def _owned(path: str) -> bool:
    try:
        return os.stat(path).st_uid == os.getuid()
    except OSError:
        return False


def remove_scratch_files(paths: set[str]) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass
