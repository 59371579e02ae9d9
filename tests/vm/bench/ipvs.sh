# Benchmark inside the VM (tools/bench-ipvs): lbconverge apply vs ipvsadm -R into an empty
# table, a no-op plan vs ipvsadm -S -n, and one changed weight. Every measurement that fills
# a table gets a fresh network namespace: IPVS keeps deleted destinations in a per-namespace
# trash list that slows later adds, which would favour whichever tool runs first.
# "cold" = the first run on a manifest; "warm" = the same manifest again (page cache warm;
# builds before the manifest cache was removed served it from that cache).
# With BASE=1 (tools/bench-ipvs with BASE=binary), a second lbconverge binary,
# lbconverge-base, is measured in every run as well, alternating which goes first: two builds
# compared in one VM boot, where the host's load moves both alike.
. tests/vm/lib.sh
B=/root/bench
RUNS=${RUNS:-3}
now() { echo "$EPOCHREALTIME"; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# settle: waits (at most 60 s) until the CPUs were at most 10% busy for a second. Deleting a
# namespace that holds 50,000 destinations leaves the kernel freeing them in the background,
# and whatever ran next (either tool) was measured up to 2x slower than in the first run.
settle() {
    for _ in $(seq 60); do
        read -r _ u n s i w q sq st _ < /proc/stat; busy=$((u + n + s + q + sq + st)); idle=$((i + w))
        sleep 1
        read -r _ u n s i w q sq st _ < /proc/stat
        busy=$((u + n + s + q + sq + st - busy)); idle=$((i + w - idle))
        [ $((busy * 10)) -le $((busy + idle)) ] && return 0
    done
}
# timed NAME CMD...: appends CMD's wall time in ms to /tmp/t.NAME (after settle); fails the
# run on error.
timed() {
    name=$1; shift
    settle
    t0=$(now); "$@" > /tmp/out.$name 2>&1; rc=$?; t1=$(now)
    [ $rc = 0 ] || { fail "$name exited $rc"; tail -5 /tmp/out.$name; }
    ms "$t0" "$t1" >> /tmp/t.$name; echo >> /tmp/t.$name
}
fresh() { ip netns add "$1"; ip -n "$1" link set lo up; ip -n "$1" link add eth0 type dummy; ip -n "$1" addr add 10.0.200.2/8 dev eth0; ip -n "$1" link set eth0 up; }
in_ns() { ns=$1; shift; ip netns exec "$ns" "$@"; }
lbc_in() { ns=$1; sd=$2; shift 2; ip netns exec "$ns" "$LBC_BIN" --state-dir "$sd" "$@"; }
# lbc_cycle TAG BINARY RUN: apply cold, plan warm and cold, one weight, apply warm; the
# measurements are named with TAG first.
lbc_cycle() {
    tag=$1; LBC_BIN=$2; run=$3
    sd=/var/lib/$tag$run
    fresh ${tag}a$run
    timed ${tag}apply_cold lbc_in ${tag}a$run $sd apply $B/big.yaml --auto-approve --quiet
    timed ${tag}plan_warm lbc_in ${tag}a$run $sd plan $B/big.yaml --detailed-exitcode
    rm -rf $sd/cache
    timed ${tag}plan_cold lbc_in ${tag}a$run $sd plan $B/big.yaml --detailed-exitcode
    timed ${tag}one_weight lbc_in ${tag}a$run $sd apply $B/big-one-weight.yaml --auto-approve --quiet
    grep "Apply complete" /tmp/out.${tag}one_weight
    in_ns ${tag}a$run ipvsadm -S -n | sort > /tmp/${tag}ours.$run
    fresh ${tag}w$run
    timed ${tag}apply_warm lbc_in ${tag}w$run $sd apply $B/big.yaml --auto-approve --quiet
    ip netns del ${tag}a$run; ip netns del ${tag}w$run
}
tags=""
[ "${BASE:-}" = 1 ] && tags="base_"
modprobe ip_vs
modprobe ip_vs_wlc
for run in $(seq "$RUNS"); do
    fresh r$run
    settle
    t0=$(now); in_ns r$run ipvsadm -R < $B/big.rules; t1=$(now); ms "$t0" "$t1" >> /tmp/t.ipvsadm_restore; echo >> /tmp/t.ipvsadm_restore
    timed ipvsadm_save sh -c "ip netns exec r$run ipvsadm -S -n > /tmp/saved.$run"
    ip netns del r$run
    if [ -n "$tags" ] && [ $((run % 2)) = 0 ]; then lbc_cycle base_ lbconverge-base $run; fi
    lbc_cycle "" lbconverge $run
    if [ -n "$tags" ] && [ $((run % 2)) = 1 ]; then lbc_cycle base_ lbconverge-base $run; fi
done
sort /tmp/saved.1 > /tmp/theirs
sed 's/-w 2$/-w 1/' /tmp/ours.1 | sort > /tmp/ours.norm
same_file "lbconverge and ipvsadm -R wrote the same table (but the changed weight)" /tmp/theirs /tmp/ours.norm
check "one changed weight is one netlink write" grep -q "Apply complete: 1 changes (1 netlink and 0 sysctl writes)" /tmp/out.one_weight
echo "services: $(grep -c '^-A' $B/big.rules)  destinations: $(grep -c '^-a' $B/big.rules)  runs: $RUNS"
ours="apply_cold apply_warm plan_cold plan_warm one_weight"
base=""
[ -z "$tags" ] || base=$(for m in $ours; do printf 'base_%s ' "$m"; done)
for m in ipvsadm_restore apply_cold apply_warm ipvsadm_save plan_cold plan_warm one_weight $base; do
    echo "$m-ms: median $(grep . /tmp/t.$m | median)  (all: $(grep . /tmp/t.$m | tr '\n' ' '))"
done
finish
