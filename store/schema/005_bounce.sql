-- 005_bounce: bounce scores, suspended addresses, subscription confirmation
-- tokens and the mail commands already carried out (bridges/email/bounce.c,
-- request.c; DESIGN.md "Email arriving at the gateway").

-- One row per failed delivery to an address.  The score of an address is
-- the sum of `weight` (permanent 1.0, temporary 0.5) over the events of the
-- last 30 days: older events simply drop out (no halving).
CREATE TABLE bounce_event (
	id          INTEGER PRIMARY KEY,
	address     TEXT NOT NULL COLLATE NOCASE,
	at          INTEGER NOT NULL,
	permanent   INTEGER NOT NULL CHECK (permanent IN (0, 1)),
	weight      REAL NOT NULL,
	reason      TEXT
);
CREATE INDEX bounce_event_address ON bounce_event(address, at);

-- Addresses that get no more list mail (score reached 5.0).  Independent
-- of memberships: the recipients query (store/contacts.c) skips them.  A
-- confirmed `subscribe` from the address lifts the suspension.
CREATE TABLE bounce_suspension (
	address     TEXT PRIMARY KEY COLLATE NOCASE,
	since       INTEGER NOT NULL,
	reason      TEXT
) WITHOUT ROWID;

-- Pending confirmations of +request commands: the token goes to the From
-- address; the command runs when the token comes back (7 days).
CREATE TABLE request_token (
	token       TEXT PRIMARY KEY,
	channel_id  INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
	address     TEXT NOT NULL COLLATE NOCASE,
	action      TEXT NOT NULL CHECK (action IN
	            ('subscribe','unsubscribe','each','digest','none')),
	created     INTEGER NOT NULL,
	expires     INTEGER NOT NULL,
	used        INTEGER
) WITHOUT ROWID;

-- Mail handled outside the pipeline (commands, bounces, notices), by
-- Message-ID and kind: a re-scan of the mailbox does not run it twice.
CREATE TABLE mail_handled (
	ext_id      TEXT NOT NULL,
	kind        TEXT NOT NULL,
	at          INTEGER NOT NULL,
	PRIMARY KEY (ext_id, kind)
) WITHOUT ROWID;
