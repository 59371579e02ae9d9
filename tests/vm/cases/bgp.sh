# Active-active directors announced over BGP, on real IPVS: client -> router (BIRD, ECMP)
# -> d1 and d2 (both hold VIP 10.9.0.100, IPVS mh, `lbconverge run` + BIRD configured from
# `lbconverge show --routing bird`) -> rs1, rs2 (DR). The router's route to the VIP has both
# directors as next hops; every request is answered. d1 loses its real servers (quorum
# lost): the route narrows to d2 and requests are still answered; they come back: both
# again. d2's lbconverge stops: it withdraws first, the route narrows to d1, requests are
# still answered. d2 comes back, then dies without a word (link down): BFD (100 ms x 3, from
# routing.bfd on the directors, the same on the router) drops it in under a second, and
# requests are still answered. The directors' BIRD configuration is `show --routing bird`
# as printed (routing.bgp names the router): nothing is filled in by hand.
# DIRECTORS=frr: the directors run FRR instead (zebra, bfdd, bgpd, loaded with
# `show --routing frr` as printed by `vtysh -f`); the router stays BIRD.
. tests/vm/lib.sh
modprobe ip_vs
modprobe ip_vs_mh
M=tests/vm/manifests/bgp.yaml
BIRD=${BIRD:-/usr/sbin/bird}
DIRECTORS=${DIRECTORS:-bird}

bridge br-c
bridge br-s
for n in client router d1 d2 rs1 rs2; do host $n; done
wire client eth0 br-c 10.5.0.2/24
wire router eth0 br-c 10.5.0.1/24
wire router eth1 br-s 10.7.0.1/24
for n in d1:3 d2:4 rs1:11 rs2:12; do wire "${n%:*}" eth0 br-s "10.7.0.${n#*:}/24"; done
ip -n client route add default via 10.5.0.1
for n in d1 d2 rs1 rs2; do ip -n $n route add default via 10.7.0.1; done
ip netns exec router sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1
serve rs1 rs1 80
serve rs2 rs2 80
for n in rs1 rs2; do exit_is "apply on $n" 0 lbc $n apply $M --node $n --auto-approve --quiet; done

# The router: one eBGP session per director, equal paths merged into one ECMP route, BFD on
# each. A short error wait: FRR 8.4 directors re-create their BFD session once when BGP first
# comes up, which resets that session here once (BIRD would otherwise wait 60 s to retry).
mkdir -p /tmp/bird
cat > /tmp/bird/router.conf <<'EOF'
router id 10.7.0.1;
protocol device {}
protocol kernel { merge paths on; ipv4 { import none; export all; }; }
protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
template bgp director { local 10.7.0.1 as 65000; hold time 9; bfd on; error wait time 2, 10; ipv4 { import all; export none; }; }
protocol bgp d1 from director { neighbor 10.7.0.3 as 65001; }
protocol bgp d2 from director { neighbor 10.7.0.4 as 65001; }
EOF
bird_in() { ip netns exec "$1" "$BIRD" -c "/tmp/bird/$1.conf" -s "/tmp/bird/$1.ctl" -P "/tmp/bird/$1.pid"; }
bird_in router

# uptime_ms: the guest's uptime in milliseconds (10 ms steps).
uptime_ms() { awk '{ split($1, t, "."); print t[1] * 1000 + t[2] * 10 }' /proc/uptime; }
# hops: the router's next hops for the VIP, sorted, on one line.
hops() { ip -n router route show 10.9.0.100 | grep -o 'via 10.7.0.[0-9]*' | sort | tr '\n' ' '; }
# route_becomes NAME WANT SECONDS: hops become WANT within SECONDS; prints how long it took.
route_becomes() {
    t0=$(uptime_ms)
    until [ "$(hops)" = "$2" ] || [ $(($(uptime_ms) - t0)) -gt $(($3 * 1000)) ]; do usleep 100000; done
    took=$(($(uptime_ms) - t0))
    if [ "$(hops)" = "$2" ]; then pass "$1 (after $took ms)"; else fail "$1: '$(hops)' after $took ms, want '$2'"; fi
}
# answered N: N requests from the client to the VIP, each answered by rs1 or rs2.
answered() {
    fetch "$1" http://10.9.0.100/ > /tmp/answers
    check "$1 of $1 requests answered ($(sort /tmp/answers | uniq -c | tr -s ' \n' ' '))" \
        test "$(grep -c '^rs[12]$' /tmp/answers)" = "$1"
}

# bfd_up: the router's BFD sessions with both directors are up.
bfd_up() { test "$(ip netns exec router birdc -s /tmp/bird/router.ctl show bfd sessions | grep -c ' Up ')" = 2; }
# bfd_comes_up: waits up to 10 s for bfd_up, shows the sessions, checks.
bfd_comes_up() {
    t0=$(uptime_ms); until bfd_up || [ $(($(uptime_ms) - t0)) -gt 10000 ]; do usleep 100000; done
    ip netns exec router birdc -s /tmp/bird/router.ctl show bfd sessions
    check "the router runs BFD with both directors" bfd_up
}
# dies_within_a_second NAME DIRECTOR PID WANT: DIRECTOR's link goes down and PID is killed without
# a word; BFD must leave the route as WANT in under a second.
dies_within_a_second() {
    ip -n "$2" link set eth0 down
    kill -9 "$3"
    route_becomes "$1" "$4" 20
    check "$2 left the route within a second of its link going down ($took ms)" test "$took" -lt 1000
}
both="via 10.7.0.3 via 10.7.0.4 "

