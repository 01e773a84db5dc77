-- 001_core: the core tables (DESIGN.md "Store").
-- Times are unix seconds unless a column ends in _ms.

CREATE TABLE channel (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	address     TEXT NOT NULL,
	room        TEXT,
	description TEXT,
	post_layer  TEXT NOT NULL DEFAULT 'member'
	            CHECK (post_layer IN ('guest','partner','member','core')),
	created     INTEGER NOT NULL
);

-- A person or an organisation; persons may belong to one organisation.
CREATE TABLE contact (
	id          INTEGER PRIMARY KEY,
	kind        TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ('person','org')),
	name        TEXT,
	org_id      INTEGER REFERENCES contact(id) ON DELETE SET NULL,
	layer       TEXT NOT NULL DEFAULT 'guest'
	            CHECK (layer IN ('guest','partner','member','core')),
	layer_since INTEGER NOT NULL,
	source      TEXT NOT NULL DEFAULT 'cli' CHECK (source IN ('config','cli','auto')),
	notes       TEXT,
	created     INTEGER NOT NULL
);

CREATE TABLE layer_history (
	contact_id  INTEGER NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
	layer       TEXT NOT NULL,
	since       INTEGER NOT NULL,
	reason      TEXT
);

-- Email addresses and JIDs, each owned by one contact.
CREATE TABLE identity (
	id          INTEGER PRIMARY KEY,
	contact_id  INTEGER NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
	kind        TEXT NOT NULL CHECK (kind IN ('email','jid')),
	value       TEXT NOT NULL COLLATE NOCASE,
	UNIQUE (kind, value)
);
CREATE INDEX identity_contact ON identity(contact_id);

CREATE TABLE membership (
	contact_id  INTEGER NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
	channel_id  INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
	delivery    TEXT NOT NULL DEFAULT 'each' CHECK (delivery IN ('each','digest','none')),
	source      TEXT NOT NULL DEFAULT 'cli' CHECK (source IN ('config','cli','auto')),
	since       INTEGER NOT NULL,
	PRIMARY KEY (contact_id, channel_id)
);
CREATE INDEX membership_channel ON membership(channel_id, delivery);

CREATE TABLE thread (
	id              INTEGER PRIMARY KEY,
	channel_id      INTEGER NOT NULL REFERENCES channel(id),
	token           TEXT NOT NULL UNIQUE,
	subject         TEXT,
	root_message_id INTEGER REFERENCES message(id),
	created         INTEGER NOT NULL,
	last_activity   INTEGER NOT NULL
);

CREATE TABLE message (
	id          INTEGER PRIMARY KEY,
	channel_id  INTEGER NOT NULL REFERENCES channel(id),
	thread_id   INTEGER NOT NULL REFERENCES thread(id),
	parent_id   INTEGER REFERENCES message(id),
	contact_id  INTEGER REFERENCES contact(id) ON DELETE SET NULL,
	network     TEXT NOT NULL CHECK (network IN ('email','xmpp')),
	message_id  TEXT NOT NULL UNIQUE,   -- the RFC 5322 Message-ID used on email
	sender_addr TEXT,
	sender_name TEXT,
	subject     TEXT,
	body        TEXT,
	trimmed     TEXT,
	raw         BLOB,
	flags       INTEGER NOT NULL DEFAULT 0,
	received    INTEGER NOT NULL
);
CREATE INDEX message_thread ON message(thread_id, id);

-- Every id the far side gave: Message-ID, origin-id, stanza-id.
CREATE TABLE extid (
	network     TEXT NOT NULL,
	ext_id      TEXT NOT NULL,
	message_id  INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
	PRIMARY KEY (network, ext_id)
) WITHOUT ROWID;

-- Attachment bytes until the SchutzBox holds them (blob_id).
CREATE TABLE attachment (
	message_id  INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
	idx         INTEGER NOT NULL,
	name        TEXT,
	type        TEXT,
	size        INTEGER NOT NULL,
	data        BLOB,
	blob_id     TEXT REFERENCES blob(id),
	PRIMARY KEY (message_id, idx)
);

-- One row per destination: a recipient address (email) or a room (xmpp).
CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY,
	message_id      INTEGER REFERENCES message(id) ON DELETE CASCADE,
	bridge          TEXT NOT NULL,
	destination     TEXT NOT NULL,
	state           TEXT NOT NULL DEFAULT 'pending'
	                CHECK (state IN ('pending','done','dead')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_ms INTEGER NOT NULL,
	last_error      TEXT,
	far_id          TEXT,
	created         INTEGER NOT NULL,
	done_at         INTEGER,
	UNIQUE (message_id, bridge, destination)
);
CREATE INDEX outbox_due ON outbox(state, bridge, next_attempt_ms);

CREATE TABLE interaction (
	id          INTEGER PRIMARY KEY,
	contact_id  INTEGER REFERENCES contact(id) ON DELETE SET NULL,
	channel_id  INTEGER REFERENCES channel(id) ON DELETE SET NULL,
	thread_id   INTEGER REFERENCES thread(id) ON DELETE SET NULL,
	message_id  INTEGER REFERENCES message(id) ON DELETE SET NULL,
	network     TEXT NOT NULL,
	direction   TEXT NOT NULL CHECK (direction IN ('in','out')),
	at          INTEGER NOT NULL
);
CREATE INDEX interaction_contact ON interaction(contact_id, at);

CREATE TABLE nomination (
	id           INTEGER PRIMARY KEY,
	nominee_id   INTEGER NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
	nominator_id INTEGER NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
	channel_id   INTEGER REFERENCES channel(id) ON DELETE SET NULL,
	target_layer TEXT NOT NULL DEFAULT 'member'
	             CHECK (target_layer IN ('partner','member','core')),
	created      INTEGER NOT NULL,
	UNIQUE (nominee_id, nominator_id, target_layer)
);

-- SchutzBox index: one row per encrypted blob.
CREATE TABLE blob (
	id          TEXT PRIMARY KEY,
	size        INTEGER NOT NULL,
	type        TEXT,
	name        TEXT,
	refcount    INTEGER NOT NULL DEFAULT 0,
	created     INTEGER NOT NULL
) WITHOUT ROWID;

-- Connection state per bridge, for `coopgate status`.
CREATE TABLE bridge_state (
	name        TEXT PRIMARY KEY,
	connected   INTEGER NOT NULL,
	since       INTEGER NOT NULL,
	last_error  TEXT,
	updated     INTEGER NOT NULL
) WITHOUT ROWID;

-- Small named values: IMAP watermarks, daemon pid, ...
CREATE TABLE kv (
	key         TEXT PRIMARY KEY,
	value       TEXT
) WITHOUT ROWID;
