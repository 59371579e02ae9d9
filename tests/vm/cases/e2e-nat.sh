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
converged $M
finish
