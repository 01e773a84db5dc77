/*
 * box.h: the SchutzBox, coopgate's encrypted, content-addressed attachment
 * store.  All libsodium use lives in store/box*.c.
 *
 * A blob is stored once per content: its id is the keyed BLAKE2b-256 of the
 * plaintext (64 lower-case hex characters; the key is derived from the
 * master key, so ids reveal nothing to someone without it).  The content is
 * encrypted with a random per-blob key (XChaCha20-Poly1305 secretstream,
 * 64 KiB chunks, the id as additional data of every chunk), and that key is
 * wrapped with a key derived from the master key.  The bytes live behind a
 * backend (store/box_backend.h; the file backend keeps DATA_DIR/box/ab/ID);
 * the index lives in the store's `blob` table.
 *
 * References: an attachment row whose blob_id names the blob, or a manual
 * reference added by cg_box_put_*() with CG_BOX_REF_MANUAL (`box put`).
 * cg_box_gc() removes blobs without references that were not stored within
 * the grace period, so a caller that stores a blob and then references it
 * from a message has that long to do so.
 *
 * Ownership: cg_box_open() returns a box the caller releases with
 * cg_box_close(); the box borrows the store (the caller keeps it open
 * longer and closes it).  Every *err is set on failure only and freed by
 * the caller; error messages name the blob ("ID: reason").  Only the thread
 * that opened the store uses the box (put and get start a short-lived
 * worker thread of their own for hashing or writing; it never touches the
 * store).
 *
 * Transactions: cg_box_put_*() indexes in its own transaction, or inside
 * the caller's if one is open (the row then commits or rolls back with it;
 * an object left without a row is removed by gc after the grace period).
 * cg_box_gc() must run outside a transaction.
 */
#ifndef CG_BOX_H
#define CG_BOX_H

#include <stddef.h>
#include <stdint.h>

struct cg_store;
struct cg_box;

#define CG_BOX_ID_LEN 64 /* hex characters, without the NUL */

/* Results: 0 is success; failures are negative and say whose fault. */
enum cg_box_result {
	CG_BOX_OK = 0,
	CG_BOX_EIO = -1,      /* storage, database or key: try again later */
	CG_BOX_ENOENT = -2,   /* no such blob */
	CG_BOX_ECORRUPT = -3, /* the stored blob is damaged or the master
	                         key is not the one it was stored with */
	CG_BOX_EOUTPUT = -4,  /* writing to the caller's fd failed */
	CG_BOX_EINPUT = -5,   /* reading the caller's input failed, or it
	                         changed while being stored */
};

/* Flags for cg_box_put_*(). */
#define CG_BOX_REF_MANUAL 0x1 /* add a manual reference (`box put`) */

/*
 * Create DATA_DIR/keys (0700) and DATA_DIR/keys/master.key (0600, 32 random
 * bytes) unless the key exists; an existing key is never overwritten.
 * Returns 0, or -1 with *err (caller frees).  *created is set to 1 when a new
 * key was written.
 */
int cg_box_init_key(const char *data_dir, int *created, char **err);
/* Check that the master key exists, has the right size and mode. */
int cg_box_check_key(const char *data_dir, char **err);

/*
 * Open the SchutzBox of data_dir with the file backend: reads the master
 * key (which must exist: `coopgate init`) and creates DATA_DIR/box (0700)
 * if missing.  `store` must be open (migrated) and outlive the box.
 * NULL with *err on failure.
 */
struct cg_box *cg_box_open(const char *data_dir, struct cg_store *store,
                           char **err);
/* Wipes the derived keys.  NULL is fine. */
void cg_box_close(struct cg_box *box);

/*
 * Store everything readable from fd (from its current offset to EOF) and
 * write the blob id (64 hex + NUL) to id_out.  A regular file is read
 * twice (hash, then encrypt: constant memory); other input (a pipe) is
 * first spooled, encrypted with a throw-away key, to DATA_DIR/tmp.  Content
 * already stored is not written again; its index row is touched (restarting
 * its gc grace period).  name and type (may be NULL) are kept in the index:
 * the first name and type stored for a blob win; a manual reference keeps
 * its own name.  fd is not closed.  Returns 0 or a negative cg_box_result.
 */
int cg_box_put_fd(struct cg_box *box, int fd, const char *name,
                  const char *type, unsigned flags, char id_out[65],
                  char **err);
int cg_box_put_mem(struct cg_box *box, const void *data, size_t len,
                   const char *name, const char *type, unsigned flags,
                   char id_out[65], char **err);

