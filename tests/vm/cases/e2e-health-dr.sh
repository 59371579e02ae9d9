# The data-path check on real IPVS: `lbconverge run` on an LVS-DR director checks the real
# servers of one service through IPVS (`via: ipvs`: a firewall-mark service per backend,
# probes marked with SO_MARK), and of another on their own addresses. When rs2 loses the
# VIP from its lo, its own address still answers HTTP: the plain check keeps it, the
# data-path check takes it out; with the VIP back it returns.
. tests/vm/lib.sh
M=tests/vm/manifests/e2e-health-dr.yaml
modprobe ip_vs
one_link_cluster
for n in rs1 rs2; do exit_is "apply on $n" 0 lbc $n apply $M --node $n --auto-approve --quiet; done
table() { ipvs_table dir "$1"; }
both="10.7.0.11:80=1 10.7.0.12:80=1 "
lbc dir run $M --node dir --resync 30s > /tmp/run.log 2>&1 &
RUN=$!
within 20 "both join after passing through IPVS" 10.7.0.100:80 "$both"
within 5 "both join on their own addresses" 10.7.0.101:80 "$both"
check "one firewall-mark service per backend carries the probes" test "$(ip netns exec dir ipvsadm -Ln | grep -c '^FWM')" = 2
round_robin

ip -n rs2 addr del 10.7.0.100/32 dev lo
within 5 "rs2 without the VIP fails the data-path check" 10.7.0.100:80 "10.7.0.11:80=1 "
check "its own address still answers: the plain check keeps it" test "$(table 10.7.0.101:80)" = "$both"
check "the reason is logged" grep -q 'backend down service=web backend=rs2 check=http 10.7.0.12:80/ via ipvs 10.7.0.100' /tmp/run.log
ip -n rs2 addr add 10.7.0.100/32 dev lo label lo:0
within 5 "rs2 with the VIP again is back" 10.7.0.100:80 "$both"
stop_daemon $RUN "run"
grep -E "backend|health" /tmp/run.log | tail -8
finish
