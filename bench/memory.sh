#!/bin/sh
# make bench: coopgate's resident memory with 100 channels and 10,000
# members against real servers.  $1: the coopgate binary.
exec /usr/bin/python3 "$(dirname "$0")/memory_bench.py" "$@"
