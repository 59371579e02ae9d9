# VRRP over an ipvlan (vrrp.X.ipvlan, keepalived's use_ipvlan) on a kernel with the ipvlan
# driver (the host's CI kernel has none, so tests/ipvlan_lab.rs can only say SKIP there).
# A client and two directors (namespaces ivc, iv1, iv2) on bridge brv; `lbconverge run` on
# both with tests/vm/manifests/ipvlan.yaml (100 ms adverts, ipvlan in private mode):
# - both make vrrp.51, an L2 ipvlan in private mode on eth0, up, with their own address;
# - exactly one master (n1) holds the VIP, on eth0 (the ipvlan carries the adverts only, as
#   in keepalived 2.2.7) and not on its ipvlan; the client pings it;
# - n1's eth0 goes down: n2 takes the VIP over (time printed) and the client reaches it;
# - n1's eth0 comes back: n1 preempts (one master again) and the client reaches it;
# - SIGTERM: both exit 0 and remove their ipvlan; n2 takes the VIP when n1 stops.
# With keepalived in the guest: keepalived 2.2 (`use_ipvlan vrrp.51 10.9.0.31/24 private`)
# on iv1 and lbconverge on iv2 elect one master; keepalived's stop moves the VIP to
# lbconverge, its return takes it back. keepalived makes the ipvlan with its address but puts
# the VIP on eth0, the base interface; the case checks that.
#
# The VIPs were on the ipvlan once: a client that learnt the new master's MAC from its
# gratuitous ARPs then did not reach it (the replies left by eth0, whose ARP answers the
# kernel handed to the ipvlan holding the VIP); on eth0, as keepalived holds them, it does.
. tests/vm/lib.sh
M=tests/vm/manifests/ipvlan.yaml
VIP=10.9.0.100
check "the kernel loads the ipvlan driver" modprobe ipvlan
bridge brv
for n in ivc iv1 iv2; do host $n; done
wire ivc eth0 brv 10.9.0.2/24
wire iv1 eth0 brv 10.9.0.3/24
wire iv2 eth0 brv 10.9.0.4/24

# uptime_ms: the guest's uptime in milliseconds (10 ms steps).
uptime_ms() { awk '{ split($1, t, "."); print t[1] * 1000 + t[2] * 10 }' /proc/uptime; }
# within MS NAME CMD...: CMD succeeds within MS milliseconds (50 ms polls); prints the time.
within() {
    limit=$1; name=$2; shift 2; t0=$(uptime_ms)
    until "$@"; do
        if [ $(($(uptime_ms) - t0)) -gt "$limit" ]; then fail "$name (not within $limit ms)"; diag; return 1; fi
        usleep 50000
    done
    pass "$name (after $(($(uptime_ms) - t0)) ms)"
}
# diag: what the client and the directors hold, after a failed check.
diag() {
    for d in ivc iv1 iv2; do
        echo "--- $d"; ip -n $d -br addr; ip -n $d neigh; ip -n $d route
        ip netns exec $d sysctl -a 2>/dev/null | grep -E 'arp_(ignore|announce|filter|accept)|rp_filter' | grep -v ' = 0$'
    done
    bridge fdb show br brv | grep -v permanent
}
link_of() { ip -n "$1" -d link show dev vrrp.51 2>/dev/null; }
has_link() { ip -n "$1" link show dev vrrp.51 >/dev/null 2>&1; }
no_link() { ! has_link "$1"; }
# on NS DEV ADDR: NS holds ADDR on DEV.
on() { ip -n "$1" -br addr show dev "$2" 2>/dev/null | grep -q " ${3}/"; }
holds() { on "$1" eth0 $VIP; }
lets_go() { ! holds "$1"; }
off_ipvlan() { ! on "$1" vrrp.51 $VIP; }
masters() { n=0; for d in iv1 iv2; do holds $d && n=$((n + 1)); done; echo $n; }
one_master() { test "$(masters)" = 1; }
reaches() { ip netns exec ivc busybox ping -c 1 -W 1 $VIP >/dev/null 2>&1; }
# ipvlan_ok NS ADDR: vrrp.51 is an L2 ipvlan in private mode on eth0, up, with ADDR.
ipvlan_ok() {
    link_of "$1" > /tmp/link.$1
    cat /tmp/link.$1
    check "$1: vrrp.51 is an ipvlan on eth0" grep -q 'vrrp.51@eth0' /tmp/link.$1
    check "$1: in mode l2 private" grep -q 'ipvlan  *mode l2 private' /tmp/link.$1
    check "$1: up" grep -q '[<,]UP[,>]' /tmp/link.$1
    check "$1: its address $2 on vrrp.51" on "$1" vrrp.51 "$2"
}
# vrrp_ns NS NODE &: lbconverge run in NS; exec, so that $! is the daemon (see lbc_bg).
vrrp_ns() { exec ip netns exec "$1" lbconverge --state-dir "/var/lib/lbc-$1" run $M --node "$2" --control "/run/lbc-$1.sock"; }

