-- 003_crm: what the CRM adds to contacts: tags, the onboarding state of
-- held posts (released or expired after 7 days).  Notes live in
-- contact.notes (001); an organisation's mail domains are derived from its
-- config/CLI members' addresses (store/crm.c), so no table holds them.

CREATE TABLE contact_tag (
	contact_id  INTEGER NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
	tag         TEXT NOT NULL COLLATE NOCASE,
	PRIMARY KEY (contact_id, tag)
) WITHOUT ROWID;

-- A post held because its sender was below the channel's post_layer.
-- 'held' until released (the sender was promoted: outbox rows written) or
-- expired (7 days passed: never relayed).
CREATE TABLE held_post (
	message_id  INTEGER PRIMARY KEY REFERENCES message(id) ON DELETE CASCADE,
	contact_id  INTEGER REFERENCES contact(id) ON DELETE CASCADE,
	channel_id  INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
	state       TEXT NOT NULL DEFAULT 'held'
	            CHECK (state IN ('held','released','expired')),
	held_at     INTEGER NOT NULL,
	expires     INTEGER NOT NULL,
	changed     INTEGER
);
CREATE INDEX held_post_contact ON held_post(contact_id, state);
CREATE INDEX held_post_expires ON held_post(state, expires);

CREATE INDEX nomination_nominee ON nomination(nominee_id, target_layer);
