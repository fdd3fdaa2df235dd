#!/usr/bin/env bash
# Prints what the test run's times depend on, so that a slow run's log says why: the cores this
# process may use (affinity, cgroup quota), the load, the CPU model and its vector extensions.
echo "machine: $(nproc) cores usable of $(getconf _NPROCESSORS_ONLN) online; load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "machine: cpu $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //')"
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
ext=""
for f in avx2 fma avx512f avx512_vnni avx_vnni avx512_bf16 amx_tile amx_bf16; do
    [[ " $flags " == *" $f "* ]] && ext="$ext $f"
done
echo "machine: vector extensions:${ext:- none of avx2..amx}"
q=""
[ -r /sys/fs/cgroup/cpu.max ] && q="cpu.max $(cat /sys/fs/cgroup/cpu.max)"
[ -z "$q" ] && [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] && q="cfs_quota_us $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)"
echo "machine: cgroup cpu quota: ${q:-none readable}; memory $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
