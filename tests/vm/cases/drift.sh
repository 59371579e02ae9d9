# Drift repair: a weight changed and a destination deleted with ipvsadm are restored, and
# exactly those two; a service created with ipvsadm is never touched.
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
finish
