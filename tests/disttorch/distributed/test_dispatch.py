"""The one dispatch rule (``ProcessGroup.communicator_for``) and ``GroupCommunicator``, in one process: a host
communicator that claims two ranks and a toy device communicator from the registry record what they are given,
and a toy device backend (numpy memory, device index 1) owns the device arrays."""
import numpy as np
import pytest
from disttorch.backends import Backend, backend_for_array, register_backend, unregister_backend
from disttorch.collectives import ReduceOp, SingleCommunicator, register_communicator, unregister_communicator

import disttorch.distributed as dist
from disttorch.distributed import GroupCommunicator, ProcessGroup


class DevArray(np.ndarray):
    pass


class DevBackend(Backend):
    name = device_type = "dispatchtoy"
    array_types = (DevArray,)
    xp = np

    def device_index(self, arr):
        return 1


class Recording(SingleCommunicator):
    """Records the collectives it is asked for (and does nothing)."""

    def __init__(self, size=1, host=None, device=None):
        super().__init__()
        self.size, self.world_ranks, self.host, self.device, self.calls = size, tuple(range(size)), host, device, []

    def all_reduce(self, array, op=ReduceOp.SUM, async_op=False):
        self.calls.append(("all_reduce", array))

    def all_gather(self, output, array, async_op=False):
        self.calls.append(("all_gather", array))

    def barrier(self, async_op=False):
        self.calls.append(("barrier", None))


@pytest.fixture
def toy():
    register_backend(DevBackend())
    register_communicator("dispatchtoy", lambda host=None, device=None, timeout=None: Recording(2, host, device))
    yield
    unregister_communicator("dispatchtoy")
    unregister_backend("dispatchtoy")


def _device_array(n=3):
    return np.zeros(n).view(DevArray)


def test_host_arrays_go_to_the_host_communicator_device_arrays_to_the_device_one(toy):
    host = Recording(2)
    pg = ProcessGroup(host, "gloo", 5.0, "dispatchtoy")
    assert pg.communicator_for(np.zeros(3)) is host
    dev = _device_array()
    assert backend_for_array(dev).device_index(dev) == 1
    comm = pg.communicator_for(dev)
    assert isinstance(comm, Recording) and comm is not host and comm.host is host and comm.device == 1
    assert pg.communicator_for(_device_array(5)) is comm  # one per device, made on first use


def test_without_a_device_communicator_everything_goes_to_the_host(toy):
    host = Recording(2)
    assert ProcessGroup(host, "gloo", 5.0, None).communicator_for(_device_array()) is host
    one = Recording(1)  # a group of one given a device communicator uses it (backend="nccl" in a world of one)
    comm = ProcessGroup(one, "nccl", 5.0, "dispatchtoy").communicator_for(_device_array())
    assert isinstance(comm, Recording) and comm.host is one


def test_connect_makes_the_device_communicator_before_any_collective(toy):
    made = []
    register_communicator("dispatchtoy", lambda host=None, device=None, timeout=None: made.append(device)
                          or Recording(2, host, device))
    pg = ProcessGroup(Recording(2), "nccl", 5.0, "dispatchtoy")
    pg.connect(0)
    pg.connect(0)
    assert made == [0]
    assert pg.communicator_for(np.zeros(3).view(DevArray)).device == 1 and made == [0, 1]
    ProcessGroup(Recording(2), "gloo", 5.0, None).connect(0)  # no device communicator: nothing to make
    assert made == [0, 1]


def test_point_to_point_never_makes_the_device_communicator(toy):
    """Making it is a collective over the whole group; a send/recv joins two ranks: until a collective made it,
    point-to-point goes through the host communicator."""
    host = Recording(2)
    pg = ProcessGroup(host, "gloo", 5.0, "dispatchtoy")
    dev = _device_array()
    assert pg.communicator_for(dev, p2p=True) is host and pg._device_comms == {}
    comm = pg.communicator_for(dev)
    assert pg.communicator_for(dev, p2p=True) is comm is not host


def test_group_communicator_dispatches_by_array_and_rejects_unknown_methods(toy):
    host = Recording(2)
    pg = ProcessGroup(host, "gloo", 5.0, "dispatchtoy")
    gc = GroupCommunicator(pg)
    assert (gc.rank, gc.size) == (0, 2)
    dev, cpu = _device_array(), np.zeros(3)
    gc.all_reduce(dev)
    gc.all_reduce(cpu, ReduceOp.SUM)
    gc.all_gather(np.zeros((2, 3)).view(DevArray), dev)
    gc.barrier()
    device = pg.communicator_for(dev)
    assert [c for c, _ in device.calls] == ["all_reduce", "all_gather"] and device.calls[0][1] is dev
    assert host.calls == [("all_reduce", cpu), ("barrier", None)]
    for name in ("frobnicate", "all_reduce_coalesced"):
        with pytest.raises(AttributeError, match=name):
            getattr(gc, name)


def test_a_group_communicator_needs_a_group():
    if dist.is_initialized():
        dist.destroy_process_group()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        GroupCommunicator()
    dist.init_process_group()
    try:
        gc = dist.distributed_c10d._get_communicator()
        assert isinstance(gc, GroupCommunicator) and gc.group is dist.group.WORLD
        assert dist.distributed_c10d._get_communicator(dist.GroupMember.NON_GROUP_MEMBER) is None
        with pytest.raises(ValueError, match="Invalid process group"):
            GroupCommunicator(dist.GroupMember.NON_GROUP_MEMBER)
    finally:
        dist.destroy_process_group()
