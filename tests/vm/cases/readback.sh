# Tables written by ipvsadm are read back by lbconverge show exactly.
. tests/vm/lib.sh
modprobe ip_vs
ipvsadm -R < tests/vm/expected/features.rules
ipvsadm -A -t 192.0.2.50:80 -s wrr -p 120
ipvsadm -a -t 192.0.2.50:80 -r 192.0.2.51:8080 -m -w 0
ipvsadm -a -t 192.0.2.50:80 -r 192.0.2.52:8080 -m -w 65535
ipvsadm -A -u [2001:db8::53]:53 -s sh -b sh-port
ipvsadm -a -u [2001:db8::53]:53 -r [2001:db8::54]:53 -g -w 1
rules /tmp/ipvsadm.rules
lbc_rules /tmp/lbc.rules
same_file "show --format ipvsadm equals ipvsadm -S -n" /tmp/ipvsadm.rules /tmp/lbc.rules
# features.yaml's node d1 names eth0; the snapshot must show it (plan checks interfaces).
ip link add eth0 type dummy
lbconverge show > /tmp/snap.yaml
check "show prints a snapshot that plan --live reads" lbconverge plan tests/vm/manifests/features.yaml --node d1 --live /tmp/snap.yaml
finish
