-- 009: posts held because their sender is not proven (posting.sender_proof).
-- Such a post is released by its confirmation token coming back (a reply
-- to the request mailed to the contact) or by "!confirm" in the room, never
-- by a promotion.
ALTER TABLE held_post ADD COLUMN unverified INTEGER NOT NULL DEFAULT 0;

CREATE TABLE held_confirm (
	token       TEXT PRIMARY KEY,
	message_id  INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
	created     INTEGER NOT NULL,
	expires     INTEGER NOT NULL,
	used        INTEGER
) WITHOUT ROWID;
CREATE INDEX held_confirm_message ON held_confirm(message_id);
