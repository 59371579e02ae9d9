# Health checks end to end on real IPVS: `lbconverge run` on an LVS-NAT director adds each
# real server after its first passing HTTP check, takes a dead one out (or to weight 0 with
# inhibit_on_failure, or swaps in the sorry server below quorum) within
# interval x (retries + 1) + timeout, puts it back when it answers again, and a restart with
# a healthy cluster writes nothing.
. tests/vm/lib.sh
M=tests/vm/manifests/e2e-health.yaml
modprobe ip_vs
bridge br0
bridge br1
for n in client dir rs1 rs2 sorry; do host $n; done
wire client eth0 br0 10.7.0.2/24
wire dir eth0 br0 10.7.0.3/24
wire dir eth1 br1 10.8.0.1/24
wire rs1 eth0 br1 10.8.0.11/24
wire rs2 eth0 br1 10.8.0.12/24
wire sorry eth0 br1 10.8.0.13/24
ip -n sorry route add default via 10.8.0.1
serve rs1 rs1 8080
serve rs2 rs2 8080
serve sorry sorry 8080
for n in rs1 rs2; do exit_is "apply on $n" 0 lbc $n apply $M --node $n --auto-approve --quiet; done

table() { ipvs_table dir "10.7.0.100:$1"; }
both="10.8.0.11:8080=1 10.8.0.12:8080=1 "
httpd_pid() { for p in $(ip netns pids "$1"); do grep -q httpd "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done; }

lbc_bg dir run $M --node dir --resync 5s > /tmp/run.log 2>&1 &
RUN=$!
within 20 "both real servers join after their first check" 80 "$both"
within 5 "inhibit service: both at their weight" 81 "$both"
within 5 "quorum service: both, no sorry server" 82 "$both"
within 5 "slow start: both at full weight from the start" 83 "10.8.0.11:8080=10 10.8.0.12:8080=10 "
round_robin

kill $(httpd_pid rs2)
within 5 "rs2 leaves the service" 80 "10.8.0.11:8080=1 "
within 2 "inhibit_on_failure: rs2 at weight 0" 81 "10.8.0.11:8080=1 10.8.0.12:8080=0 "
within 2 "below quorum: only the sorry server" 82 "10.8.0.13:8080=1 "
within 2 "slow start service: rs2 out" 83 "10.8.0.11:8080=10 "
fetch 10 http://10.7.0.100/ > /tmp/after
check "every request after the removal is served by rs1" test "$(grep -c '^rs1$' /tmp/after)" = 10
check "the sorry server answers below quorum" test "$(fetch 1 http://10.7.0.100:82/)" = sorry
check "applied at once, planned for the touched services alone" grep -q 'health: health changes of 4 services: 1 to add, 1 to change, 4 to destroy' /tmp/run.log
check "the transition is logged" grep -q 'backend down service=web backend=rs2 check=http 10.8.0.12:8080/ reason=connect refused' /tmp/run.log

ip netns exec rs2 busybox httpd -p 8080 -h /srv/rs2
within 5 "rs2 is back" 80 "$both"
within 2 "inhibit_on_failure: rs2 back at its weight" 81 "$both"
# slow_start 4s: rs2 comes back at a tenth of its weight and grows a tenth every 0.4 s.
ramping() { w=$(table 83 | sed -n 's/.*10.8.0.12:8080=\([0-9]*\) .*/\1/p'); [ -n "$w" ] && [ "$w" -lt 10 ]; }
k=0; seen=""
while [ "$k" -lt 50 ]; do ramping && seen="$seen $w"; [ "$(table 83)" = "10.8.0.11:8080=10 10.8.0.12:8080=10 " ] && [ -n "$seen" ] && break; k=$((k + 1)); usleep 100000; done
echo "slow start weights seen:$seen"
check "slow start: rs2 came back below its weight" test -n "$seen"
# Every step is an IPVS write the daemon logs (the 100 ms polls above miss some on a busy host).
check "slow start: its weight grew in steps" test "$(grep -c 'ipvs destination 10.8.0.12:8080 in tcp 10.7.0.100:83: weight [0-9]* -> ' /tmp/run.log)" -ge 3
within 6 "slow start: rs2 reaches its full weight" 83 "10.8.0.11:8080=10 10.8.0.12:8080=10 "
# The sorry server is alive: it drains (weight 0) rather than losing its clients.
within 2 "quorum back: the real servers replace the sorry server" 82 "${both}10.8.0.13:8080=0 "

stop_daemon $RUN "run"
ipvsadm_before=$(ip netns exec dir ipvsadm -S -n | sort)
lbc_bg dir run $M --node dir --resync 5s > /tmp/run2.log 2>&1 &
RUN=$!
sleep 4
check "the restarted daemon runs" kill -0 $RUN
check "the restarted daemon started its checks" grep -q "health checks starting" /tmp/run2.log
check "the restarted daemon took no backend down" sh -c '! grep -q "backend down" /tmp/run2.log'
check "a restart with a healthy cluster writes nothing" sh -c '! grep -q "outcome=Done" /tmp/run2.log'
check "the IPVS table is unchanged" test "$(ip netns exec dir ipvsadm -S -n | sort)" = "$ipvsadm_before"
stop_daemon $RUN "the restarted run"
cat /tmp/run.log /tmp/run2.log | grep -v "^$" | tail -30
finish
