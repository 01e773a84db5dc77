#!/bin/sh
# make bench: the soak (issue 10): coopgate under steady mixed load (mail
# and chat, a share of hostile mails and room lines from tests/fuzz/corpus)
# against real Dovecot, Postfix and Prosody on 127.0.0.1, its RSS and open
# file descriptors sampled as it goes.  $1: the coopgate binary.
# SOAK_SECONDS (default 3600) and SOAK_SAMPLE (default 60) set the length
# and the sampling period; see bench/soak_bench.py for the others.
exec /usr/bin/python3 "$(dirname "$0")/soak_bench.py" "$@"
