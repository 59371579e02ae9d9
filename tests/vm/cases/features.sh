# Every scheduler, forwarding method, fwmark (v4/v6), persistence with netmask, one-packet,
# IPv6 and SCTP: apply, then ipvsadm and lbconverge agree with the expected rules exactly.
. tests/vm/lib.sh
M=tests/vm/manifests/features.yaml
dummy_if eth0 10.1.0.2/24 2001:db8:1::2/64
exit_is "plan on a host without ip_vs: all to add" 2 lbconverge plan $M --detailed-exitcode
check "plan did not load ip_vs" test ! -e /proc/net/ip_vs
exit_is "apply" 0 lbconverge apply $M --auto-approve --quiet
rules /tmp/got.rules
cat /tmp/got.rules
same_file "ipvsadm -S -n after apply" tests/vm/expected/features.rules /tmp/got.rules
lbc_rules /tmp/lbc.rules
same_file "lbconverge show --format ipvsadm agrees with ipvsadm -S -n" /tmp/got.rules /tmp/lbc.rules
exit_is "plan after apply: no changes" 0 lbconverge plan $M --detailed-exitcode
exit_is "second apply" 0 lbconverge apply $M --auto-approve
check "second apply made no change" grep -q "No changes" /tmp/exit_is.out
check "static IPv4 VIP on eth0" sh -c 'ip -4 addr show dev eth0 | grep -q "10.1.0.100/32"'
check "static IPv6 VIP on eth0" sh -c 'ip -6 addr show dev eth0 | grep -q "2001:db8:1::100/128"'
check "send_redirects off" test "$(cat /proc/sys/net/ipv4/conf/eth0/send_redirects)" = 0
check "ip_forward on for NAT" test "$(cat /proc/sys/net/ipv4/ip_forward)" = 1
finish