# frr_in NODE: zebra, bfdd and bgpd in NODE's namespace, with paths of their own, then the
# printed configuration loaded whole.
frr_in() {
    r=/tmp/frr/$1; mkdir -p $r; : > $r/empty.conf; echo 'username root nopassword' > $r/vtysh.conf
    chown -R frr:frr $r
    for p in zebra bfdd bgpd; do
        ip netns exec "$1" /usr/lib/frr/$p -d -u frr -g frr --vty_socket $r -z $r/zserv.api -i $r/$p.pid \
            -f $r/empty.conf -P 0 --log file:$r/$p.log
    done
    ip netns exec "$1" vtysh --config_dir $r --vty_socket $r -f "$2"
}
if [ "$DIRECTORS" = frr ]; then
    grep -q '^frr:' /etc/passwd || {
        echo 'frr:x:107:117::/nonexistent:/bin/false' >> /etc/passwd
        printf 'frr:x:117:\nfrrvty:x:116:frr\n' >> /etc/group
    }
fi

for d in d1 d2; do
    lbconverge show --routing "$DIRECTORS" --manifest $M --node $d > "/tmp/bird/$d.conf"
    if [ "$DIRECTORS" = frr ]; then
        exit_is "FRR on $d loads the printed configuration" 0 frr_in $d "/tmp/bird/$d.conf"
    else
        bird_in $d
    fi
    ip netns exec $d lbconverge --state-dir /var/lib/lbc-$d run $M --node $d --control /run/lbc-$d.sock > /tmp/$d.log 2>&1 &
done
d2_pid=$!

route_becomes "the router reaches the VIP through both directors" "$both" 60
ip -n router route show 10.9.0.100
check "d1 announces the VIP in table 250" sh -c 'ip -n d1 route show table 250 | grep -q "10.9.0.100 dev lo proto 76"'
check "d1 holds the VIP as a local route, not an address" \
    sh -c 'ip -n d1 route show table local proto 76 | grep -q "local 10.9.0.100 dev lo" && ! ip -n d1 addr show dev lo | grep -q 10.9.0.100'
answered 20
lbc d1 status --control /run/lbc-d1.sock > /tmp/status
check "status lists the announced route" grep -qx "announced route 10.9.0.100/32 table 250" /tmp/status
check "announcing after the checks passed is not drift" grep -qx "drift repaired: 0" /tmp/status
exit_is "plan on d1 while it runs: no changes" 0 lbc d1 plan $M --node d1 --detailed-exitcode
check "plan notes the announced route" grep -q "announced route 10.9.0.100/32 table 250: .*(announced here now)" /tmp/exit_is.out

# d1 loses its real servers: its checks fail, the service loses its quorum there.
ip -n d1 route add prohibit 10.7.0.11/32
ip -n d1 route add prohibit 10.7.0.12/32
route_becomes "quorum lost on d1: the route narrows to d2" "via 10.7.0.4 " 30
answered 10
ip -n d1 route del prohibit 10.7.0.11/32
ip -n d1 route del prohibit 10.7.0.12/32
route_becomes "quorum back on d1: both directors again" "$both" 30
answered 10

# d2's lbconverge stops gracefully: withdraw, wait the drain time, then stop.
kill $d2_pid
route_becomes "d2 stopping: the route narrows to d1" "via 10.7.0.3 " 30
answered 10
wait $d2_pid; st=$?
check "d2 exits 0 after SIGTERM" test "$st" = 0
check "d2 withdrew before it stopped" grep -q "routes withdrawn; waiting for the routers" /tmp/d2.log
check "d2 left no announced route" test -z "$(ip -n d2 route show table 250 proto 76)"

# d2 starts again and rejoins; then it dies (its link goes down, nothing is withdrawn):
# BFD on the router misses three packets and drops the session, well before the BGP hold
# time (9 s) would.
ip netns exec d2 lbconverge --state-dir /var/lib/lbc-d2 run $M --node d2 --control /run/lbc-d2.sock > /tmp/d2b.log 2>&1 &
d2_pid=$!
route_becomes "d2 restarted: both directors again" "$both" 60
bfd_comes_up
dies_within_a_second "d2 dead: BFD narrows the route to d1" d2 $d2_pid "via 10.7.0.3 "
answered 10
grep -h "route\|quorum" /tmp/d1.log /tmp/d2.log | tail -8
if [ "$DIRECTORS" = frr ]; then
    ip netns exec d1 vtysh --config_dir /tmp/frr/d1 --vty_socket /tmp/frr/d1 -c 'show bgp summary' -c 'show bfd peers brief'
    kill "$(cat /tmp/bird/router.pid)"
    for n in d1 d2; do for p in bgpd bfdd zebra; do kill "$(cat /tmp/frr/$n/$p.pid)" 2>/dev/null; done; done
else
    for n in router d1 d2; do kill "$(cat /tmp/bird/$n.pid)"; done
fi
finish
