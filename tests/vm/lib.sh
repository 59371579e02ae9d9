# Helpers for the guest scripts of tests/vm/cases (sourced; dash/bash).
# Every check prints PASS/FAIL; `finish` exits non-zero if any failed.
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# check NAME CMD...: runs CMD, passes if it exits 0.
check() { name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
# same_file NAME EXPECTED GOT: passes if the files are equal, else shows the diff.
same_file() {
    if diff -u "$2" "$3" >/tmp/diff.out 2>&1; then pass "$1"; else fail "$1"; cat /tmp/diff.out; fi
}
# exit_is NAME CODE CMD...: passes if CMD exits with CODE.
exit_is() {
    name=$1; want=$2; shift 2
    "$@" >/tmp/exit_is.out 2>&1; got=$?
    if [ "$got" = "$want" ]; then pass "$name"; else fail "$name (exit $got, want $want)"; cat /tmp/exit_is.out; fi
}
# stop_daemon PID NAME: SIGTERM to a daemon this case started, then its exit status must be 0
# (a daemon that crashed on the way, or earlier, fails the case).
stop_daemon() {
    kill "$1" 2>/dev/null
    wait "$1"; st=$?
    if [ "$st" = 0 ]; then pass "$2 exits 0 after SIGTERM"; else fail "$2 exited $st after SIGTERM"; fi
}
# ipvs_lacks NS PATTERN: ipvsadm -S -n in NS succeeds and its rules do not match PATTERN
# (an ipvsadm that fails proves nothing and fails the check).
ipvs_lacks() { r=$(ip netns exec "$1" ipvsadm -S -n) && ! printf '%s\n' "$r" | grep -q "$2"; }
finish() {
    if [ "$failures" -eq 0 ]; then echo "ALL PASSED"; exit 0; fi
    echo "$failures FAILED"; exit 1
}
# rules FILE: the IPVS table as ipvsadm -S -n prints it, sorted (dump order is hash order).
rules() { ipvsadm -S -n | sort > "$1"; }
lbc_rules() { lbconverge show --format ipvsadm | sort > "$1"; }
# dummy_if NAME ADDR...: an up dummy interface with addresses (IPv6 without DAD).
dummy_if() {
    ifname=$1; shift
    ip link add "$ifname" type dummy
    for a in "$@"; do
        case $a in *:*) ip addr add "$a" dev "$ifname" nodad ;; *) ip addr add "$a" dev "$ifname" ;; esac
    done
    ip link set "$ifname" up
}
mkdir -p /var/lib/lbconverge
# bridge NAME: an up bridge in the guest's root namespace.
bridge() { ip link add "$1" type bridge && ip link set "$1" up; }
# host NS: a namespace with lo up.
host() { ip netns add "$1" && ip -n "$1" link set lo up; }
# wire NS IFNAME BRIDGE ADDR...: an interface of NS on BRIDGE, with addresses, up.
wire() {
    ns=$1; ifname=$2; br=$3; shift 3
    ip link add "v-$ns-$ifname" type veth peer name "$ifname" netns "$ns"
    ip link set "v-$ns-$ifname" master "$br" up
    for a in "$@"; do ip -n "$ns" addr add "$a" dev "$ifname"; done
    ip -n "$ns" link set "$ifname" up
}
# serve NS NAME PORT: busybox httpd in NS answering NAME on PORT; echo server on 9000.
serve() {
    mkdir -p "/srv/$2"
    echo "$2" > "/srv/$2/index.html"
    ip netns exec "$1" busybox httpd -p "$3" -h "/srv/$2"
    printf '#!/bin/sh\necho %s\nexec cat\n' "$2" > "/srv/echo-$2"
    chmod +x "/srv/echo-$2"
    ip netns exec "$1" busybox nc -ll -p 9000 -e "/srv/echo-$2" &
}
# lbc NS ARGS...: lbconverge inside NS with its own ledger.
lbc() { ns=$1; shift; ip netns exec "$ns" lbconverge --state-dir "/var/lib/lbc-$ns" "$@"; }
# fetch N URL: N fetches from the client namespace, one answer per line.
fetch() {
    i=0
    while [ "$i" -lt "$1" ]; do
        ip netns exec client timeout 5 busybox wget -q -O - "$2" || echo "no answer"
        i=$((i + 1))
    done
}
# one_link_cluster: client, dir, rs1, rs2 on one bridge (10.7.0.0/24), web servers on rs1/rs2.
one_link_cluster() {
    bridge br0
    for n in client dir rs1 rs2; do host $n; done
    wire client eth0 br0 10.7.0.2/24
    wire dir eth0 br0 10.7.0.3/24
    wire rs1 eth0 br0 10.7.0.11/24
    wire rs2 eth0 br0 10.7.0.12/24
    serve rs1 rs1 80
    serve rs2 rs2 80
}
# apply_all MANIFEST: apply on the director and both real servers.
apply_all() { for n in dir rs1 rs2; do exit_is "apply on $n" 0 lbc $n apply "$1" --node $n --auto-approve --quiet; done; }
# round_robin: 6 fetches of the VIP are answered 3 times by each real server.
round_robin() {
    fetch 6 http://10.7.0.100/ > /tmp/answers
    cat /tmp/answers
    check "rs1 answered 3 of 6" test "$(grep -c '^rs1$' /tmp/answers)" = 3
    check "rs2 answered 3 of 6" test "$(grep -c '^rs2$' /tmp/answers)" = 3
}
# converged MANIFEST: a plan on every node finds nothing to do.
converged() { for n in dir rs1 rs2; do exit_is "plan on $n: no changes" 0 lbc $n plan "$1" --node $n --detailed-exitcode; done; }
# ka_real_server ADDR PORT KIND: a keepalived real_server block with a TCP_CHECK or HTTP_GET
# (KIND tcp or http) every delay_loop, timeout 1 s, 1 retry 1 s later: the settings of the
# lbconverge manifests the health cases compare against.
ka_real_server() {
    printf '    real_server %s %s {\n        weight 1\n' "$1" "$2"
    if [ "$3" = http ]; then
        printf '        HTTP_GET {\n            url {\n                path /\n                status_code 200\n            }\n'
    else
        printf '        TCP_CHECK {\n'
    fi
    printf '            connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        }\n    }\n'
}
# ipvs_table NS VIP:PORT: the service's destinations and weights in NS, on one line.
ipvs_table() {
    ip netns exec "$1" ipvsadm -Ln -t "$2" 2>/dev/null | awk '$1 == "->" && $2 != "RemoteAddress:Port" {printf "%s=%s ", $2, $4}'
}
# within SECONDS NAME PORT WANT: `table PORT` (defined by the case) becomes WANT within
# SECONDS (100 ms polls); the time it took is printed.
within() {
    limit=$1; name=$2; port=$3; want=$4; i=0
    while [ "$(table "$port")" != "$want" ]; do
        i=$((i + 1))
        if [ "$i" -gt $((limit * 10)) ]; then fail "$name: $(table "$port") after ${limit}s, want $want"; return; fi
        usleep 100000
    done
    pass "$name after $((i * 100)) ms"
}
