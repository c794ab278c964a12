"""``disttorchrun``: starts the ranks of a job through the installed MPI launcher (mpiexec) or srun.

It never replaces MPI: it builds the right mpiexec / mpirun / srun command, gives every rank torchrun's
environment through a small bootstrap, prefixes output, tears the job down when a rank fails, and
relaunches it (``--max-restarts``). Nothing here imports the Tensor."""
