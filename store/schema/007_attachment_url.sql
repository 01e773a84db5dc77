-- 007_attachment_url: attachments across the networks (SchutzBox issue).
--
-- An attachment lives in the SchutzBox (blob_id) once stored; `data` only
-- holds bytes written before the box was in use.  `url` is where the file
-- is on the web: the XEP-0363 GET URL after the gateway uploaded it for the
-- room, or the URL a room member shared (the gateway fetches it).  `state`:
--   stored   the bytes are in the box (or in data)
--   fetch    a shared URL still to be fetched (after a restart: again)
--   link     not kept: mail carries the URL instead (too big, fetch
--            failed, over the sender's quota); `note` says why
--   refused  not kept and nowhere else to point to (over the quota,
--            mail attachment); `note` says why
ALTER TABLE attachment ADD COLUMN url TEXT;
ALTER TABLE attachment ADD COLUMN state TEXT NOT NULL DEFAULT 'stored'
	CHECK (state IN ('stored', 'fetch', 'link', 'refused'));
ALTER TABLE attachment ADD COLUMN note TEXT;
CREATE INDEX attachment_fetch ON attachment(state) WHERE state = 'fetch';
