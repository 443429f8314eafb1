#!/bin/sh
# Installs what the tests need, builds mcfs with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs the whole test suite (unit and
# integration suites against real redis-server and s3rver processes).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/contrib/install-deps.sh" --test
cd "$top"
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
build="$top/build/check"
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure" --enable-sanitizers >/dev/null
fi
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs" >/dev/null
status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	make -j"$jobs" check VERBOSE=1 || status=$?
pass=$(sed -n 's/^# PASS: *//p' test-suite.log | head -1)
fail=$(sed -n 's/^# FAIL: *//p' test-suite.log | head -1)
err=$(sed -n 's/^# ERROR: *//p' test-suite.log | head -1)
echo "test programs: ${pass:-0} passed, $(( ${fail:-0} + ${err:-0} )) failed"
exit $status
