#!/bin/sh
# make bench: reply-trimming throughput.  $1: the coopgate binary (its
# build directory holds the bench program, built here from
# bench/trim_bench.c).  Times email_trim over the corpus in tests/trim and
# over a 1 MB mail with no line break.  Prints figures; asserts nothing.
# TRIM_BENCH_SECONDS: seconds per figure (default 1).
set -eu

bin=${1:-./build/default/coopgate}
root=$(cd "$(dirname "$0")/.." && pwd)
case $(cd "$(dirname "$bin")" && pwd) in
*/build/san) san=1 kind=san ;;
*) san=0 kind=default ;;
esac
make -s -C "$root" SAN=$san "build/$kind/bench/trim_bench" >&2
"$root/build/$kind/bench/trim_bench" "$root/tests/trim" "${TRIM_BENCH_SECONDS:-1}"
