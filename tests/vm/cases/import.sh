# keepalived -> `lbconverge import keepalived` -> `lbconverge plan` on real IPVS: for every
# test configuration in tests/fixtures/keepalived/, each director's
# keepalived.conf is run by keepalived's checker (`keepalived -C`) in a namespace of its
# own (its own IPVS table, eth0 with the director's addresses and a dummy for every other interface it names; its config id, for `@ID`
# lines, the file's name, as the import reads it); once its IPVS table is
# settled, `lbconverge plan` of the imported manifest for that director must change
# nothing in IPVS. The drifted pair proves the comparison can fail: on lvs02 (whose file
# differs from lvs01's, which the manifest follows) the plan must change exactly the drift.
# nat-pair sets lvs_timeouts: keepalived's values are in IPVS, and the plan (whose `ipvs
# timeouts` line would count as an IPVS change) leaves them.
. tests/vm/lib.sh
F=tests/fixtures/keepalived
modprobe ip_vs
# The commands the configurations run (logger, true, test) are checked like any script:
# root's alone all the way up, and the initramfs leaves / writable by everyone.
chmod 755 /
# The VRRP passwords (dr-pair, nat-pair), which the import leaves out of the manifest.
export LBCONVERGE_VRRP_PASS_VI_WEB=w3bP4ss8
export LBCONVERGE_VRRP_PASS_VI_NAT_EXT=ext7Qz4m
export LBCONVERGE_VRRP_PASS_VI_NAT_GW=gw2Lk9vR

# settle NS: the IPVS table of NS is non-empty and the same twice, half a second apart.
settle() {
    prev=""; n=0
    while [ "$n" -lt 60 ]; do
        cur=$(ip netns exec "$1" ipvsadm -S -n | sort)
        [ -n "$cur" ] && [ "$cur" = "$prev" ] && return 0
        prev=$cur; n=$((n + 1)); sleep 0.5
    done
    return 1
}
addr_of() {
    case $1 in
        lvs01) echo "10.9.0.2/24 10.9.1.2/24 fd00:9::2/64 fd00:9:1::2/64" ;;
        lvs02) echo "10.9.0.3/24 10.9.1.3/24 fd00:9::3/64 fd00:9:1::3/64" ;;
    esac
}

for dir in "$F"/*/; do
    case=$(basename "$dir")
    # IPv6 addresses for the directors of clusters with IPv6 VIPs.
    v6=no; grep -q 'fd00:' "$F/$case"/*.conf && v6=yes
    args=""
    for d in lvs01 lvs02; do
        for a in $(addr_of $d); do
            case $a in *:*) [ "$v6" = yes ] && args="$args --address $d=$a" ;; *) args="$args --address $d=$a" ;; esac
        done
    done
    # shellcheck disable=SC2086
    exit_is "$case: imported" 0 lbconverge import keepalived $F/$case/*.conf $args -o /tmp/$case.yaml
    for conf in $F/$case/*.conf; do
        d=$(basename "$conf" .conf)
        ns="ka-$case-$d"
        # A VRRP-only configuration (vip-forms) fills no IPVS table: nothing to compare.
        if ! grep -q '^virtual_server' "$conf"; then
            echo "--- $case/$d: no virtual_server; only its import is checked here"
            continue
        fi
        host "$ns"
        ip -n "$ns" link add eth0 type dummy
        for a in $(addr_of "$d"); do
            case $a in *:*) ip -n "$ns" addr add "$a" dev eth0 nodad ;; *) ip -n "$ns" addr add "$a" dev eth0 ;; esac
        done
        ip -n "$ns" link set eth0 up
        # The other interfaces the file names (an inside network: sync-group's eth1).
        for i in $(grep -oE '(interface|dev) [A-Za-z0-9._-]+' "$conf" | awk '{print $2}' | sort -u | grep -vx eth0); do
            ip -n "$ns" link add "$i" type dummy && ip -n "$ns" link set "$i" up
        done
        ip netns exec "$ns" keepalived -n -l -D -C -i "$d" -f "$conf" -p "/tmp/$ns.pid" -c "/tmp/$ns.cpid" > "/tmp/$ns.log" 2>&1 &
        KA=$!
        if settle "$ns"; then pass "$case/$d: keepalived filled IPVS"; else fail "$case/$d: keepalived filled no IPVS table"; cat "/tmp/$ns.log"; fi
        if [ "$case" = nat-pair ]; then
            check "$case/$d: keepalived set its lvs_timeouts" sh -c \
                "ip netns exec $ns ipvsadm -L --timeout | grep -qx 'Timeout (tcp tcpfin udp): 7200 30 20'"
        fi
        echo "--- $case/$d: keepalived's IPVS table"
        ip netns exec "$ns" ipvsadm -S -n | sort
        lbc "$ns" plan "/tmp/$case.yaml" --node "$d" > "/tmp/$ns.plan" 2>&1
        grep -E '^  [-+~] ipvs' "/tmp/$ns.plan" > "/tmp/$ns.ipvs"
        if [ "$case/$d" = dr-pair-drift/lvs02 ]; then
            printf '%s\n' \
                '  ~ ipvs destination 10.9.1.12:80 in tcp 10.9.0.110:80: weight 2 -> 3' \
                '  ~ ipvs service tcp 10.9.0.111:3306: persistence 3600s -> 1800s' \
                '  + ipvs destination 10.9.1.13:80 in tcp 10.9.0.110:80: dr, weight 2' | sort > /tmp/want.ipvs
            sort "/tmp/$ns.ipvs" > /tmp/got.ipvs
            same_file "$case/$d: the plan changes exactly the drift from lvs01's file" /tmp/want.ipvs /tmp/got.ipvs
        elif [ -s "/tmp/$ns.ipvs" ]; then
            fail "$case/$d: the plan changes IPVS"; cat "/tmp/$ns.plan"
        elif grep -q '^Plan:' "/tmp/$ns.plan"; then
            pass "$case/$d: the plan changes nothing in IPVS"
        else
            fail "$case/$d: no plan"; cat "/tmp/$ns.plan"
        fi
        kill "$KA"; wait "$KA"
        ip netns del "$ns"
    done
done
finish
