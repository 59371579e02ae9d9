# Drift repair: a weight changed and a destination deleted with ipvsadm are restored, and
# exactly those two; a service created with ipvsadm is never touched. Then IPVS timeouts:
# set by apply and read back with ipvsadm -L --timeout, one changed with ipvsadm --set is
# listed by plan and put back by apply, and once the manifest drops them they go back to
# the values found before.
. tests/vm/lib.sh
M=tests/vm/manifests/features.yaml
dummy_if eth0 10.1.0.2/24 2001:db8:1::2/64
modprobe ip_vs
ipvsadm -A -t 10.9.9.9:80 -s rr
ipvsadm -a -t 10.9.9.9:80 -r 10.9.9.10:80 -m -w 1
exit_is "apply" 0 lbconverge apply $M --auto-approve --quiet
ipvsadm -e -t 10.1.0.100:80 -r 10.1.0.12:80 -g -w 7
ipvsadm -d -t 10.1.0.100:81 -r 10.1.0.12:81
lbconverge plan $M > /tmp/drift.plan
cat /tmp/drift.plan
same_file "plan lists exactly the two drifts" tests/vm/expected/drift.plan /tmp/drift.plan
exit_is "apply repairs" 0 lbconverge apply $M --auto-approve
rules /tmp/got.rules
grep -v 10.9.9.9 /tmp/got.rules > /tmp/managed.rules
same_file "managed rules restored" tests/vm/expected/features.rules /tmp/managed.rules
check "unmanaged service survives" sh -c 'grep -c 10.9.9.9 /tmp/got.rules | grep -qx 2'
exit_is "plan after repair: no changes" 0 lbconverge plan $M --detailed-exitcode

T=/tmp/timeouts.yaml
{ sed -n '1,/^    interface: eth0$/p' $M; echo '    ipvs_timeouts: {tcp: 10m, tcp_fin: 30s, udp: 20s}'
  sed '1,/^    interface: eth0$/d' $M; } > $T
timeouts() { ipvsadm -L --timeout; }
check "fresh kernel timeouts" sh -c 'ipvsadm -L --timeout | grep -qx "Timeout (tcp tcpfin udp): 900 120 300"'
exit_is "apply sets the timeouts" 0 lbconverge apply $T --auto-approve --quiet
timeouts
check "ipvsadm reads 600 30 20" sh -c 'ipvsadm -L --timeout | grep -qx "Timeout (tcp tcpfin udp): 600 30 20"'
check "show lists them" sh -c 'lbconverge show --format json | tr -d " \n" | grep -q "\"ipvs_timeouts\":{\"tcp\":600,\"tcp_fin\":30,\"udp\":20}"'
ipvsadm --set 0 0 300
lbconverge plan $T > /tmp/timeouts.plan
cat /tmp/timeouts.plan
check "plan lists the timeout set by hand" \
    grep -qx '  ~ ipvs timeouts: udp 300s -> 20s (ipvsadm --set 600 30 20)' /tmp/timeouts.plan
check "and nothing else" grep -qx 'Plan: 0 to add, 1 to change, 0 to destroy.' /tmp/timeouts.plan
exit_is "apply repairs the timeouts" 0 lbconverge apply $T --auto-approve --quiet
check "ipvsadm reads 600 30 20 again" sh -c 'ipvsadm -L --timeout | grep -qx "Timeout (tcp tcpfin udp): 600 30 20"'
exit_is "plan after the repair: no changes" 0 lbconverge plan $T --detailed-exitcode
exit_is "apply without them" 0 lbconverge apply $M --auto-approve --quiet
timeouts
check "undeclared timeouts go back" sh -c 'ipvsadm -L --timeout | grep -qx "Timeout (tcp tcpfin udp): 900 120 300"'
exit_is "plan after that: no changes" 0 lbconverge plan $M --detailed-exitcode
finish
