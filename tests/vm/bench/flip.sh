# Flip-to-IPVS benchmark (tools/bench-flip), in the VM: a director carrying N services
# (tests/vm/bench/gen.py: N x 4 destinations, VRRP-owned VIPs) plus one checked service whose
# one backend (tests/vm/bench/sink.rs in namespace srv) is stopped and started RUNS times.
# For each flip, the time from the check's verdict ("backend down" / "backend up" in the
# daemon's log) to the IPVS write that follows it ("applied ... ipvs destination"), both
# stamped by the daemon in milliseconds. Every binary of BINS (NAME:PATH ...) is measured
# in turn in the same boot. Prints `BENCH` lines.
# Usage: N=10000 RUNS=5 BINS="after:/usr/local/bin/lbconverge" . flip.sh (gen.py's output
# in /root/bench).
. tests/vm/lib.sh
n=${N:-1000}
runs=${RUNS:-5}
modprobe ip_vs
bridge br0
for ns in dir srv; do host $ns; done
wire dir eth0 br0 10.0.200.2/8
wire srv eth0 br0 10.9.0.1/8
cp /root/bench/big.yaml /tmp/flip.yaml
cat >> /tmp/flip.yaml <<'YAML'
  checked:
    vip: 10.0.0.1
    port: 8080
    forwarding: nat
    directors: [d1]
    health_check: {type: tcp, interval: 200ms, timeout: 200ms, retries: 0}
    backends:
      c1: {address: 10.9.0.1, port: 8080}
YAML
sink() { ip netns exec srv /usr/local/bin/lbc-sink 8080 & SINK=$!; }
table() { ip netns exec dir ipvsadm -Ln -t 10.0.0.1:8080 2>/dev/null | grep -c Masq; }
services() { ip netns exec dir ipvsadm -Ln | grep -c '^TCP'; }
# wait_table WANT: up to 10 s for the checked service to hold WANT destinations.
wait_table() { k=0; while [ "$(table)" != "$1" ] && [ "$k" -lt 100 ]; do usleep 100000; k=$((k + 1)); done; }

# flips NAME BIN: starts BIN's daemon, flips the backend RUNS times each way, prints the
# verdict-to-IPVS times from its log.
flips() {
    name=$1; bin=$2; log=/tmp/flip-$name.log
    ip netns exec dir ipvsadm -C
    rm -rf /var/lib/lbc-flip
    sink
    LBCONVERGE_LOG=info NO_COLOR=1 ip netns exec dir "$bin" --state-dir /var/lib/lbc-flip run /tmp/flip.yaml --node d1 --resync 600s --control /run/lbc-flip.sock > "$log" 2>&1 &
    RUN=$!
    k=0
    while [ "$(services)" -lt $((n + 1)) ] || [ "$(table)" != 1 ]; do
        k=$((k + 1))
        if [ "$k" -gt 1800 ]; then echo "BENCH $name n=$n FAILED: $(services) services, checked dest $(table) after 360 s"; tail -5 "$log"; return; fi
        usleep 200000
    done
    echo "bench: $name carries $(services) services"
    i=0
    while [ "$i" -lt "$runs" ]; do
        sleep 2
        kill "$SINK"; wait "$SINK" 2>/dev/null
        wait_table 0
        sleep 1
        sink
        wait_table 1
        i=$((i + 1))
    done
    kill $RUN; wait $RUN
    kill "$SINK"; wait "$SINK" 2>/dev/null
    # Pairs each verdict with the next destination write (timestamps 2026-12-04T16:30:09.274Z).
    awk -v name="$name" -v n="$n" '
        function ms(ts,  t) { split(substr(ts, 12, 12), t, ":"); return (t[1] * 3600 + t[2] * 60 + t[3]) * 1000 }
        / backend (down|up) / && /service=checked/ { at = ms($1); kind = ($0 ~ / backend down /) ? "down" : "up"; next }
        at && / applied / && /10\.9\.0\.1:8080/ { all[kind] = all[kind] " " ms($1) - at; at = 0 }
        END { for (k in all) printf "BENCH %s n=%d flip=%s ms:%s\n", name, n, k, all[k] }
    ' "$log"
}

for pair in ${BINS:-after:/usr/local/bin/lbconverge}; do
    flips "${pair%%:*}" "${pair#*:}"
done
echo "ALL PASSED"
