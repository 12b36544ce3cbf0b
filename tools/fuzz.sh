#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each. A finding (the
# engine writes "Failing input written to ...") fails the run. Go's engine can
# also stop with "context deadline exceeded" when its time runs out while an
# input is still executing, with no input found: that is not a finding, so the
# target is run again, and only a third such stop in a row fails.
set -uo pipefail
fuzztime=${FUZZTIME:-30s}
go=${GO:-go}
status=0
for pkg in $($go list ./...); do
  for t in $($go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz'); do
    for attempt in 1 2 3; do
      echo "fuzz $pkg $t ($fuzztime)"
      out=$($go test -run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime" "$pkg" 2>&1)
      rc=$?
      printf '%s\n' "$out" | tail -n 3
      if [ $rc -eq 0 ]; then break; fi
      if printf '%s' "$out" | grep -q 'Failing input written to' || ! printf '%s' "$out" | grep -q 'context deadline exceeded'; then
        printf '%s\n' "$out"
        status=1
        break
      fi
      if [ $attempt -eq 3 ]; then status=1; break; fi
      echo "fuzz engine stopped at its deadline with no finding; running $t again"
    done
  done
done
exit $status
