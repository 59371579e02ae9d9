# End to end, LVS-TUN: the director encapsulates (IP-in-IP) to two real servers that hold
# the VIP on tunl0 and answer the client directly.
. tests/vm/lib.sh
M=tests/vm/manifests/e2e-tun.yaml
modprobe ip_vs
bridge br0
for n in client dir rs1 rs2; do host $n; done
wire client eth0 br0 10.7.0.2/24
wire dir eth0 br0 10.7.0.3/24
wire rs1 eth0 br0 10.7.0.11/24
wire rs2 eth0 br0 10.7.0.12/24
serve rs1 rs1 80
serve rs2 rs2 80
for n in dir rs1 rs2; do exit_is "apply on $n" 0 lbc $n apply $M --node $n --auto-approve --quiet; done
check "VIP on tunl0 of rs1" sh -c 'ip -n rs1 addr show dev tunl0 | grep -q "10.7.0.100/32"'
check "tunl0 up on rs1" sh -c 'ip -n rs1 link show tunl0 | grep -q ",UP"'
fetch 6 http://10.7.0.100/ > /tmp/answers
cat /tmp/answers
check "rs1 answered 3 of 6" test "$(grep -c '^rs1$' /tmp/answers)" = 3
check "rs2 answered 3 of 6" test "$(grep -c '^rs2$' /tmp/answers)" = 3
for n in dir rs1 rs2; do exit_is "plan on $n: no changes" 0 lbc $n plan $M --node $n --detailed-exitcode; done
finish
