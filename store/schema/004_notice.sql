-- 004_notice: mail the gateway itself writes to one person (auto-replies,
-- answers to +request commands, subscription confirmations, bounce
-- warnings).  Delivered through the outbox like list mail, but composed as
-- a direct message, never as a list post.
CREATE TABLE notice (
	id             INTEGER PRIMARY KEY,
	channel_id     INTEGER REFERENCES channel(id) ON DELETE SET NULL,
	from_addr      TEXT NOT NULL,     -- e.g. dev+request@lists.example.org
	to_addr        TEXT NOT NULL,
	subject        TEXT NOT NULL,
	body           TEXT NOT NULL,
	in_reply_to    TEXT,              -- Message-ID answered, without <>
	auto_submitted TEXT NOT NULL DEFAULT 'auto-replied'
	               CHECK (auto_submitted IN ('auto-replied','auto-generated')),
	message_id     TEXT NOT NULL UNIQUE,
	created        INTEGER NOT NULL
);
CREATE INDEX notice_to ON notice(to_addr, created);

ALTER TABLE outbox ADD COLUMN notice_id INTEGER REFERENCES notice(id) ON DELETE CASCADE;
