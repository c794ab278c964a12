"""Two hosts with addresses of their own on this one machine: network namespaces joined by a bridge, and an
ssh stand-in that runs Hydra's proxy inside the namespace owning the host address. Needs root and iproute2,
and changes the machine's network configuration while it runs, so it is opt-in: DISTTORCH_TEST_NETNS=1."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from _launcher_util import RANK_SCRIPT, launch, need_mpi

pytestmark = pytest.mark.timeout(60)
SUBNET = "10.213.77"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def two_hosts(tmp_path):
    if os.environ.get("DISTTORCH_TEST_NETNS") != "1":
        pytest.skip("opt-in (changes the network configuration): set DISTTORCH_TEST_NETNS=1 as root")
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2")
    tag = str(os.getpid() % 100000)
    bridge, names = f"dtbr{tag}", [f"dt{tag}a", f"dt{tag}b"]
    hosts = {f"{SUBNET}.2": names[0], f"{SUBNET}.3": names[1]}
    try:
        ip("link", "add", bridge, "type", "bridge")
        ip("addr", "add", f"{SUBNET}.1/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        for i, (addr, ns) in enumerate(hosts.items()):
            ip("netns", "add", ns)
            ip("link", "add", f"dtv{tag}{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("link", "set", f"dtv{tag}{i}", "master", bridge, "up")
            ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
        ssh = tmp_path / "netns-ssh"
        cases = "".join(f"  {addr}) ns={ns};;\n" for addr, ns in hosts.items())
        ssh.write_text("#!/bin/sh\n# ssh stand-in: 'ssh [-opts] host command' runs command in host's namespace\n"
                       'while [ "${1#-}" != "$1" ]; do shift; done\nhost=$1; shift\n'
                       f'case $host in\n{cases}  *) echo "unknown host $host" >&2; exit 255;;\nesac\n'
                       'exec ip netns exec $ns /bin/sh -c "$*"\n')
        ssh.chmod(0o755)
        yield list(hosts), str(ssh), bridge
    finally:
        for ns in names:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True, timeout=10)


def test_two_hosts_in_network_namespaces(two_hosts):
    need_mpi()
    hosts, ssh, bridge = two_hosts
    r = launch("--hosts", ",".join(f"{h}:1" for h in hosts),
               "--mpi-args", f"-launcher ssh -launcher-exec {ssh} -iface {bridge}", RANK_SCRIPT, "mpi")
    assert r.returncode == 0, r
    for rank in (0, 1):
        assert f"[rank {rank}] RANK={rank} LOCAL_RANK=0 WORLD_SIZE=2 LOCAL_WORLD_SIZE=1 " in r.out, r
        assert f"[rank {rank}] allreduce=3 size=2" in r.out, r
    spaces = {line.split("netns=")[1] for line in r.out.splitlines() if "netns=" in line}
    assert len(spaces) == 2 and os.readlink("/proc/self/ns/net") not in spaces, r  # two namespaces, not ours
