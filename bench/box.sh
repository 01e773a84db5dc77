#!/bin/sh
# make bench: SchutzBox throughput.  $1: the coopgate binary.
# Stores and reads back a 256 MB random file and compares with cp of the
# same file on the same filesystem (every copy synced to disk).  Prints
# figures; asserts nothing.  BOX_BENCH_MB overrides the size.
set -eu

bin=${1:-./coopgate}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
mb=${BOX_BENCH_MB:-256}
dir=$(mktemp -d "${TMPDIR:-/tmp}/cgbox-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM

cat > "$dir/coopgate.conf" <<EOF
gateway = { domain = "lists.example.org"; data_dir = "$dir/data"; };
EOF
conf="$dir/coopgate.conf"
"$bin" -c "$conf" init > /dev/null
head -c "$((mb * 1024 * 1024))" /dev/urandom > "$dir/in"
sync

now() { date +%s.%N; }
# rate START END: MB/s
rate() { awk -v s="$1" -v e="$2" -v mb="$mb" 'BEGIN { printf "%.0f", mb / (e - s) }'; }

# Every run starts with the input in the page cache (it was just
# written) and nothing dirty, and ends with its output on disk: cp is
# followed by sync, box put and box get fsync what they write.
# Three rounds, each figure the median of its three: a sync on this kind of
# machine takes anything from 0.1 to 0.6 s, which alone moves cp's figure
# by a factor of three.
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
cps="" puts="" gets="" verifies=""
for round in 1 2 3; do
	rm -f "$dir/copy" "$dir/out"
	sync
	t0=$(now)
	cp "$dir/in" "$dir/copy"
	sync "$dir/copy"
	t1=$(now)
	cps="$cps $(rate "$t0" "$t1")"

	# a fresh box each round: put really writes
	rm -rf "$dir/data"
	"$bin" -c "$conf" init > /dev/null
	sync
	t0=$(now)
	id=$("$bin" -c "$conf" box put "$dir/in")
	t1=$(now)
	puts="$puts $(rate "$t0" "$t1")"

	sync
	t0=$(now)
	"$bin" -c "$conf" box get "$id" -o "$dir/out"
	t1=$(now)
	gets="$gets $(rate "$t0" "$t1")"

	sync
	t0=$(now)
	"$bin" -c "$conf" box verify > /dev/null
	t1=$(now)
	verifies="$verifies $(rate "$t0" "$t1")"
done
# shellcheck disable=SC2086 # word splitting wanted
cp_rate=$(median $cps) put_rate=$(median $puts) get_rate=$(median $gets)
# shellcheck disable=SC2086
verify_rate=$(median $verifies)

cmp -s "$dir/in" "$dir/out" || echo "box: WARNING: get returned different bytes"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "box: ${mb} MB random file, $(df -PT "$dir" | awk 'NR == 2 { print $2 }') at $dir"
printf 'box: cp + sync  %6s MB/s  (median of:%s)\n' "$cp_rate" "$cps"
printf 'box: box put    %6s MB/s  (%s x cp)\n' "$put_rate" "$(ratio "$put_rate" "$cp_rate")"
printf 'box: box get    %6s MB/s  (%s x cp)\n' "$get_rate" "$(ratio "$get_rate" "$cp_rate")"
printf 'box: box verify %6s MB/s  (decrypt + hash, no output)\n' "$verify_rate"
printf 'box: %s cores, load average %s\n' "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
