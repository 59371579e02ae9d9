# End to end, LVS-NAT: the director on two bridges rewrites requests to port 8080 of two
# real servers whose default route lbconverge points at the director.
. tests/vm/lib.sh
M=tests/vm/manifests/e2e-nat.yaml
modprobe ip_vs
bridge br0
bridge br1
for n in client dir rs1 rs2; do host $n; done
wire client eth0 br0 10.7.0.2/24
wire dir eth0 br0 10.7.0.3/24
wire dir eth1 br1 10.8.0.1/24
wire rs1 eth0 br1 10.8.0.11/24
wire rs2 eth0 br1 10.8.0.12/24
serve rs1 rs1 8080
serve rs2 rs2 8080
apply_all $M
check "rs1 routes through the director" sh -c 'ip -n rs1 route show default | grep -q "via 10.8.0.1"'
check "director forwards" test "$(ip netns exec dir cat /proc/sys/net/ipv4/ip_forward)" = 1
round_robin
# The kernel's traffic counters as show reads them: the 6 fetches were 6 connections, 3 per
# real server, with packets and bytes both ways (NAT sees the answers), and the service's
# packets in are the ones ipvsadm --stats counts (its counters follow its destinations').
# The kernel adds up its per-CPU counters at the rate estimator's tick (2 s): wait for it.
svc_stats() { ip netns exec dir ipvsadm -Ln --stats --exact -t 10.7.0.100:80 | awk '$1 == "TCP" {print $3, $4}'; }
i=0
while [ "$(svc_stats | cut -d ' ' -f 1)" != 6 ] && [ "$i" -lt 50 ]; do usleep 100000; i=$((i + 1)); done
lbc dir show --format json > /tmp/show.json
check "show: 6 connections to the service" test "$(grep -c '"conns": 6,' /tmp/show.json)" = 1
check "show: 3 connections to each real server" test "$(grep -c '"conns": 3,' /tmp/show.json)" = 2
for c in in_pkts out_pkts in_bytes out_bytes; do
    check "show: $c counted" grep -q "\"$c\": [1-9]" /tmp/show.json
done
lbc_in=$(grep '"in_pkts"' /tmp/show.json | tail -n 1 | tr -dc 0-9)
ipvsadm_in=$(svc_stats | cut -d ' ' -f 2)
check "show's service packets in ($lbc_in) are ipvsadm's ($ipvsadm_in)" test "$lbc_in" = "$ipvsadm_in"
converged $M
finish
