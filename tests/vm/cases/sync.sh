# Connection sync across a VRRP failover, on real IPVS: two LVS-DR directors (d1 master,
# d2 backup) under `lbconverge run`, two echo real servers, a client holding 100 TCP
# connections through the VIP that each echo a line every 100 ms. d1 dies (its link goes
# down, its lbconverge is killed); d2 takes the VIP over. With `connection_sync` every held
# connection keeps working; without it (the same cluster, sync-off.yaml) they are cut,
# which shows the check can fail. `ipvsadm -L --daemon` agrees with `lbconverge show`,
# plan finds nothing to do while the daemons run, and status names the sync daemon.
. tests/vm/lib.sh
modprobe ip_vs
modprobe ip_vs_rr
HELD=${HELD:-/usr/local/bin/lbc-held}
N=100

# uptime_ms: the guest's uptime in milliseconds (10 ms steps).
uptime_ms() { awk '{ split($1, t, "."); print t[1] * 1000 + t[2] * 10 }' /proc/uptime; }
# holds NS: the namespace holds the VIP.
holds() { ip -n "$1" addr show dev eth0 | grep -q "inet 10.7.0.100/"; }

# failover TAG MANIFEST: builds the cluster in namespaces TAG-*, holds $N connections,
# fails d1 over to d2; the client's report is left in /tmp/TAG.held.
failover() {
    tag=$1; m=$2
    bridge "br-$tag"
    for n in c d1 d2 rs1 rs2; do host "$tag-$n"; done
    wire "$tag-c" eth0 "br-$tag" 10.7.0.2/24
    wire "$tag-d1" eth0 "br-$tag" 10.7.0.3/24
    wire "$tag-d2" eth0 "br-$tag" 10.7.0.4/24
    wire "$tag-rs1" eth0 "br-$tag" 10.7.0.11/24
    wire "$tag-rs2" eth0 "br-$tag" 10.7.0.12/24
    serve "$tag-rs1" rs1 80
    serve "$tag-rs2" rs2 80
    for n in rs1 rs2; do exit_is "$tag: apply on $n" 0 lbc "$tag-$n" apply "$m" --node $n --auto-approve --quiet; done
    # Not through `lbc`: $! must be lbconverge itself, not a subshell.
    ip netns exec "$tag-d1" lbconverge --state-dir "/var/lib/lbc-$tag-d1" run "$m" --node d1 \
        --control "/run/lbc-$tag-d1.sock" > "/tmp/$tag.d1.log" 2>&1 &
    d1_pid=$!
    sleep 1
    ip netns exec "$tag-d2" lbconverge --state-dir "/var/lib/lbc-$tag-d2" run "$m" --node d2 \
        --control "/run/lbc-$tag-d2.sock" > "/tmp/$tag.d2.log" 2>&1 &
    d2_pid=$!
    i=0
    until holds "$tag-d1"; do
        i=$((i + 1)); [ $i -gt 200 ] && break; usleep 100000
    done
    check "$tag: d1 is master (holds the VIP)" holds "$tag-d1"
    rm -f "/tmp/$tag.ready"
    ip netns exec "$tag-c" "$HELD" 10.7.0.100:9000 $N 25 "/tmp/$tag.ready" > "/tmp/$tag.held" 2>&1 &
    client=$!
    i=0
    until [ -e "/tmp/$tag.ready" ]; do i=$((i + 1)); [ $i -gt 300 ] && break; usleep 100000; done
    check "$tag: $N connections open" test -e "/tmp/$tag.ready"
    # The master's kernel sends a connection once it has seen a few packets of it, and
    # flushes its buffer at least every 2 s.
    sleep 5
    echo "$tag: connections d2 knows before the failover: $(ip netns exec "$tag-d2" ipvsadm -Lnc | grep -c 10.7.0.100:9000)"
    t0=$(uptime_ms)
    ip -n "$tag-d1" link set eth0 down
    kill -9 $d1_pid
    until holds "$tag-d2" || [ $(($(uptime_ms) - t0)) -gt 20000 ]; do usleep 100000; done
    check "$tag: d2 took the VIP over within 20 s (after $(($(uptime_ms) - t0)) ms)" holds "$tag-d2"
    wait $client
    cat "/tmp/$tag.held"
}

# With connection sync.
M=tests/vm/manifests/sync.yaml
failover on $M
check "sync: every held connection survived the failover" grep -qx "survived $N of $N" /tmp/on.held
check "sync: both real servers held connections" test "$(grep -c '^backend rs[12]: ' /tmp/on.held)" = 2
ip netns exec on-d2 ipvsadm -L --daemon > /tmp/a
ip netns exec on-d2 lbconverge show --format daemons > /tmp/b
cat /tmp/a
same_file "sync: ipvsadm -L --daemon agrees with show on d2" /tmp/a /tmp/b
check "sync: d2 runs the master daemon now" grep -qx "master sync daemon (mcast=eth0, syncid=51, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)" /tmp/a
check "sync: d2's backup daemon stopped" sh -c '! grep -q "^backup" /tmp/a'
lbc on-d2 status --control /run/lbc-on-d2.sock > /tmp/status
check "sync: status shows the daemon" grep -q "^  connection sync: master sync daemon (mcast=eth0, syncid=51)" /tmp/status
exit_is "sync: plan on d2 while it runs: no changes" 0 lbc on-d2 plan $M --node d2 --detailed-exitcode
grep "ipvs sync daemon" /tmp/exit_is.out
check "sync: plan notes the daemon" grep -q "ipvs sync daemon (mcast=eth0, syncid=51): managed by VRRP instance vi (master running here now)" /tmp/exit_is.out
check "sync: d2 logged the switch" grep -q "connection sync.*daemon=master sync daemon" /tmp/on.d2.log
stop_daemon $d2_pid "sync: d2's lbconverge"
ip netns exec on-d2 ipvsadm -L --daemon > /tmp/a
check "sync: a stopped lbconverge leaves no sync daemon" test ! -s /tmp/a
cat /tmp/a

# The same without connection sync: the failover cuts what the connections held.
failover off tests/vm/manifests/sync-off.yaml
check "no sync: the held connections were cut" grep -qx "survived 0 of $N" /tmp/off.held
check "no sync: no sync daemon ran" test -z "$(ip netns exec off-d2 ipvsadm -L --daemon)"
stop_daemon $d2_pid "no sync: d2's lbconverge"
echo "connections kept across the failover: with sync $(sed -n 's/^survived //p' /tmp/on.held), without $(sed -n 's/^survived //p' /tmp/off.held)"
tail -5 /tmp/on.d2.log
finish
