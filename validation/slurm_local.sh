#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for testing `synthapt campaign run --cluster slurm`.
#
#   validation/slurm_local.sh start [DIR]   install slurm-wlm + munge if missing (needs root),
#                                          write DIR/slurm.conf, start munged, slurmctld, slurmd,
#                                          wait until the node is idle; prints `SLURM_CONF=...`
#   validation/slurm_local.sh stop  [DIR]   stop the daemons started by `start` (munged too,
#                                          if `start` started it)
#
# DIR defaults to /tmp/synthapt-slurm. Clients (sbatch, squeue, dask-jobqueue) find the cluster
# through the SLURM_CONF environment variable: `export SLURM_CONF=DIR/slurm.conf`.
# The node is `localhost` with this machine's CPUs and memory, one partition `debug`,
# select/cons_tres over cores and memory; no accounting database, no cgroups.
set -euo pipefail

ACTION="${1:-start}"
DIR="$(realpath -m "${2:-/tmp/synthapt-slurm}")"
CONF="$DIR/slurm.conf"

log() { echo "slurm_local: $*" >&2; }

install_if_missing() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
        return
    fi
    if [ "$(id -u)" != 0 ]; then
        log "slurm-wlm is not installed and installing it needs root"; exit 3
    fi
    log "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q slurm-wlm munge >/dev/null
}

start_munge() {
    if [ -S /run/munge/munge.socket.2 ] && munge -n </dev/null >/dev/null 2>&1; then
        return
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge
    chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key
    runuser -u munge -- munged
    mkdir -p "$DIR" && touch "$DIR/munged.started"
    for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && return; sleep 0.1; done
    log "munged did not start"; exit 4
}

write_conf() {
    local cpus mem
    # what slurmd itself detects (nproc would follow OMP_NUM_THREADS)
    cpus="$(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' | head -1)"
    [ -n "$cpus" ] || cpus="$(getconf _NPROCESSORS_ONLN)"
    # RealMemory in MB, leaving 10 % for the system.
    mem="$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)"
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
    cat >"$CONF" <<EOF
ClusterName=synthapt-local
SlurmctldHost=localhost
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=30
KillWait=5
Waittime=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

wait_idle() {
    export SLURM_CONF="$CONF"
    for _ in $(seq 150); do
        state="$(sinfo -h -n localhost -o %t 2>/dev/null || true)"
        case "$state" in
            idle*|mix*|alloc*) log "node localhost is $state"; return ;;
            down*|drain*) scontrol update NodeName=localhost State=RESUME >/dev/null 2>&1 || true ;;
        esac
        sleep 0.2
    done
    log "node did not become idle (state: ${state:-none}); see $DIR/log"; exit 5
}

start() {
    install_if_missing
    start_munge
    stop_daemons quiet
    write_conf
    export SLURM_CONF="$CONF"
    slurmctld -f "$CONF" -c -i
    slurmd -f "$CONF" -N localhost
    wait_idle
    echo "SLURM_CONF=$CONF"
}

stop_daemons() {
    for daemon in slurmd slurmctld; do
        pidfile="$DIR/$daemon.pid"
        if [ -s "$pidfile" ]; then
            pid="$(cat "$pidfile")"
            if kill -0 "$pid" 2>/dev/null; then
                kill "$pid" 2>/dev/null || true
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            fi
            rm -f "$pidfile"
        fi
    done
    if [ "${1:-}" != quiet ] && [ -e "$DIR/munged.started" ] && [ -s /run/munge/munged.pid ]; then
        kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
        rm -f "$DIR/munged.started"
    fi
    [ "${1:-}" = quiet ] || log "stopped the daemons started from $DIR"
}

case "$ACTION" in
    start) start ;;
    stop) stop_daemons ;;
    *) log "usage: $0 start|stop [DIR]"; exit 1 ;;
esac
