# GitOps end to end on real IPVS: `lbconverge run --require-committed` on a manifest in a
# git work tree. A commit checked out reaches IPVS within a second and is shown as applied
# by `status --format json` and by /metrics; an invalid commit and an uncommitted edit are
# rejected while the previous commit stays applied; `lbconverge drain` sets the backend's
# weight to 0 at once, `status` and `plan` show it (plan keeps it: no changes), and
# `undrain` gives the weight back. A commit deleting more than the blast-radius limit is
# refused with its reason in `status`, and health failover goes on.
. tests/vm/lib.sh
modprobe ip_vs
dummy_if eth0 10.1.0.2/24
R=/root/site
W=/root/work
S=/run/lbc-gitops.sock
g() { git -c user.name=Test -c user.email=test@example.invalid -c advice.detachedHead=false "$@"; }
mkdir -p $R && git init -q $R && cp tests/vm/manifests/gitops.yaml $R/cluster.yaml
g -C $R add cluster.yaml && g -C $R commit -q -m "web at weight 1"
g -C $R worktree add -q -b next $W
C1=$(git -C $R rev-parse HEAD)
table() { ipvsadm -Ln -t "10.1.0.100:$1" 2>/dev/null | awk '$1 == "->" && $2 != "RemoteAddress:Port" {printf "%s=%s ", $2, $4}'; }
status() { lbconverge status --control $S --format json; }
status_has() { status | grep -q "$1"; }
metric_has() { wget -qO- http://127.0.0.1:9469/metrics | grep "^lbconverge_manifest_info" | grep -q "$1"; }
applied() { status | awk '/"commit"/ {c=1} c && /"id"/ {gsub(/[",]/, "", $2); print $2; exit}'; }

lbconverge run $R/cluster.yaml --node d1 --require-committed --control $S --metrics 127.0.0.1:9469 > /tmp/run.log 2>&1 &
RUN=$!
within 10 "the first commit is applied" 80 "10.1.0.11:80=1 10.1.0.12:80=1 "
check "status shows the first commit as applied" test "$(applied)" = "$C1"

# A new commit, made in another work tree and checked out here (unlink and create).
sed -i 's/rs1: {address: 10.1.0.11, weight: 1}/rs1: {address: 10.1.0.11, weight: 3}/' $W/cluster.yaml
g -C $W commit -q -am "rs1 to weight 3"
C2=$(git -C $W rev-parse HEAD)
git -C $R checkout -q --detach next
within 1 "the checked-out commit reaches IPVS" 80 "10.1.0.11:80=3 10.1.0.12:80=1 "
check "status shows the new commit" test "$(applied)" = "$C2"
check "status names its subject" status_has '"subject": "rs1 to weight 3"'
check "/metrics shows the new commit" metric_has "commit=\"$C2\""
check "/metrics: it is committed" metric_has 'committed="true"'

# An invalid commit: rejected, the previous commit stays applied.
sed -i 's/weight: 3}/weight: -3}/' $W/cluster.yaml
g -C $W commit -q -am "a negative weight"
git -C $R checkout -q --detach next
sleep 1
check "the invalid commit is rejected" status_has '"last_rejected": {'
check "the previous commit is still applied" test "$(applied)" = "$C2"
check "IPVS keeps the previous commit" test "$(table 80)" = "10.1.0.11:80=3 10.1.0.12:80=1 "

# An edit that is not committed: refused under --require-committed.
git -C $R checkout -q --detach "$C2"
sleep 1
sed -i 's/weight: 3}/weight: 4}/' $R/cluster.yaml
sleep 1
check "an uncommitted edit is not applied" test "$(table 80)" = "10.1.0.11:80=3 10.1.0.12:80=1 "
check "the rejection says why" status_has 'is not committed (modified since the commit)'
git -C $R checkout -q -- cluster.yaml

# Maintenance without editing git.
exit_is "drain rs2" 0 lbconverge drain web rs2 --for 1h --reason "disk swap" --control $S
within 1 "drained: rs2 at weight 0" 80 "10.1.0.11:80=3 10.1.0.12:80=0 "
check "status shows the drain" sh -c "lbconverge status --control $S | grep -q 'drained: backend rs2 of service web, since .*until .*: \"disk swap\"'"
lbconverge plan $R/cluster.yaml --node d1 > /tmp/plan.txt; echo "plan exit $?"
cat /tmp/plan.txt
check "plan shows the drain" grep -q '~ backend rs2 of service web, since' /tmp/plan.txt
check "plan keeps it: no changes" grep -q 'No changes: the kernel already matches the manifest.' /tmp/plan.txt
exit_is "a drain of a backend the manifest lacks is refused" 1 lbconverge drain web rs9 --control $S
exit_is "undrain rs2" 0 lbconverge undrain web rs2 --control $S
within 1 "undrained: rs2 back at its weight" 80 "10.1.0.11:80=3 10.1.0.12:80=1 "

# The blast-radius guard. A commit adds a checked service (its server, busybox httpd on
# this host) and a 12-backend service: taken. The commit that deletes the big service (13
# IPVS objects) is refused whole: status says why and IPVS keeps it. The checked
# service's server then dies: its backend leaves IPVS within the check's detection time
# (interval + timeout), the refused commit notwithstanding.
ip addr add 10.1.0.21/24 dev eth0
mkdir -p /srv/checked && echo checked > /srv/checked/index.html
busybox httpd -f -p 10.1.0.21:8080 -h /srv/checked &
HTTPD=$!
g -C $W checkout -q "$C2" -- cluster.yaml
cat >> $W/cluster.yaml <<'YAML'
  checked:
    vip: 10.1.0.100
    port: 8080
    forwarding: dr
    directors: [d1]
    health_check: {type: tcp, interval: 1s, timeout: 1s, retries: 0}
    backends:
      c1: {address: 10.1.0.21}
  bulk:
    vip: 10.1.0.100
    port: 81
    forwarding: dr
    directors: [d1]
    backends:
YAML
for i in $(seq 1 12); do echo "      b$i: {address: 10.1.0.$((40 + i))}" >> $W/cluster.yaml; done
g -C $W commit -q -am "a checked service and a 12-backend service"
git -C $R checkout -q --detach next
within 5 "the checked backend joins after its first check" 8080 "10.1.0.21:8080=1 "
check "the 12-backend service is in IPVS" test "$(table 81 | wc -w)" = 12
awk '/^  bulk:/ {skip=1; next} skip && /^  [a-z]/ {skip=0} !skip' $W/cluster.yaml > /tmp/nobulk.yaml
cp /tmp/nobulk.yaml $W/cluster.yaml
g -C $W commit -q -am "delete the 12-backend service"
git -C $R checkout -q --detach next
sleep 2
status > /tmp/status.json
check "the deletion is refused by the guard" grep -q '"count": 13' /tmp/status.json
check "status gives the limit" grep -q '"limit": 10' /tmp/status.json
check "status says how to allow it" grep -q 'run --allow-destroy' /tmp/status.json
check "IPVS keeps the 12-backend service" test "$(table 81 | wc -w)" = 12
kill $HTTPD
within 3 "the dead checked backend leaves IPVS" 8080 ""
check "the guard still holds the 12-backend service" test "$(table 81 | wc -w)" = 12

stop_daemon $RUN "run"
echo "--- run log"; cat /tmp/run.log
finish
