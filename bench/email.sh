#!/bin/sh
# make bench: the email figures (IMAP ingest, SMTP fan-out) against real
# Dovecot and Postfix on 127.0.0.1.  $1: the coopgate binary.
exec /usr/bin/python3 "$(dirname "$0")/email_bench.py" "$@"
