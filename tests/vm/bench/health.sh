# Health-check benchmark (tools/bench-health), in the VM: N real servers (N addresses on one
# namespace, one accept loop on 0.0.0.0:8080 answers them all: tests/vm/bench/sink.rs)
# checked every second with the same settings by `lbconverge run`, by keepalived's checker
# and by the floor (tools/bench/floor.rs, issue 29: the least CPU the same checks can cost),
# one after the other. Each run gets a fresh director namespace (its own IPVS table and its
# own TIME_WAIT sockets: every check leaves one for 60 s, and a run that inherits another's
# full table pays for it), and the order rotates over ROUNDS (default 2) so that no one of
# the three always runs first or last. Per run: the time until every server is in IPVS (not
# for the floor), the CPU used over a WINDOW (default 30 s) of steady checking, the checks
# that reached a server over the same window (the sink counts them), and RSS; CPU per check
# is CPU over checks done, not over checks due (a checker that falls behind does fewer and
# must not look cheaper for it); all three are measured the same way, from /proc. Then per
# round each checker's CPU per check as a ratio to the floor's of that round.
# Prints `BENCH` lines. Usage: N=1000 KIND=tcp|http WINDOW=30 ROUNDS=2 . health.sh
. tests/vm/lib.sh
n=${N:-1000}
kind=${KIND:-tcp}
window=${WINDOW:-30}
modprobe ip_vs
bridge br0
host srv
wire srv eth0 br0
rounds=${ROUNDS:-2}
i=0
: > /tmp/addrs
while [ "$i" -lt "$n" ]; do
    # Consecutive from 10.9.0.1, as the floor (tools/bench/floor.rs) dials them.
    echo "addr add 10.9.$(((i + 1) / 256)).$(((i + 1) % 256))/16 dev eth0" >> /tmp/addrs
    i=$((i + 1))
done
ip -n srv -batch /tmp/addrs
ip netns exec srv /usr/local/bin/lbc-sink 8080 /tmp/sink.count &

# The lbconverge manifest and the keepalived config, from the same list.
{
    echo "version: 1"
    echo "nodes: {dir: {roles: [director], addresses: [10.9.255.1/16], interface: eth0}}"
    echo "services:"
    echo "  bench:"
    echo "    vip: 10.7.0.100"
    echo "    port: 80"
    echo "    forwarding: nat"
    echo "    directors: [dir]"
    echo "    health_check: {type: $kind, path: /, interval: 1s, timeout: 1s, retries: 1, retry_delay: 1s}"
    echo "    backends:"
    awk '{split($3, a, "/"); printf "      b%d: {address: %s, port: 8080}\n", NR, a[1]}' /tmp/addrs
} > /tmp/bench.yaml
{
    printf 'global_defs {\n    router_id bench\n}\nvirtual_server 10.7.0.100 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n'
    while read -r _ _ cidr _; do ka_real_server "${cidr%/*}" 8080 "$kind"; done < /tmp/addrs
    echo "}"
} > /tmp/bench.conf

