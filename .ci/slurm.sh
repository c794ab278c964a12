#!/usr/bin/env bash
# A one-node SLURM cluster on this machine (Debian's slurm-wlm and munge), so that the srun tests run for real
# (tests/disttorch/distributed/test_srun_faults.py skips, saying so, where no cluster answers). Needs root and
# Debian's package registry; prints why and gives up (exit 0) where either is missing.
set -uo pipefail
if sinfo -h -o %a 2>/dev/null | grep -q '^up'; then echo "slurm: a cluster answers already"; exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then echo "slurm: not set up (needs root and apt-get)"; exit 0; fi
if ! command -v slurmctld >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm >/tmp/slurm-install.log 2>&1 || {
        apt-get update -q >/dev/null 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm >/tmp/slurm-install.log 2>&1 ||
            { echo "slurm: apt-get install slurm-wlm failed (tail of /tmp/slurm-install.log):"; tail -5 /tmp/slurm-install.log; exit 0; }
    }
fi
host=$(hostname -s)
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=$host
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmUser=root
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld-ci
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
SlurmctldLogFile=/var/log/slurmctld.log
SlurmdLogFile=/var/log/slurmd.log
NodeName=$host CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
rm -rf /var/spool/slurmctld-ci
# a fresh state numbers jobs from 1 again: MPICH's shared-memory segments left by ranks killed under an earlier
# cluster's job of the same number would make MPI_Init fail ("MPIDI_POSIX_comm_bootstrap: Out of memory");
# remove those that no process has mapped
for seg in /dev/shm/mpich_shm_*; do
    [ -e "$seg" ] || continue
    grep -qsF "$seg" /proc/[0-9]*/maps || rm -f "$seg"
done
mkdir -p /var/spool/slurmd /var/spool/slurmctld-ci /run/munge
chown munge:munge /run/munge 2>/dev/null || true
pgrep -x munged >/dev/null || munged --force 2>/dev/null || true
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
deadline=$((SECONDS + 40))
while [ $SECONDS -lt $deadline ]; do
    timeout 10 sinfo -h -o %a 2>/dev/null | grep -q '^up' && timeout 20 srun -n 1 true 2>/dev/null &&
        { echo "slurm: one-node cluster up ($host)"; exit 0; }
    sleep 1
done
echo "slurm: started but not answering (see /var/log/slurmctld.log, /var/log/slurmd.log)"
exit 0
