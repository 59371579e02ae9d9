# End to end, LVS-TUN: the director encapsulates (IP-in-IP) to two real servers that hold
# the VIP on tunl0 and answer the client directly.
. tests/vm/lib.sh
M=tests/vm/manifests/e2e-tun.yaml
modprobe ip_vs
one_link_cluster
apply_all $M
check "VIP on tunl0 of rs1" sh -c 'ip -n rs1 addr show dev tunl0 | grep -q "10.7.0.100/32"'
check "tunl0 up on rs1" sh -c 'ip -n rs1 link show tunl0 | grep -q ",UP"'
round_robin
converged $M
finish
