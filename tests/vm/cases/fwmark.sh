# Firewall marks from the manifest (the seed's three rules): lbconverge writes its nftables
# table on the director, real traffic from two client subnets lands on the right
# firewall-mark service (each with a real server of its own), another table is never
# touched, and a deleted rule (repaired by `apply`) and an edited one (repaired by the
# daemon's periodic reconcile) are put back.
. tests/vm/lib.sh
M=tests/vm/manifests/fwmark.yaml
modprobe ip_vs
modprobe nf_tables
check "nft is in the guest" nft --version
bridge br0
bridge br1
bridge br2
for n in cin cout dir rs1 rs2 rs3; do host $n; done
wire cin eth0 br0 192.168.20.2/24
wire cout eth0 br2 10.30.0.2/24
wire dir eth0 br0 192.168.20.1/24
wire dir eth1 br1 10.8.0.1/24
wire dir eth2 br2 10.30.0.1/24
ip -n cin route add default via 192.168.20.1
ip -n cout route add default via 10.30.0.1
for i in 1 2 3; do
    wire rs$i eth0 br1 10.8.0.1$i/24
    serve rs$i rs$i 80
    ip netns exec rs$i busybox httpd -p 443 -h /srv/rs$i
done
# Someone else's table on the director: lbconverge must leave it as it is.
ip netns exec dir nft -f - <<'NFT'
table inet other {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 9999 drop
    }
}
NFT
ip netns exec dir nft list table inet other > /tmp/other.before

for n in dir rs1 rs2 rs3; do exit_is "apply on $n" 0 lbc $n apply $M --node $n --auto-approve --quiet; done
lbc dir show --format nft > /tmp/show.nft
cat /tmp/show.nft
same_file "show prints the table" tests/vm/expected/fwmark.nft /tmp/show.nft
ip netns exec dir nft list table inet lbconverge
check "the kernel's table has the three rules, 200 before 300" sh -c \
    'ip netns exec dir nft list table inet lbconverge | grep -o "mark set 0x[0-9a-f]*" | tr "\n" " " | grep -qx "mark set 0x00000064 mark set 0x000000c8 mark set 0x0000012c "'

# get CLIENT URL: one fetch, the answering real server's name.
get() { ip netns exec "$1" timeout 5 busybox wget -q -O - "$2" 2>/dev/null || echo "no answer"; }
# lands CLIENT URL WANT: two fetches, both answered by WANT.
lands() { a=$(get "$1" "$2"); b=$(get "$1" "$2"); check "$1 -> $2 lands on $3 ($a, $b)" test "$a $b" = "$3 $3"; }
every_path() { # HTTPS-INSIDE-WANT HTTPS-OUTSIDE-WANT
    for c in cin cout; do
        lands $c http://172.16.50.100/ rs1
        lands $c http://172.16.50.100:443/ rs1
    done
    lands cin http://172.16.50.101:443/ "$1"
    lands cout http://172.16.50.101:443/ "$2"
}
every_path rs2 rs3
lbc dir show --format nft > /tmp/counted.nft
check "show: the rules counted the traffic" grep -q "counter packets [1-9]" /tmp/counted.nft
exit_is "converged: plan finds nothing to do" 0 lbc dir plan $M --node dir --detailed-exitcode

# Drift 1: the inside rule deleted by hand. Inside clients now fall through to mark 300.
h=$(ip netns exec dir nft -a list chain inet lbconverge prerouting | awk '/mark set 0x000000c8/ {print $NF}')
ip netns exec dir nft delete rule inet lbconverge prerouting handle "$h"
lands cin http://172.16.50.101:443/ rs3
exit_is "plan sees the deleted rule" 2 lbc dir plan $M --node dir --detailed-exitcode
lbc dir plan $M --node dir | sed -n '/^Changes/,/^Plan/p' > /tmp/drift.plan
cat /tmp/drift.plan
same_file "plan lists the rule to put back" tests/vm/expected/fwmark-drift.plan /tmp/drift.plan
exit_is "apply repairs" 0 lbc dir apply $M --node dir --auto-approve --quiet
every_path rs2 rs3

# Drift 2: the outside rule edited by hand to mark 200, repaired by `run`'s reconcile.
ip netns exec dir lbconverge --state-dir /var/lib/lbc-dir run $M --node dir --resync 1s > /tmp/run.log 2>&1 &
RUN=$!
sleep 2   # its first pass: nothing to do
# Stopped while the rule is edited and the edit is seen to matter, then let go.
kill -STOP $RUN
h=$(ip netns exec dir nft -a list chain inet lbconverge prerouting | awk '/mark set 0x0000012c/ {print $NF}')
ip netns exec dir nft replace rule inet lbconverge prerouting handle "$h" \
    ip daddr 172.16.50.101 tcp dport 443 meta mark set 200 accept
lands cout http://172.16.50.101:443/ rs2
kill -CONT $RUN
i=0
while ! ip netns exec dir nft list table inet lbconverge | grep -q "mark set 0x0000012c"; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then fail "the daemon did not repair the edited rule within 10 s"; break; fi
    usleep 100000
done
[ $i -gt 100 ] || pass "the daemon repaired the edited rule after $((i * 100)) ms"
every_path rs2 rs3
stop_daemon $RUN "run"
grep "nftables" /tmp/run.log
check "run logged the repair (the edited rule lost its comment: one out, one in)" grep -q "change=nftables table inet lbconverge: 1 to add, 0 to change, 1 to remove" /tmp/run.log

ip netns exec dir nft list table inet other > /tmp/other.after
same_file "the other table is untouched" /tmp/other.before /tmp/other.after
exit_is "plan after repair: no changes" 0 lbc dir plan $M --node dir --detailed-exitcode
finish
