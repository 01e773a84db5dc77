#!/bin/sh
# make bench: the XMPP figures (email -> room and room -> email latency)
# against real Dovecot, Postfix and Prosody on 127.0.0.1.  $1: the coopgate
# binary.  Prints figures; asserts nothing.
exec /usr/bin/python3 "$(dirname "$0")/xmpp_bench.py" "$@"
