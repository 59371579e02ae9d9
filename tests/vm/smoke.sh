#!/bin/sh
# Harness smoke test, run inside the VM:  tests/vm/ipvs-vm --script tests/vm/smoke.sh
#
# Proves the guest has what lbconverge's IPVS tests need: IPVS + ipvsadm,
# network namespaces on a bridge, IPv6 nodad addresses, the ipip tunnel
# device, writable sysctls and the other modules the harness ships.
# Every check runs even if an earlier one failed; exits 0 only if all pass.
# Addresses (10.78.0.0/24, fd00:78::/64) exist only inside the guest.
set -u

passed=0 failed=0 failures=
ok()   { passed=$((passed + 1)); echo "ok: $*"; }
bad()  { failed=$((failed + 1)); failures="$failures
  - $*"; echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: run COMMAND, show its output, record the result
check() {
  d=$1; shift
  if out=$("$@" 2>&1); then ok "$d"; else bad "$d (exit $?)"; fi
  [ -z "$out" ] || echo "$out" | sed 's/^/    /'
}
section() { echo; echo "=== $*"; }
ns() { ip netns exec "$@"; }

section "guest: kernel $(uname -r), $(nproc) CPUs"
check "/bin/sh is dash" sh -c 'readlink -f /bin/sh | grep -qx /usr/bin/dash'
miss=
for t in bash ip ipvsadm ipvsadm-save ipvsadm-restore modprobe depmod sysctl timeout httpd wget nc ping; do
  command -v "$t" >/dev/null || miss="$miss $t"
done
[ -z "$miss" ] && ok "tools present: bash ip ipvsadm ipvsadm-save ipvsadm-restore + busybox applets" ||
  bad "tools missing:$miss"
check "ip is iproute2's, not busybox's" sh -c 'ip -V | grep -q iproute2'
check "/var/lib is writable" sh -c 'echo x >/var/lib/.probe && rm /var/lib/.probe'
check "/proc/sys is mounted" test -e /proc/sys/net/ipv4/ip_forward

section "IPVS: ip_vs and every ip_vs_* module"
check "modprobe ip_vs" modprobe ip_vs
check "/proc/net/ip_vs" sh -c 'head -n1 /proc/net/ip_vs | grep "IP Virtual Server version"'
loaded= missing=
for f in /lib/modules/"$(uname -r)"/kernel/net/netfilter/ipvs/ip_vs_*.ko*; do
  m=${f##*/}; m=${m%%.ko*}
  if modprobe "$m" 2>/dev/null; then loaded="$loaded ${m#ip_vs_}"; else missing="$missing $m"; fi
done
echo "    loaded:$loaded"
[ -z "$missing" ] && ok "all ip_vs_* modules load" || bad "ip_vs modules failed to load:$missing"

section "IPVS: a service with ipvsadm (root namespace)"
check "ipvsadm -A -t 10.78.0.100:80 -s wrr" ipvsadm -A -t 10.78.0.100:80 -s wrr
check "ipvsadm -a ... -g -w 2" ipvsadm -a -t 10.78.0.100:80 -r 10.78.0.11:80 -g -w 2
check "ipvsadm -a ... -m -w 1" ipvsadm -a -t 10.78.0.100:80 -r 10.78.0.12:80 -m -w 1
check "ipvsadm -A -f 7 -s rr (fwmark service)" ipvsadm -A -f 7 -s rr
echo "--- ipvsadm -S -n"
saved=$(ipvsadm -S -n); echo "$saved"
expected="-A -t 10.78.0.100:80 -s wrr
-a -t 10.78.0.100:80 -r 10.78.0.11:80 -g -w 2
-a -t 10.78.0.100:80 -r 10.78.0.12:80 -m -w 1
-A -f 7 -s rr"
[ "$saved" = "$expected" ] && ok "ipvsadm -S -n shows exactly the rules" || bad "ipvsadm -S -n differs from what was added"
check "ipvsadm -C" ipvsadm -C
check "ipvsadm-restore round trip" sh -c 'echo "$1" | ipvsadm-restore && [ "$(ipvsadm -S -n)" = "$1" ]' - "$saved"
ipvsadm -C

section "netns: two namespaces on a bridge"
check "bridge br-smoke" sh -c 'ip link add br-smoke type bridge && ip link set br-smoke up'
for n in 1 2; do
  check "netns ns$n + veth on br-smoke" sh -c "
    ip netns add ns$n && ip -n ns$n link set lo up &&
    ip link add v-ns$n type veth peer name eth0 netns ns$n &&
    ip link set v-ns$n master br-smoke up &&
    ip -n ns$n addr add 10.78.0.$n/24 dev eth0 &&
    ip -n ns$n link set eth0 up"
done
check "ping ns1 -> ns2 (10.78.0.2)" ns ns1 ping -c 2 -W 5 10.78.0.2
check "ping ns2 -> ns1 (10.78.0.1)" ns ns2 ping -c 1 -W 5 10.78.0.1
check "IPVS is per namespace: ns1 table is empty" sh -c '[ -z "$(ip netns exec ns1 ipvsadm -S -n)" ]'

section "IPv6: ip -6 addr add ... nodad"
check "ip -6 addr add fd00:78::1/64 dev eth0 nodad (ns1)" ns ns1 ip -6 addr add fd00:78::1/64 dev eth0 nodad
check "ip -6 addr add fd00:78::2/64 dev eth0 nodad (ns2)" ns ns2 ip -6 addr add fd00:78::2/64 dev eth0 nodad
check "fd00:78::1 is not tentative" sh -c 'ip netns exec ns1 ip -6 addr show dev eth0 | grep "fd00:78::1/64" | grep -vq tentative'
check "ping6 ns1 -> ns2 (fd00:78::2)" ns ns1 ping -6 -c 1 -W 5 fd00:78::2
check "ip -6 addr add ... nodad on dummy" sh -c 'ip link add dum-smoke type dummy && ip -6 addr add fd00:79::1/128 dev dum-smoke nodad && ip -6 addr show dev dum-smoke | grep -q fd00:79::1'

section "tunnels: tunl0 after modprobe ipip"
check "modprobe ipip" modprobe ipip
check "tunl0 exists" ip link show tunl0
check "tunl0 exists in a new netns too" sh -c 'ip netns add ns-tun && ip -n ns-tun link show tunl0'
check "modprobe ip6_tunnel -> ip6tnl0" sh -c 'modprobe ip6_tunnel && ip link show ip6tnl0'

section "sysctl: /proc/sys/net/ipv4/conf/all/arp_ignore"
check "write 1 to conf/all/arp_ignore" sh -c 'echo 1 >/proc/sys/net/ipv4/conf/all/arp_ignore && [ "$(cat /proc/sys/net/ipv4/conf/all/arp_ignore)" = 1 ]'
check "sysctl -w net.ipv4.conf.all.arp_announce=2" sh -c 'sysctl -qw net.ipv4.conf.all.arp_announce=2 && [ "$(sysctl -n net.ipv4.conf.all.arp_announce)" = 2 ]'
check "arp_ignore in ns1 is per namespace" sh -c 'ip netns exec ns1 sh -c "echo 1 >/proc/sys/net/ipv4/conf/eth0/arp_ignore" && [ "$(ip netns exec ns2 cat /proc/sys/net/ipv4/conf/eth0/arp_ignore)" = 0 ]'
check "net.ipv4.vs.conntrack (IPVS sysctls)" sh -c 'sysctl -qw net.ipv4.vs.conntrack=1 && [ "$(cat /proc/sys/net/ipv4/vs/conntrack)" = 1 ]'

section "other modules"
miss=
for m in nf_conntrack veth bridge dummy tun 8021q macvlan tunnel4 tunnel6 sit; do
  modprobe "$m" || miss="$miss $m"
done
[ -z "$miss" ] && ok "modprobe nf_conntrack veth bridge dummy tun 8021q macvlan tunnel4 tunnel6 sit" ||
  bad "modprobe failed:$miss"
check "vlan, macvlan and tun devices" sh -c '
  ip link add dum-vl type dummy && ip link add link dum-vl name dum-vl.10 type vlan id 10 &&
  ip link add link dum-vl name mv-smoke type macvlan mode bridge && ip tuntap add dev tap-smoke mode tap'
check "nf_conntrack is loaded" test -d /sys/module/nf_conntrack

echo
if [ "$failed" -eq 0 ]; then
  echo "smoke: all $passed checks passed"
else
  echo "smoke: $failed of $((passed + failed)) checks FAILED:$failures"
  exit 1
fi
