"""``torch.backends.cpu``: the vector instruction set the cpu kernels use (numpy's choice)."""


def get_cpu_capability() -> str:
    import numpy as np

    try:
        found = np._core._multiarray_umath.__cpu_features__  # numpy >= 2
    except AttributeError:  # pragma: no cover (numpy 1.x)
        found = np.core._multiarray_umath.__cpu_features__
    if found.get("AVX512F"):
        return "AVX512"
    if found.get("AVX2"):
        return "AVX2"
    return "DEFAULT"