vrrp_ns iv1 n1 > /tmp/iv1.log 2>&1 &
P1=$!
within 20000 "n1 holds the VIP on eth0" holds iv1
vrrp_ns iv2 n2 > /tmp/iv2.log 2>&1 &
P2=$!
within 20000 "n2 makes its ipvlan" has_link iv2
sleep 1
ipvlan_ok iv1 10.9.0.31
ipvlan_ok iv2 10.9.0.32
check "exactly one master" one_master
check "n1 is the master" holds iv1
check "the VIP is not on n1's ipvlan" off_ipvlan iv1
within 3000 "the client pings the VIP" reaches

# The client's neighbour entry of the VIP was just confirmed: a gratuitous ARP within its
# locktime (1 s) would be ignored, so each failover waits past it.
sleep 2
ip -n iv1 link set eth0 down
within 3000 "n1's eth0 down: n2 takes the VIP" holds iv2
within 3000 "the client pings the VIP on n2 after the takeover" reaches
ip -n iv1 link set eth0 up
within 5000 "n1's eth0 up: n1 preempts" holds iv1
within 3000 "n2 lets the VIP go" lets_go iv2
check "exactly one master after the preemption" one_master
ipvlan_ok iv1 10.9.0.31
within 3000 "the client pings the VIP on n1 after the preemption" reaches
sleep 2

stop_daemon $P1 "lbconverge on n1"
check "n1 removed its ipvlan at SIGTERM" no_link iv1
within 3000 "n2 takes the VIP when n1 stops" holds iv2
within 3000 "the client pings the VIP on n2 after n1 stops" reaches
stop_daemon $P2 "lbconverge on n2"
check "n2 removed its ipvlan at SIGTERM" no_link iv2
echo "--- n1's log"; tail -n 30 /tmp/iv1.log
echo "--- n2's log"; tail -n 30 /tmp/iv2.log

if command -v keepalived >/dev/null; then
    mkdir -p /etc/keepalived
    cat > /tmp/kiv1.conf <<EOF
global_defs {
    router_id iv1
    vrrp_version 3
}
vrrp_instance vi {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.1
    use_ipvlan vrrp.51 10.9.0.31/24 private
    virtual_ipaddress {
        $VIP/24
    }
}
EOF
    check "keepalived accepts use_ipvlan" ip netns exec iv1 keepalived -t -f /tmp/kiv1.conf
    # keepalived's VIP, wherever it puts it (iv1 has nothing else that holds it).
    k_holds() { ip -n iv1 -br addr | grep -q " $VIP/"; }
    k_on_eth0() { on iv1 eth0 $VIP && ! on iv1 vrrp.51 $VIP; }
    k_one_master() { k=0; k_holds && k=1; holds iv2 && k=$((k + 1)); test $k = 1; }
    ka() { exec ip netns exec iv1 keepalived -n -P -l -D -f /tmp/kiv1.conf -p /run/kiv1.pid -r /run/kiv1-vrrp.pid; }
    ka > /tmp/kiv1.log 2>&1 &
    KA=$!
    within 20000 "keepalived holds the VIP" k_holds
    check "keepalived's VIP is on eth0, not on its ipvlan" k_on_eth0
    echo "keepalived's addresses:"; ip -n iv1 -br addr
    ipvlan_ok iv1 10.9.0.31
    vrrp_ns iv2 n2 > /tmp/iv2b.log 2>&1 &
    P2=$!
    within 20000 "lbconverge beside keepalived makes its ipvlan" has_link iv2
    sleep 1
    check "lbconverge hears keepalived and stays backup" lets_go iv2
    check "exactly one master with keepalived" k_one_master
    within 3000 "the client pings the VIP on keepalived" reaches
    sleep 2
    kill $KA; wait $KA
    within 3000 "keepalived stops: lbconverge takes the VIP" holds iv2
    check "keepalived removed its ipvlan" no_link iv1
    within 3000 "the client pings the VIP on lbconverge" reaches
    sleep 2
    ka > /tmp/kiv1b.log 2>&1 &
    KA=$!
    within 5000 "keepalived returns and takes the VIP back" k_holds
    within 3000 "lbconverge lets it go" lets_go iv2
    check "exactly one master with keepalived back" k_one_master
    within 3000 "the client pings the VIP on keepalived again" reaches
    stop_daemon $P2 "lbconverge beside keepalived"
    check "lbconverge removed its ipvlan" no_link iv2
    kill $KA; wait $KA
    echo "--- keepalived's log"; tail -n 20 /tmp/kiv1b.log
else
    echo "no keepalived in this guest: the interop part is left out"
fi
finish
