#!/usr/bin/env bash
# The oneDNN build's OpenMP wait policy (tools/edgeinfer/omp_policy.c): with neither OMP_WAIT_POLICY
# nor GOMP_SPINCOUNT set, EI_OMP_POLICY=passive (or auto on a busy machine) makes the process whose
# libgomp runs the kernels start passive after exactly one re-execution; spin (or auto on free
# cores) keeps libgomp's default without re-executing; a value the user set reaches libgomp
# unchanged. libgomp itself reports what it read (OMP_DISPLAY_ENV=verbose, one block per start).
# usage: omp_policy_test.sh EDGEINFER MODEL.onnx
set -u
EI=$1 MODEL=$2
pass=0 fail=0
check() { # NAME CONDITION-RESULT DETAILS
  if [ "$2" = 0 ]; then pass=$((pass+1)); echo "ok   $1"; else fail=$((fail+1)); echo "FAIL $1"; echo "$3" | head -40 | sed 's/^/     /'; fi
}
starts() { grep -c "OPENMP DISPLAY ENVIRONMENT BEGIN" <<<"$1"; }
# The setting libgomp read in the last start.
last_spin() { grep "GOMP_SPINCOUNT = " <<<"$1" | tail -1 | sed "s/.*= '\(.*\)'/\1/"; }
last_policy() { grep "OMP_WAIT_POLICY = " <<<"$1" | tail -1 | sed "s/.*= '\(.*\)'/\1/"; }
clean_env=(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u EI_OMP_POLICY_APPLIED -u EI_OMP_POLICY OMP_DISPLAY_ENV=verbose)

out=$("${clean_env[@]}" EI_OMP_POLICY=passive "$EI" --version 2>&1); rc=$?
[ $rc = 0 ] && [ "$(starts "$out")" = 2 ] && [ "$(last_spin "$out")" = 0 ] && [ "$(last_policy "$out")" = PASSIVE ] &&
  grep -q "OMP_WAIT_POLICY=passive (EI_OMP_POLICY=passive)" <<<"$out"
check passive_applied_once $? "$out"

out=$("${clean_env[@]}" EI_OMP_POLICY=spin "$EI" --version 2>&1); rc=$?
[ $rc = 0 ] && [ "$(starts "$out")" = 1 ] && [ "$(last_spin "$out")" = 300000 ] &&
  grep -q "threads spin while waiting (libgomp's default; EI_OMP_POLICY=spin)" <<<"$out"
check spin_without_reexec $? "$out"

# auto (the default): whichever it chose, libgomp got it, and the reason names what was seen.
out=$("${clean_env[@]}" "$EI" --version 2>&1); rc=$?
if grep -q "OMP_WAIT_POLICY=passive: [1-9][0-9]* other tasks were running" <<<"$out"; then
  [ $rc = 0 ] && [ "$(starts "$out")" = 2 ] && [ "$(last_spin "$out")" = 0 ]
else
  [ $rc = 0 ] && [ "$(starts "$out")" = 1 ] && [ "$(last_spin "$out")" = 300000 ] &&
    grep -q "threads spin while waiting (libgomp's default): 0 other tasks were running" <<<"$out"
fi
check auto_consistent $? "$out"

# The streaming application counts as busy: its pipeline threads share the cores (whatever it
# does next with a config that does not exist; libgomp reports what it started with).
out=$("${clean_env[@]}" "$EI" run "$MODEL.no-such-app.ini" 2>&1)
[ "$(starts "$out")" = 2 ] && [ "$(last_spin "$out")" = 0 ] && [ "$(last_policy "$out")" = PASSIVE ]
check streaming_app_passive $? "$out"

out=$("${clean_env[@]}" EI_OMP_POLICY=sometimes "$EI" --version 2>&1); rc=$?
[ $rc = 0 ] && grep -q "EI_OMP_POLICY=sometimes is not auto, spin or passive; using auto" <<<"$out"
check bad_choice_warns $? "$out"

out=$("${clean_env[@]}" OMP_WAIT_POLICY=active EI_OMP_POLICY=passive "$EI" --version 2>&1); rc=$?
[ $rc = 0 ] && [ "$(starts "$out")" = 1 ] && [ "$(last_policy "$out")" = ACTIVE ] &&
  grep -q "OMP_WAIT_POLICY=active (from the environment)" <<<"$out"
check user_wait_policy_kept $? "$out"

out=$("${clean_env[@]}" GOMP_SPINCOUNT=5000 "$EI" --version 2>&1); rc=$?
[ $rc = 0 ] && [ "$(starts "$out")" = 1 ] && [ "$(last_spin "$out")" = 5000 ] &&
  grep -q "GOMP_SPINCOUNT=5000 (from the environment)" <<<"$out"
check user_spincount_kept $? "$out"

# The re-executed program gets the same arguments and does the work.
out=$("${clean_env[@]}" EI_OMP_POLICY=passive "$EI" bench "$MODEL" --iterations 2 --warmup 1 2>&1); rc=$?
[ $rc = 0 ] && [ "$(starts "$out")" = 2 ] && grep -q "median" <<<"$out"
check bench_after_reexec $? "$out"

# The guard alone (as the second image sees it) stops a further execution.
out=$("${clean_env[@]}" EI_OMP_POLICY=passive EI_OMP_POLICY_APPLIED=asked "$EI" --version 2>&1); rc=$?
[ $rc = 0 ] && [ "$(starts "$out")" = 1 ]
check guard_stops_reexec $? "$out"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
