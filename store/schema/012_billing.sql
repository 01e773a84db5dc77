-- 012_billing: time, subscriptions and digital assets billed as invoices
-- (CONTRACT.md "Billing, invoices and reports").  Sellers, rates and plans
-- live in the config; what was sold and what was issued lives here.
-- Money is integer cents, quantities thousandths, VAT rates basis points.
-- Days are 'YYYY-MM-DD' text.  Issued documents never change: triggers
-- refuse UPDATE and DELETE of invoices, their lines and parties (GoBD).

-- The postal and tax data an invoice needs about a buyer (a contact).
CREATE TABLE billing_party (
	contact_id  INTEGER PRIMARY KEY REFERENCES contact(id) ON DELETE CASCADE,
	street      TEXT,
	postcode    TEXT,
	city        TEXT,
	country     TEXT,
	vat_id      TEXT,
	buyer_ref   TEXT,
	org         TEXT,            -- the legal name to bill, else the contact's
	updated     INTEGER NOT NULL
);

CREATE TABLE time_entry (
	id          INTEGER PRIMARY KEY,
	worker_id   INTEGER NOT NULL REFERENCES contact(id),
	buyer_id    INTEGER NOT NULL REFERENCES contact(id),
	seller      TEXT NOT NULL,   -- seller code (config)
	rate        TEXT NOT NULL,   -- rate code (config)
	day         TEXT NOT NULL,
	qty_milli   INTEGER NOT NULL CHECK (qty_milli > 0 AND qty_milli <= 24000),
	note        TEXT,
	created     INTEGER NOT NULL
);
CREATE INDEX time_entry_day ON time_entry(day);

CREATE TABLE plan_subscription (
	id          INTEGER PRIMARY KEY,
	buyer_id    INTEGER NOT NULL REFERENCES contact(id),
	plan        TEXT NOT NULL,   -- plan code (config)
	start_day   TEXT NOT NULL,
	stop_day    TEXT,            -- last day billed; NULL: running
	created     INTEGER NOT NULL
);
CREATE UNIQUE INDEX plan_subscription_open ON plan_subscription(buyer_id, plan)
	WHERE stop_day IS NULL;

CREATE TABLE asset (
	code        TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	blob_id     TEXT NOT NULL REFERENCES blob(id),
	file_name   TEXT NOT NULL,
	media_type  TEXT,
	price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
	vat_bp      INTEGER NOT NULL,
	seller      TEXT NOT NULL,
	created     INTEGER NOT NULL
);

CREATE TABLE purchase (
	id          INTEGER PRIMARY KEY,
	buyer_id    INTEGER NOT NULL REFERENCES contact(id),
	asset       TEXT NOT NULL REFERENCES asset(code),
	day         TEXT NOT NULL,
	created     INTEGER NOT NULL
);

-- Gapless number series: one counter per seller and year, taken inside
-- the transaction that issues the document.
CREATE TABLE invoice_series (
	seller      TEXT NOT NULL,
	year        INTEGER NOT NULL,
	last        INTEGER NOT NULL,
	PRIMARY KEY (seller, year)
) WITHOUT ROWID;

CREATE TABLE invoice (
	id           INTEGER PRIMARY KEY,
	number       TEXT NOT NULL UNIQUE,
	type_code    INTEGER NOT NULL CHECK (type_code IN (380, 381)),
	seller       TEXT NOT NULL,
	buyer_id     INTEGER NOT NULL,  -- no FK: the invoice outlives the contact
	issue_day    TEXT NOT NULL,
	due_day      TEXT NOT NULL,
	period_start TEXT NOT NULL,
	period_end   TEXT NOT NULL,
	currency     TEXT NOT NULL,
	net_cents    INTEGER NOT NULL,
	vat_cents    INTEGER NOT NULL,
	gross_cents  INTEGER NOT NULL,
	cancels      INTEGER REFERENCES invoice(id),  -- a credit note: the invoice
	reason       TEXT,
	xml          BLOB NOT NULL,     -- the exact bytes mailed (XRechnung UBL)
	text_body    TEXT NOT NULL,
	html_body    TEXT NOT NULL,
	created      INTEGER NOT NULL
);
CREATE INDEX invoice_seller ON invoice(seller, id);
CREATE UNIQUE INDEX invoice_cancelled_once ON invoice(cancels)
	WHERE cancels IS NOT NULL;

-- Seller and buyer as they were on the day of issue.
CREATE TABLE invoice_party (
	invoice_id  INTEGER NOT NULL REFERENCES invoice(id),
	role        TEXT NOT NULL CHECK (role IN ('seller','buyer')),
	name        TEXT, street TEXT, postcode TEXT, city TEXT, country TEXT,
	vat_id      TEXT, tax_number TEXT, email TEXT, phone TEXT, contact TEXT,
	iban        TEXT, bic TEXT, buyer_ref TEXT,
	PRIMARY KEY (invoice_id, role)
);

CREATE TABLE invoice_line (
	invoice_id   INTEGER NOT NULL REFERENCES invoice(id),
	idx          INTEGER NOT NULL,
	source       TEXT UNIQUE,   -- 'time:ID', 'plan:ID:YYYY-MM', 'purchase:ID';
	                            -- NULL on credit notes: each is billed once
	name         TEXT NOT NULL,
	note         TEXT,
	unit         TEXT NOT NULL,
	qty_milli    INTEGER NOT NULL,
	price_cents  INTEGER NOT NULL,
	vat_bp       INTEGER NOT NULL,
	net_cents    INTEGER NOT NULL,
	period_start TEXT,
	period_end   TEXT,
	PRIMARY KEY (invoice_id, idx)
);

-- The mail (a notice) that carries an invoice, for the email bridge.
CREATE TABLE invoice_notice (
	notice_id   INTEGER PRIMARY KEY REFERENCES notice(id) ON DELETE CASCADE,
	invoice_id  INTEGER NOT NULL REFERENCES invoice(id),
	asset       TEXT REFERENCES asset(code)   -- a bought file to attach
);

-- Invoice runs the daemon has done (period 'YYYY-MM'): once each.
CREATE TABLE invoice_run (
	period      TEXT PRIMARY KEY,
	started     INTEGER NOT NULL,
	finished    INTEGER
);

CREATE TRIGGER invoice_no_update BEFORE UPDATE ON invoice
BEGIN SELECT RAISE(ABORT, 'issued invoices never change'); END;
CREATE TRIGGER invoice_no_delete BEFORE DELETE ON invoice
BEGIN SELECT RAISE(ABORT, 'issued invoices never change'); END;
CREATE TRIGGER invoice_line_no_update BEFORE UPDATE ON invoice_line
BEGIN SELECT RAISE(ABORT, 'issued invoices never change'); END;
CREATE TRIGGER invoice_line_no_delete BEFORE DELETE ON invoice_line
BEGIN SELECT RAISE(ABORT, 'issued invoices never change'); END;
CREATE TRIGGER invoice_party_no_update BEFORE UPDATE ON invoice_party
BEGIN SELECT RAISE(ABORT, 'issued invoices never change'); END;
CREATE TRIGGER invoice_party_no_delete BEFORE DELETE ON invoice_party
BEGIN SELECT RAISE(ABORT, 'issued invoices never change'); END;
