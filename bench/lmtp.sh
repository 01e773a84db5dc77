#!/bin/sh
# make bench: LMTP delivery in (email -> room latency, ingest mails/s)
# against real Postfix and Prosody on 127.0.0.1.  $1: the coopgate binary.
exec /usr/bin/python3 "$(dirname "$0")/lmtp_bench.py" "$@"
