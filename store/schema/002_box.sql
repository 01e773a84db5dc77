-- 002_box: SchutzBox references (DESIGN.md "SchutzBox").
--
-- A blob is referenced by attachments (attachment.blob_id) and by manual
-- references (`coopgate box put`, one blob_ref row each).  blob.refcount is
-- the number of both, kept by the triggers below so that no writer has to
-- remember it; `box gc` removes blobs whose refcount is 0 and which were
-- not stored (or stored again) within the grace period (blob.touched).

ALTER TABLE blob ADD COLUMN touched INTEGER;
UPDATE blob SET touched = created;

CREATE TABLE blob_ref (
	id          INTEGER PRIMARY KEY,
	blob_id     TEXT NOT NULL REFERENCES blob(id),
	kind        TEXT NOT NULL DEFAULT 'manual' CHECK (kind IN ('manual')),
	name        TEXT,
	created     INTEGER NOT NULL
);
CREATE INDEX blob_ref_blob ON blob_ref(blob_id);
CREATE INDEX attachment_blob ON attachment(blob_id) WHERE blob_id IS NOT NULL;
CREATE INDEX blob_gc ON blob(refcount, touched);

UPDATE blob SET refcount =
	(SELECT count(*) FROM attachment WHERE attachment.blob_id = blob.id);

CREATE TRIGGER blob_ref_insert AFTER INSERT ON blob_ref
BEGIN
	UPDATE blob SET refcount = refcount + 1 WHERE id = NEW.blob_id;
END;
CREATE TRIGGER blob_ref_delete AFTER DELETE ON blob_ref
BEGIN
	UPDATE blob SET refcount = refcount - 1 WHERE id = OLD.blob_id;
END;
CREATE TRIGGER attachment_blob_insert AFTER INSERT ON attachment
WHEN NEW.blob_id IS NOT NULL
BEGIN
	UPDATE blob SET refcount = refcount + 1 WHERE id = NEW.blob_id;
END;
CREATE TRIGGER attachment_blob_delete AFTER DELETE ON attachment
WHEN OLD.blob_id IS NOT NULL
BEGIN
	UPDATE blob SET refcount = refcount - 1 WHERE id = OLD.blob_id;
END;
CREATE TRIGGER attachment_blob_update AFTER UPDATE OF blob_id ON attachment
WHEN OLD.blob_id IS NOT NEW.blob_id
BEGIN
	UPDATE blob SET refcount = refcount - 1 WHERE id = OLD.blob_id;
	UPDATE blob SET refcount = refcount + 1 WHERE id = NEW.blob_id;
END;
