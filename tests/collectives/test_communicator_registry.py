"""The communicator registry: built-in communicators by name, errors, and a toy one registered by name."""
import subprocess
import sys

import pytest
from disttorch.collectives import (
    SingleCommunicator,
    communicator_available,
    communicator_names,
    get_communicator_factory,
    make_communicator,
    register_communicator,
    unregister_communicator,
)


def test_built_in_communicators_are_registered():
    assert {"single", "mpi", "nccl"} <= set(communicator_names())
    c = make_communicator("single", timeout=3.0)
    assert isinstance(c, SingleCommunicator) and (c.rank, c.size, c.timeout) == (0, 1, 3.0)
    assert communicator_available("single") and not communicator_available("no-such-communicator")


def test_unknown_name_says_which_are_known():
    with pytest.raises(RuntimeError, match=r"no communicator named 'nope' \(known: .*mpi.*nccl.*single"):
        make_communicator("nope")
    with pytest.raises(RuntimeError, match="no communicator named 'nope' to unregister"):
        unregister_communicator("nope")


def test_asking_whether_mpi_is_available_does_not_start_mpi():
    code = ("import sys; from disttorch.collectives import communicator_available; communicator_available('mpi'); "
            "assert 'mpi4py.MPI' not in sys.modules, 'mpi4py.MPI was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_toy_communicator_registered_by_name_is_found():
    made = []

    class ToyCommunicator(SingleCommunicator):
        name = "toy"

    def factory(host=None, device=None, timeout=None):
        made.append((host, device, timeout))
        return ToyCommunicator(timeout=timeout)

    register_communicator("toy", factory, available=lambda: True)
    try:
        assert "toy" in communicator_names() and communicator_available("toy")
        assert get_communicator_factory("toy") is factory
        host = SingleCommunicator()
        c = make_communicator("toy", host=host, device=2, timeout=1.5)
        assert isinstance(c, ToyCommunicator) and made == [(host, 2, 1.5)]
    finally:
        assert unregister_communicator("toy") is factory
    assert "toy" not in communicator_names() and not communicator_available("toy")
