-- 008_imap_tries: how often the email bridge has started on a mailbox UID
-- without finishing it (bridges/email/imap_in.c).  A try is counted before
-- the mail is read and the row deleted when the watermark passes the UID,
-- so a mail that crashes or fails the daemon every time is counted across
-- restarts and set aside after a few tries instead of blocking the mailbox.
CREATE TABLE imap_try (
	mailbox     TEXT NOT NULL,
	uidvalidity INTEGER NOT NULL,
	uid         INTEGER NOT NULL,
	tries       INTEGER NOT NULL,
	PRIMARY KEY (mailbox, uidvalidity, uid)
) WITHOUT ROWID;
