-- 006_digest: digests for members with delivery "digest": one plain-text
-- mail per channel per period (a day) listing the posts stored since the
-- channel's previous digest.  A digest row records what it covered
-- (digest_message); each member's copy is a notice (digest_notice says
-- which), delivered through the outbox like any notice but composed as
-- list mail.
CREATE TABLE digest (
	id               INTEGER PRIMARY KEY,
	channel_id       INTEGER NOT NULL REFERENCES channel(id) ON DELETE CASCADE,
	period_start     INTEGER NOT NULL,  -- unix seconds
	period_end       INTEGER NOT NULL,
	first_message_id INTEGER,
	last_message_id  INTEGER,
	messages         INTEGER NOT NULL,
	created          INTEGER NOT NULL
);
CREATE INDEX digest_channel ON digest(channel_id, period_end);

CREATE TABLE digest_message (
	digest_id  INTEGER NOT NULL REFERENCES digest(id) ON DELETE CASCADE,
	message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
	PRIMARY KEY (digest_id, message_id)
);

CREATE TABLE digest_notice (
	notice_id INTEGER PRIMARY KEY REFERENCES notice(id) ON DELETE CASCADE,
	digest_id INTEGER NOT NULL REFERENCES digest(id) ON DELETE CASCADE
);
