-- 013_search_reports: the search index of every stored message (both
-- networks) and the reports sent as messages.
--
-- message_fts is an FTS5 index over message_search_doc (external content:
-- the text stays in message, the index holds only the terms).  Tokenizer
-- cg_stem (store/search_tokenizer.c): words folded (case, diacritics) and
-- stemmed by the German and English Snowball stemmers.  The triggers keep
-- the index in the transaction that writes the message; the 'rebuild'
-- fills it for the messages stored before this migration.
CREATE VIEW message_search_doc AS
SELECT m.id AS id, m.subject AS subject,
       coalesce(m.trimmed, m.body) AS body,
       trim(coalesce(m.sender_name, '') || ' ' || coalesce(m.sender_addr, ''))
           AS author,
       t.subject AS thread, c.name AS channel, m.network AS network
FROM message m JOIN thread t ON t.id = m.thread_id
JOIN channel c ON c.id = m.channel_id;

CREATE VIRTUAL TABLE message_fts USING fts5(
	subject, body, author, thread, channel, network,
	content = 'message_search_doc', content_rowid = 'id',
	tokenize = 'cg_stem');

CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN
	INSERT INTO message_fts(rowid, subject, body, author, thread, channel,
	                        network)
	SELECT id, subject, body, author, thread, channel, network
	FROM message_search_doc WHERE id = new.id;
END;

CREATE TRIGGER message_fts_delete BEFORE DELETE ON message BEGIN
	INSERT INTO message_fts(message_fts, rowid, subject, body, author,
	                        thread, channel, network)
	SELECT 'delete', id, subject, body, author, thread, channel, network
	FROM message_search_doc WHERE id = old.id;
END;

-- A correction (XEP-0308) replaces body and trimmed text.
CREATE TRIGGER message_fts_update_before
BEFORE UPDATE OF subject, body, trimmed, sender_name, sender_addr ON message
BEGIN
	INSERT INTO message_fts(message_fts, rowid, subject, body, author,
	                        thread, channel, network)
	SELECT 'delete', id, subject, body, author, thread, channel, network
	FROM message_search_doc WHERE id = old.id;
END;

CREATE TRIGGER message_fts_update_after
AFTER UPDATE OF subject, body, trimmed, sender_name, sender_addr ON message
BEGIN
	INSERT INTO message_fts(rowid, subject, body, author, thread, channel,
	                        network)
	SELECT id, subject, body, author, thread, channel, network
	FROM message_search_doc WHERE id = new.id;
END;

-- rank = bm25 with the subject weighted 4, the thread subject 2, text and
-- author 1, channel and network 0.2 (search.c orders by rank: FTS5 sorts
-- inside the index and computes snippets only for the rows returned).
INSERT INTO message_fts(message_fts, rank)
	VALUES ('rank', 'bm25(4.0, 1.0, 1.0, 2.0, 0.2, 0.2)');
INSERT INTO message_fts(message_fts) VALUES ('rebuild');

-- Reports (reports/): the periods need messages by time.
CREATE INDEX message_received ON message(received);
CREATE INDEX message_channel_received ON message(channel_id, received);
CREATE INDEX thread_created ON thread(created);

-- A report sent as a message (--send, or the weekly schedule).  One row per
-- (kind, channel, period, how): the schedule inserts before it sends, so a
-- second daemon or a restart finds the row and sends nothing.
CREATE TABLE report_sent (
	id           INTEGER PRIMARY KEY,
	kind         TEXT NOT NULL,
	channel_id   INTEGER REFERENCES channel(id) ON DELETE CASCADE,
	channel_key  INTEGER NOT NULL,          -- channel_id, 0: all channels
	period       TEXT NOT NULL,             -- "2025-W23", "2025-06", ...
	period_start INTEGER NOT NULL,
	period_end   INTEGER NOT NULL,
	scheduled    INTEGER NOT NULL,          -- 1: weekly schedule, 0: --send
	html         TEXT NOT NULL,             -- the text/html part
	created      INTEGER NOT NULL
);
CREATE UNIQUE INDEX report_sent_once ON report_sent(kind, channel_key, period)
	WHERE scheduled = 1;

-- Each recipient's copy of a report is a notice (004); this says which.
CREATE TABLE report_notice (
	notice_id INTEGER PRIMARY KEY REFERENCES notice(id) ON DELETE CASCADE,
	report_id INTEGER NOT NULL REFERENCES report_sent(id) ON DELETE CASCADE
);
