# Health checks side by side with keepalived's checker, in one VM: two LVS-NAT directors in
# their own namespaces (own IPVS tables) check the same two real servers over HTTP with the
# same settings (every 1 s, timeout 1 s, 1 retry 1 s later): lbconverge run in `dir`,
# keepalived in `kdir`. rs2's web server is killed RUNS times (default 3); both must remove
# it, and each one's detection time (kill -> rs2 gone from its IPVS table, polled every
# 20 ms) is printed as `RESULT`; then rs2 is restarted and both must put it back. Both
# write their checker lines to a notify FIFO (keepalived's lvs_notify_fifo, lbconverge's
# `events: [lvs]`; keepalived in `alpha` mode, which starts its real servers down as
# lbconverge does): each real server's `RS` lines of the service on port 80 must be the
# same in both, in the same order.
. tests/vm/lib.sh
M=tests/vm/manifests/e2e-health.yaml
runs=${RUNS:-3}
modprobe ip_vs
bridge br0
bridge br1
for n in client dir kdir rs1 rs2 sorry; do host $n; done
wire client eth0 br0 10.7.0.2/24
wire dir eth0 br0 10.7.0.3/24
wire dir eth1 br1 10.8.0.1/24
wire kdir eth0 br0 10.7.0.4/24
wire kdir eth1 br1 10.8.0.2/24
wire rs1 eth0 br1 10.8.0.11/24
wire rs2 eth0 br1 10.8.0.12/24
wire sorry eth0 br1 10.8.0.13/24
serve rs1 rs1 8080
serve rs2 rs2 8080
serve sorry sorry 8080

mkdir -p /etc/keepalived
{
    printf 'global_defs {\n    router_id kdir\n    lvs_notify_fifo /tmp/k.fifo\n}\n'
    printf 'virtual_server 10.7.0.100 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    alpha\n'
    ka_real_server 10.8.0.11 8080 http
    ka_real_server 10.8.0.12 8080 http
    echo "}"
} > /tmp/kdir.conf
sed 's/interval: 1s, timeout: 1s, retries: 1, retry_delay: 500ms/interval: 1s, timeout: 1s, retries: 1, retry_delay: 1s/' $M > /tmp/m.yaml
check "the same check settings as keepalived's" grep -q 'retry_delay: 1s' /tmp/m.yaml
printf 'notify_fifos: [{path: /tmp/l.fifo, events: [lvs]}]\n' >> /tmp/m.yaml
ip netns exec kdir keepalived -n -l -D -C -f /tmp/kdir.conf -p /tmp/k.pid -c /tmp/kc.pid > /tmp/keepalived.log 2>&1 &
KA=$!
lbc_bg dir run /tmp/m.yaml --node dir --resync 30s > /tmp/run.log 2>&1 &
RUN=$!

# has NS: rs2 is in NS's IPVS table for 10.7.0.100:80.
has() { ip netns exec "$1" ipvsadm -Ln -t 10.7.0.100:80 2>/dev/null | grep -q '10.8.0.12:8080'; }
both_have() { has dir && has kdir; }
now_cs() { cut -d' ' -f1 /proc/uptime | tr -d .; }
httpd_pid() { for p in $(ip netns pids "$1"); do grep -q httpd "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done; }
# wait_until SECONDS CMD: polls CMD every 20 ms.
wait_until() { n=0; while ! "$2"; do n=$((n + 1)); [ "$n" -gt $(($1 * 50)) ] && return 1; usleep 20000; done; }

wait_until 20 both_have && pass "both directors hold both real servers" || fail "not both in both tables"
# The lines written so far wait in the pipes (each daemon holds its FIFO open read-write).
cat /tmp/k.fifo > /tmp/k.lines &
cat /tmp/l.fifo > /tmp/l.lines &
run=1
while [ "$run" -le "$runs" ]; do
    sleep 2
    t0=$(now_cs)
    kill $(httpd_pid rs2)
    lbc_ms=""; ka_ms=""
    n=0
    while [ -z "$lbc_ms" ] || [ -z "$ka_ms" ]; do
        [ -z "$lbc_ms" ] && ! has dir && lbc_ms=$((($(now_cs) - t0) * 10))
        [ -z "$ka_ms" ] && ! has kdir && ka_ms=$((($(now_cs) - t0) * 10))
        n=$((n + 1))
        [ "$n" -gt 500 ] && break
        usleep 20000
    done
    echo "RESULT run=$run lbconverge_ms=${lbc_ms:-none} keepalived_ms=${ka_ms:-none}"
    check "run $run: lbconverge removed rs2" test -n "$lbc_ms"
    check "run $run: keepalived removed rs2" test -n "$ka_ms"
    ip netns exec rs2 busybox httpd -p 8080 -h /srv/rs2
    wait_until 10 both_have && pass "run $run: both put rs2 back" || fail "run $run: rs2 not back in both"
    run=$((run + 1))
done
kill $KA
stop_daemon $RUN "run"
grep -c "backend down" /tmp/run.log
sleep 1
for rs in 10.8.0.11 10.8.0.12; do
    echo "keepalived's lines of $rs:"; grep "^RS \[$rs\]:tcp:8080 \[10.7.0.100\]:tcp:80 " /tmp/k.lines | tee /tmp/k.$rs
    echo "lbconverge's lines of $rs:"; grep "^RS \[$rs\]:tcp:8080 \[10.7.0.100\]:tcp:80 " /tmp/l.lines | tee /tmp/l.$rs
    same_file "$rs: the same RS lines as keepalived's, in its order" /tmp/k.$rs /tmp/l.$rs
done
check "rs2 went down and up $runs times in keepalived's lines" test "$(grep -c '^RS \[10.8.0.12\].* DOWN$' /tmp/k.10.8.0.12)" -eq "$runs"
echo "keepalived's VS lines:"; grep '^VS' /tmp/k.lines
echo "lbconverge's VS lines of port 80:"; grep '^VS \[10.7.0.100\]:tcp:80 ' /tmp/l.lines
check "keepalived's VS line is lbconverge's last" test "$(grep '^VS' /tmp/k.lines)" = "$(grep '^VS \[10.7.0.100\]:tcp:80 ' /tmp/l.lines | tail -1)"
finish
