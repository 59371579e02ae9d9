# End to end, LVS-DR: client, director and two real servers on one bridge. lbconverge
# configures the director and both real servers from one manifest; HTTP to the VIP is
# answered by both (round robin); the client's ARP entry for the VIP is the director's.
# Then rs2 is removed from the manifest: new requests go only to rs1, while a connection
# already open to rs2 keeps working; once it closes, the next apply deletes rs2.
. tests/vm/lib.sh
M=tests/vm/manifests/e2e-dr.yaml
modprobe ip_vs
one_link_cluster
apply_all $M
check "VIP on lo:0 of rs1" sh -c 'ip -n rs1 addr show dev lo | grep -q "10.7.0.100/32 scope global lo:0"'
round_robin
dir_mac=$(ip -n dir link show eth0 | awk '/link\/ether/ {print $2}')
check "client resolves the VIP to the director" sh -c "ip -n client neigh show 10.7.0.100 | grep -q $dir_mac"
converged $M

# Hold a connection to rs2 open, from the client, while rs2 is removed.
rm -f /tmp/held /tmp/go /tmp/reply
cat > /tmp/hold.sh <<'HOLD'
for try in 1 2 3 4; do
    exec 3<>/dev/tcp/10.7.0.100/9000
    read -t 5 -u 3 who
    [ "$who" = rs2 ] && break
    exec 3<&-
done
echo "$who" > /tmp/held
while [ ! -e /tmp/go ]; do sleep 0.2; done
echo ping >&3
read -t 5 -u 3 reply
echo "$reply" > /tmp/reply
exec 3<&-
HOLD
ip netns exec client bash /tmp/hold.sh &
for i in $(seq 50); do [ -e /tmp/held ] && break; sleep 0.2; done
check "a connection to rs2 is open" grep -qx rs2 /tmp/held
exit_is "apply without rs2" 0 lbc dir apply tests/vm/manifests/e2e-dr-one.yaml --node dir --auto-approve
cat /tmp/exit_is.out
check "rs2 is left draining" grep -q "left draining" /tmp/exit_is.out
ip netns exec dir ipvsadm -Ln
fetch 4 http://10.7.0.100/ > /tmp/after
cat /tmp/after
check "new requests go to rs1 only" test "$(grep -c '^rs1$' /tmp/after)" = 4
touch /tmp/go
for i in $(seq 50); do [ -s /tmp/reply ] && break; sleep 0.2; done
check "the open connection to rs2 was not cut" grep -qx ping /tmp/reply
exit_is "next apply deletes drained rs2" 0 lbc dir apply tests/vm/manifests/e2e-dr-one.yaml --node dir --auto-approve --drain-timeout 1s
check "rs2 is gone from IPVS" ipvs_lacks dir 10.7.0.12
exit_is "plan on dir: no changes" 0 lbc dir plan tests/vm/manifests/e2e-dr-one.yaml --node dir --detailed-exitcode
finish
