"""`disttorchrun`: starts ranks through mpiexec or srun. Filled in by the launcher work."""
