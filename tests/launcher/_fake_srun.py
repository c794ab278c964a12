#!/usr/bin/env python3
"""Stand-in for SLURM's srun: records its argv, then starts --ntasks copies of the command with SLURM_*
variables set the way srun does (one node)."""
import os
import subprocess
import sys

with open(os.environ["FAKE_SRUN_LOG"], "a") as fh:
    fh.write(repr(sys.argv[1:]) + "\n")
args, ntasks, export = sys.argv[1:], int(os.environ.get("SLURM_NTASKS", "1")), {}
while args and args[0].startswith("-"):
    opt = args.pop(0)
    if opt.startswith("--ntasks="):
        ntasks = int(opt.split("=", 1)[1])
    elif opt.startswith("--export="):
        export = dict(item.split("=", 1) for item in opt.split("=", 1)[1].split(",") if "=" in item)
procs = []
for task in range(ntasks):
    env = dict(os.environ, **export, SLURM_PROCID=str(task), SLURM_LOCALID=str(task), SLURM_NTASKS=str(ntasks),
               SLURM_NODEID="0", SLURM_TASKS_PER_NODE=str(ntasks), SLURM_STEP_ID="0")
    procs.append(subprocess.Popen(args, env=env))
sys.exit(max(p.wait() for p in procs))
