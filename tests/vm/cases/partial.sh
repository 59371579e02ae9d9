# A change that fails (scheduler module missing) stops apply, names the change and the
# kernel's error; once the module is back, a second apply finishes the job.
. tests/vm/lib.sh
M=tests/vm/manifests/features.yaml
dummy_if eth0 10.1.0.2/24 2001:db8:1::2/64
mod=$(find /lib/modules -name 'ip_vs_sed.ko*' | head -1)
check "sed scheduler module found" test -n "$mod"
mv "$mod" /root/
exit_is "apply fails on the sed service" 1 lbconverge apply $M --auto-approve --quiet
cat /tmp/exit_is.out
check "names the change and the kernel error" grep -q "add service tcp 10.1.0.100:88: No such file or directory" /tmp/exit_is.out
check "says how many were applied" grep -Eq "change [0-9]+ of [0-9]+ failed \([0-9]+ applied before it\)" /tmp/exit_is.out
check "hints at the module" grep -q "modprobe ip_vs_sed" /tmp/exit_is.out
exit_is "plan still has work" 2 lbconverge plan $M --detailed-exitcode
mv "/root/$(basename "$mod")" "$mod"
exit_is "second apply finishes" 0 lbconverge apply $M --auto-approve --quiet
rules /tmp/got.rules
same_file "rules complete" tests/vm/expected/features.rules /tmp/got.rules
exit_is "plan after: no changes" 0 lbconverge plan $M --detailed-exitcode
finish
