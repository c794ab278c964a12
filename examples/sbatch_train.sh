#!/bin/bash
# Data-parallel training on a SLURM cluster: `sbatch examples/sbatch_train.sh`.
# disttorchrun sees the allocation (SLURM_JOB_ID) and starts one rank per task with srun; each rank gets
# RANK / LOCAL_RANK / WORLD_SIZE / LOCAL_WORLD_SIZE and cores // tasks-per-node BLAS threads.
#SBATCH --job-name=disttorch-train
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=4          # ranks per node (one per GPU on GPU nodes: add --gpus-per-node=4)
#SBATCH --cpus-per-task=8            # cores per rank -> OMP_NUM_THREADS=8
#SBATCH --time=02:00:00
#SBATCH --output=%x-%j.out
#SBATCH --requeue                    # let SLURM requeue the job after a node failure; it resumes below
set -euo pipefail

cd "${SLURM_SUBMIT_DIR:-.}"
source .venv/bin/activate            # a venv with `pip install -e ".[mpi]"` (plus ".[cuda]" on GPU nodes)

# srun needs to know how to wire MPI: --mpi=pmi2 (or pmix) for the mpich wheel / a SLURM-aware MPI.
# --max-restarts relaunches the whole job step after a failure; the script resumes from its checkpoint.
disttorchrun --max-restarts 3 --log-dir "logs/$SLURM_JOB_ID" --tee --mpi-args "--mpi=pmi2" \
    examples/resumable_train.py --steps 1000 --save-every 100 --ckpt-dir "checkpoints/$SLURM_JOB_NAME"

# Without disttorchrun:   srun --mpi=pmi2 python examples/ddp_train.py
# With mpiexec instead:   disttorchrun --launcher mpich --nproc-per-node 4 --hostfile <(scontrol show hostnames) ...
