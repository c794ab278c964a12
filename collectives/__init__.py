"""Communicators over raw arrays (MPI, NCCL, single process). Filled in by the distributed work."""
