#!/bin/sh
# make bench: search and reports on a generated store.  $1: the coopgate
# binary (its build directory holds libcoopgate.a).  Builds
# bench/search_bench.c against it, generates SEARCH_BENCH_MESSAGES
# (default 1,000,000) messages straight into a store (no servers), and
# prints: backfill rate of the search index (target >= 20,000/s), search
# p50/p99 (target p99 < 50 ms), each report for one month (< 2 s).
# Exits 1 when a target is missed.
set -eu

bin=${1:-./coopgate}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
build=$(dirname "$bin")
repo=$(cd "$(dirname "$0")/.." && pwd)
n=${SEARCH_BENCH_MESSAGES:-1000000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/cgsearch-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM

pkgs="libetpan libstrophe libcurl sqlite3 libsodium libconfig gnutls"
cc -std=c17 -D_GNU_SOURCE -O2 -I"$repo" $(pkg-config --cflags $pkgs) \
	-o "$dir/search_bench" "$repo/bench/search_bench.c" \
	"$build/libcoopgate.a" $(pkg-config --libs $pkgs) -lstemmer -lm -lpthread
mkdir -p "$dir/data"
"$dir/search_bench" "$dir/data" "$n"
