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
