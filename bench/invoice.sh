#!/bin/sh
# make bench: invoices rendered and queued per second.  $1: the coopgate
# binary.  1,000 buyers with billing data and 10 time entries each (last
# month; put into the store directly, as setup only), then one
# `coopgate invoice run`: per buyer one XRechnung UBL document, the text
# and HTML bodies, the invoice rows and its mail queued in the outbox, all
# in one transaction.  Prints invoices/s and the run's peak memory (max
# RSS); asserts nothing.  INVOICE_BENCH_BUYERS overrides the count.
set -eu

bin=${1:-./coopgate}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
n=${INVOICE_BENCH_BUYERS:-1000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/cginvoice-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM

cat > "$dir/coopgate.conf" <<CONF
gateway = { domain = "lists.example.org"; data_dir = "$dir/data"; };
members = ( { address = "alice@example.org"; name = "Alice"; layer = "core"; } );
billing = {
  sellers = ( { code = "coop"; name = "Example eG"; street = "Hauptstr. 1";
      postcode = "10115"; city = "Berlin"; country = "DE"; vat_id = "DE123456789";
      email = "billing@example.org"; phone = "+49 30 123456"; contact = "Office";
      iban = "DE02120300000000202051"; workers = [ "alice@example.org" ]; } );
  rates = ( { code = "DEV"; name = "Development"; price = "80.00"; vat = "19";
      seller = "coop"; } );
};
CONF
conf="$dir/coopgate.conf"
"$bin" -c "$conf" init > /dev/null
period=$(date -d "$(date +%Y-%m-01) -1 day" +%Y-%m)
/usr/bin/python3 - "$dir/data/coopgate.db" "$n" "$period" <<'PY'
import sqlite3, sys, time
db, n, period = sys.argv[1], int(sys.argv[2]), sys.argv[3]
con = sqlite3.connect(db)
now = int(time.time())
alice = con.execute("SELECT contact_id FROM identity "
                    "WHERE value = 'alice@example.org'").fetchone()[0]
for i in range(n):
    cid = con.execute("INSERT INTO contact(name, layer, layer_since, created) "
                      "VALUES (?, 'member', ?, ?)",
                      (f"Buyer {i} & Söhne", now, now)).lastrowid
    con.execute("INSERT INTO identity(contact_id, kind, value) VALUES (?, 'email', ?)",
                (cid, f"buyer{i}@example.net"))
    con.execute("INSERT INTO billing_party(contact_id, street, postcode, city, "
                "country, updated) VALUES (?, 'Straße 1', '10623', 'Berlin', 'DE', ?)",
                (cid, now))
    for k in range(10):
        con.execute("INSERT INTO time_entry(worker_id, buyer_id, seller, rate, day, "
                    "qty_milli, note, created) VALUES (?, ?, 'coop', 'DEV', ?, ?, ?, ?)",
                    (alice, cid, f"{period}-{k + 1:02d}", 250 + 125 * k, f"task {k}", now))
con.commit()
PY
t0=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$dir/rss" "$bin" -c "$conf" invoice run --period "$period" \
	> "$dir/out"
t1=$(date +%s.%N)
issued=$(grep -c ': coop -> ' "$dir/out" || true)
rows=$(/usr/bin/python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(
    "SELECT count(*) FROM outbox WHERE notice_id IS NOT NULL").fetchone()[0])' \
	"$dir/data/coopgate.db")
awk -v s="$t0" -v e="$t1" -v n="$issued" -v rss="$(cat "$dir/rss")" -v rows="$rows" 'BEGIN {
	printf "invoice run: %d invoices (10 lines each) rendered and queued in %.2f s: " \
	       "%.0f invoices/s; %d mails in the outbox; peak memory %.1f MB\n",
	       n, e - s, n / (e - s), rows, rss / 1024 }'
