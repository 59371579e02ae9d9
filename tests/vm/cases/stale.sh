# A saved plan is refused once the host changed, and nothing is changed; a fresh one applies.
. tests/vm/lib.sh
M=tests/vm/manifests/features.yaml
dummy_if eth0 10.1.0.2/24 2001:db8:1::2/64
modprobe ip_vs
exit_is "plan --out" 0 lbconverge plan $M --out /tmp/p.json
ipvsadm -A -t 10.9.9.9:80 -s rr
rules /tmp/before.rules
exit_is "stale plan refused" 1 lbconverge apply --plan /tmp/p.json --auto-approve
check "the refusal says why" grep -q "stale plan" /tmp/exit_is.out
cat /tmp/exit_is.out
rules /tmp/after.rules
same_file "nothing changed" /tmp/before.rules /tmp/after.rules
exit_is "fresh plan --out" 0 lbconverge plan $M --out /tmp/p2.json
exit_is "fresh plan applies" 0 lbconverge apply --plan /tmp/p2.json --auto-approve --quiet
exit_is "plan after apply: no changes" 0 lbconverge plan $M --detailed-exitcode
finish
