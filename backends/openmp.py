"""``torch.backends.openmp``: disttorch's cpu parallelism is its BLAS thread pool (see
``torch.set_num_threads``), not OpenMP."""


def is_available() -> bool:
    return False