/*
 * Decrypt blob `id` to out_fd, streaming in constant memory.  On failure
 * some plaintext may already have been written: a caller writing to a
 * file writes to a temporary one and renames it only on success.  The
 * content's hash is checked against the id at the end.  Returns 0,
 * CG_BOX_ENOENT, CG_BOX_ECORRUPT (the message says why: truncated, bytes
 * after the final chunk, a chunk failing authentication, wrong master key
 * or corrupt header, content not matching its id), CG_BOX_EOUTPUT or
 * CG_BOX_EIO.
 */
int cg_box_get_fd(struct cg_box *box, const char *id, int out_fd, char **err);
/* cg_box_get_fd() into an anonymous memory file (memfd: the plaintext
 * never reaches a disk): *fd (caller closes; read it with pread from 0)
 * or -1 on failure, with the same results. */
int cg_box_get_memfd(struct cg_box *box, const char *id, int *fd, char **err);
/* cg_box_get_fd() without output: the same checks, nothing written. */
int cg_box_verify(struct cg_box *box, const char *id, char **err);

/* What the index knows about a blob.  Strings are owned by the struct;
 * release with cg_box_info_free(). */
struct cg_box_info {
	char id[CG_BOX_ID_LEN + 1];
	int64_t size;
	char *type;   /* may be NULL */
	char *name;   /* may be NULL */
	int64_t refs; /* attachments + manual references */
	int64_t created;
	int64_t touched; /* last stored */
};
void cg_box_info_free(struct cg_box_info *info);
/* Look up one blob: 0 (out filled), CG_BOX_ENOENT or CG_BOX_EIO. */
int cg_box_stat(struct cg_box *box, const char *id, struct cg_box_info *out,
                char **err);
/* Every blob in the index, oldest first; cb returns a positive value to
 * stop (and that value is returned).  info is valid during the call only. */
typedef int cg_box_cb(const struct cg_box_info *info, void *arg);
int cg_box_each(struct cg_box *box, cg_box_cb *cb, void *arg, char **err);
/* Drop one manual reference: 0, CG_BOX_ENOENT (none left) or CG_BOX_EIO. */
int cg_box_unref(struct cg_box *box, const char *id, char **err);

/*
 * Remove blobs without references last stored at least grace_s seconds ago
 * (file and index row), files the index does not know that are older than
 * that (left by a crash between writing and indexing), and stale temporary
 * files.  *removed counts blobs and unknown files removed.
 */
int cg_box_gc(struct cg_box *box, int64_t grace_s, size_t *removed, char **err);
#define CG_BOX_GC_GRACE_DEFAULT (24 * 3600)

/*
 * MACs for tokens the gateway hands out and later checks (the VERP
 * envelope sender: bridges/email/verp.c).  The key is a subkey of the
 * master key (crypto_kdf id 3, BLAKE2b), so tokens stay valid across
 * restarts and say nothing without the key.  cg_box_mac_key() copies it
 * out (the caller wipes it with cg_box_wipe); with box NULL (unit tests)
 * it is random, valid for this process only.  cg_box_mac() is a pure
 * function, safe in any thread: keyed BLAKE2b-128 of msg.
 * cg_box_mac_equal() compares in constant time.
 */
#define CG_BOX_MAC_KEY_BYTES 32
#define CG_BOX_MAC_BYTES 16
void cg_box_mac_key(const struct cg_box *box,
                    unsigned char key[CG_BOX_MAC_KEY_BYTES]);
void cg_box_mac(const unsigned char key[CG_BOX_MAC_KEY_BYTES], const void *msg,
                size_t len, unsigned char out[CG_BOX_MAC_BYTES]);
int cg_box_mac_equal(const unsigned char *a, const unsigned char *b, size_t n);
void cg_box_wipe(void *p, size_t n);

/* 1 when id looks like a blob id (64 lower-case hex characters). */
int cg_box_id_valid(const char *id);

/*
 * Move attachment (message_id, idx) into the SchutzBox: set its blob_id to
 * `id` (a blob stored with cg_box_put_*) and drop the bytes the row held.
 * The attachment now references the blob.  0, CG_BOX_ENOENT (no such
 * attachment or blob) or CG_BOX_EIO (the store's error message says why).
 */
int cg_box_attachment_link(struct cg_store *store, int64_t message_id, int idx,
                           const char *id);

/*
 * Quota (box.quota_mb, 0 = unlimited): may contact `contact_id` store
 * `size` more bytes?  Counts the distinct blobs referenced by the
 * attachments of the contact's messages.  1 yes, 0 no, -1 on a store error.
 * *used (may be NULL) gets that usage when a quota is set (for the
 * refusal's message).
 */
int cg_box_quota_ok(struct cg_store *store, int64_t contact_id, int64_t size,
                    int64_t quota_mb, int64_t *used);

#endif
