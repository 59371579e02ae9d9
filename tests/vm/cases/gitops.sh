# GitOps end to end on real IPVS: `lbconverge run --require-committed` on a manifest in a
# git work tree. A commit checked out reaches IPVS within a second and is shown as applied
# by `status --format json` and by /metrics; an invalid commit and an uncommitted edit are
# rejected while the previous commit stays applied; `lbconverge drain` sets the backend's
# weight to 0 at once, `status` and `plan` show it (plan keeps it: no changes), and
# `undrain` gives the weight back.
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

kill $RUN; wait $RUN
echo "--- run log"; cat /tmp/run.log
finish