dests() { ip netns exec "$dir" ipvsadm -Ln -t 10.7.0.100:80 2>/dev/null | grep -c 'Masq'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
now_cs() { cut -d' ' -f1 /proc/uptime | tr -d .; }
arrivals() { cat /tmp/sink.count; }

# fill NAME PID: the time until every server is in IPVS, into fill_ms; 1 if they never are.
fill() {
    t0=$(now_cs); k=0
    echo "bench: $1 (pid $2) filling IPVS with $n $kind-checked servers"
    while [ "$(dests)" -lt "$n" ]; do
        k=$((k + 1))
        if [ "$k" -gt 600 ]; then echo "BENCH $1 n=$n kind=$kind FAILED: $(dests) of $n in IPVS after 120 s"; return 1; fi
        usleep 200000
    done
    fill_ms=$((($(now_cs) - t0) * 10))
}

# window NAME PID [EXTRA]: CPU (ticks are 10 ms), checks done (arrivals at the sink) and RSS
# of PID over the window; CPU per 1,000 checks done into last_cpu.
window() {
    c0=$(ticks "$2"); a0=$(arrivals); s0=$(now_cs)
    sleep "$window"
    c1=$(ticks "$2"); a1=$(arrivals); s1=$(now_cs)
    done_=$((a1 - a0))
    cpu=$(awk -v c=$((c1 - c0)) -v d="$done_" 'BEGIN {if (d == 0) print "-"; else printf "%.1f", (c * 10) / (d / 1000)}')
    rate=$(awk -v d="$done_" -v s=$((s1 - s0)) 'BEGIN {printf "%.0f", d / (s / 100)}')
    echo "BENCH $1 n=$n kind=$kind ${3:-}checks_per_s=$rate of $n cpu_ms_per_1000_checks=$cpu rss_kib=$(rss_kib "$2")"
    last_cpu=$cpu
}

# measure NAME PID: the time to fill IPVS, then the window.
measure() {
    fill "$1" "$2" || return 0
    sleep 3
    window "$1" "$2" "fill_ms=$fill_ms in_ipvs=$(dests) "
}

# fresh_dir: a new director namespace on the bridge (the one before deleted with its sockets).
seq_dir=0
fresh_dir() {
    [ -n "${dir:-}" ] && ip netns del "$dir"
    seq_dir=$((seq_dir + 1)); dir=dir$seq_dir
    host "$dir"
    wire "$dir" eth0 br0 10.9.255.1/16
}

run_lbconverge() {
    ip netns exec "$dir" lbconverge --state-dir "/var/lib/lbc-bench-$dir" run /tmp/bench.yaml --node dir > "/tmp/run-$dir.log" 2>&1 &
    run=$!
    measure lbconverge "$run"
    kill $run; wait $run || true
}

run_keepalived() {
    rm -f /tmp/k.pid /tmp/kc.pid
    ip netns exec "$dir" keepalived -n -l -D -C -f /tmp/bench.conf -p /tmp/k.pid -c /tmp/kc.pid > "/tmp/keepalived-$dir.log" 2>&1 &
    ka=$!
    k=0
    while [ ! -s /tmp/kc.pid ] && [ "$k" -lt 100 ]; do usleep 100000; k=$((k + 1)); done
    measure keepalived-checker "$(cat /tmp/kc.pid)"
    echo "BENCH keepalived-parent rss_kib=$(rss_kib "$ka")"
    kill $ka; wait $ka || true
}

# The floor measured as the checkers are (its own FLOOR line, over its own window, says
# how many of its checks timed out or started late).
run_floor() {
    ip netns exec "$dir" lbc-floor "$kind" 10.9.0.1 "$n" 8080 1000 "$((window + 2))" 3 > /tmp/floor.out &
    floor=$!
    sleep 4
    window floor "$floor"
    wait "$floor" || true
    echo "BENCH floor-own $(sed 's/^FLOOR //' /tmp/floor.out)"
}

ratio() { awk -v a="$1" -v f="$2" 'BEGIN { if (a == "" || f == "" || f == 0) print "-"; else printf "%.2f", a / f }'; }

orders=("floor lbconverge keepalived" "keepalived floor lbconverge" "lbconverge keepalived floor")
r=0
while [ "$r" -lt "$rounds" ]; do
    order=${orders[$((r % 3))]}
    echo "bench: round $((r + 1)) of $rounds: $order"
    declare -A cpu_of=()
    for who in $order; do
        fresh_dir
        last_cpu=
        "run_$who"
        cpu_of[$who]=${last_cpu:-}
    done
    echo "BENCH ratio-to-floor round=$((r + 1)) order=${order// /,} n=$n kind=$kind floor=${cpu_of[floor]}" \
        "lbconverge=$(ratio "${cpu_of[lbconverge]}" "${cpu_of[floor]}")" \
        "keepalived=$(ratio "${cpu_of[keepalived]}" "${cpu_of[floor]}")"
    unset cpu_of
    r=$((r + 1))
done
echo "ALL PASSED"
