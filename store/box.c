/*
 * box.c: the SchutzBox: the master key, the keys derived from it, blob ids,
 * the encrypted object format, and put/get/verify/gc on top of a backend
 * (box_backend.h, only through its interface) and the index (box_index.c).
 *
 * Object format, version 1 (everything in it is ciphertext or public):
 *     0   8  magic "CGBOX1\0\0"
 *     8   1  format version (1)
 *     9   7  reserved, zero
 *    16  24  nonce of the key wrap
 *    40  24  secretstream header
 *    64  48  the blob key wrapped with XChaCha20-Poly1305-IETF under the
 *            wrap key; additional data: bytes 0..16, bytes 40..64 and the
 *            blob id, so the header is authenticated and bound to the id
 *   112 ...  crypto_secretstream_xchacha20poly1305 chunks of 64 KiB of
 *            plaintext (+17 bytes each), the blob id as additional data of
 *            every chunk; the last one (short, or empty for an empty blob)
 *            is tagged FINAL and nothing follows it.
 * Keys: wrap key = crypto_kdf(master, 1, "cgbox___"), MAC key (tokens,
 * cg_box_mac) = crypto_kdf(master, 3, "cgbox___"), id key =
 * crypto_kdf(master, 2, "cgbox___"); blob id = hex(BLAKE2b-256 of the
 * plaintext keyed with the id key).
 *
 * Must never: write plaintext to disk (a pipe is spooled encrypted under a
 * throw-away key), let a reader take a damaged, truncated or extended blob
 * for a whole one, overwrite an existing master key, or keep key material
 * after cg_box_close().
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "store/box.h"
#include "store/box_backend.h"
#include "store/box_index.h"
#include "store/box_pipe.h"
#include "store/store.h"

#define MASTER_KEY_BYTES crypto_kdf_KEYBYTES

#define CHUNK 65536
#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define CCHUNK (CHUNK + ABYTES)
#define BLOB_KEY_BYTES crypto_secretstream_xchacha20poly1305_KEYBYTES
#define KDF_CONTEXT "cgbox___"
#define SUBKEY_WRAP 1
#define SUBKEY_ID 2
#define SUBKEY_MAC 3 /* cg_box_mac: tokens such as VERP */
#define FORMAT_VERSION 1
#define OFF_NONCE 16
#define OFF_SS (OFF_NONCE + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
#define OFF_WRAP (OFF_SS + crypto_secretstream_xchacha20poly1305_HEADERBYTES)
#define HDR_LEN                                                                \
	(OFF_WRAP + BLOB_KEY_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define AD_LEN                                                                 \
	(OFF_NONCE + crypto_secretstream_xchacha20poly1305_HEADERBYTES +       \
	 CG_BOX_ID_LEN)
#define HASH_BYTES 32
#define GC_BATCH 64
/* Chunks travel between the threads in batches of this many bytes of
 * plaintext: fewer hand-overs, still constant memory. */
#define BATCH (4 * CHUNK)

_Static_assert(HDR_LEN == 112, "SchutzBox header layout changed");
_Static_assert(sizeof KDF_CONTEXT - 1 == crypto_kdf_CONTEXTBYTES,
               "KDF context must be 8 bytes");
_Static_assert(HASH_BYTES * 2 == CG_BOX_ID_LEN, "id is hex of the hash");

static const unsigned char MAGIC[8] = {'C', 'G', 'B', 'O', 'X', '1', 0, 0};

struct box_keys {
	unsigned char wrap[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	unsigned char id[crypto_generichash_KEYBYTES];
	unsigned char mac[CG_BOX_MAC_KEY_BYTES];
};
_Static_assert(CG_BOX_MAC_KEY_BYTES == crypto_generichash_KEYBYTES,
               "MAC key is a BLAKE2b key");

struct cg_box {
	char *data_dir;
	struct cg_store *store;
	struct cg_box_backend *be;
	struct box_keys *keys; /* sodium_malloc: locked, wiped on free */
};

/* ---- the master key ---- */

static char *
key_path(const char *data_dir)
{
	return cg_asprintf("%s/keys/master.key", data_dir);
}

int
cg_box_check_key(const char *data_dir, char **err)
{
	char *path = key_path(data_dir);
	struct stat st;
	int r = -1;
	if (stat(path, &st) != 0)
		*err = cg_asprintf("%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode) || st.st_size != MASTER_KEY_BYTES)
		*err = cg_asprintf("%s: not a SchutzBox master key (%d bytes "
		                   "expected)",
		                   path, MASTER_KEY_BYTES);
	else if (st.st_mode & 077)
		*err = cg_asprintf("%s: master key is accessible by group or "
		                   "others (mode %03o); chmod 600 it",
		                   path, (unsigned)(st.st_mode & 0777));
	else
		r = 0;
	free(path);
	return r;
}

int
cg_box_init_key(const char *data_dir, int *created, char **err)
{
	*created = 0;
	if (sodium_init() < 0) {
		*err = cg_strdup("libsodium: initialisation failed");
		return -1;
	}
	char *dir = cg_asprintf("%s/keys", data_dir);
	char *path = key_path(data_dir);
	char *tmp = cg_asprintf("%s.tmp", path);
	unsigned char key[MASTER_KEY_BYTES];
	int r = -1, fd = -1;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		*err = cg_asprintf("%s: %s", dir, strerror(errno));
		goto out;
	}
	if (access(path, F_OK) == 0) {
		r = cg_box_check_key(data_dir, err);
		goto out;
	}
	crypto_kdf_keygen(key);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, key, sizeof key) != (ssize_t)sizeof key ||
	    fsync(fd) != 0) {
		*err = cg_asprintf("%s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	/* link() fails if another init won the race: never overwrite. */
	if (link(tmp, path) != 0) {
		*err = cg_asprintf("%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	unlink(tmp);
	*created = 1;
	r = 0;
out:
	sodium_memzero(key, sizeof key);
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(dir);
	free(path);
	free(tmp);
	return r;
}

/* ---- small helpers ---- */

/* Read up to n bytes; fewer only at end of file.  -1 with errno. */
static int
read_full(int fd, unsigned char *buf, size_t n, size_t *got)
{
	*got = 0;
	while (*got < n) {
		ssize_t k = read(fd, buf + *got, n - *got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		*got += (size_t)k;
	}
	return 0;
}

static int
write_full(int fd, const unsigned char *buf, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

int
cg_box_id_valid(const char *id)
{
	if (id == NULL)
		return 0;
	size_t i;
	for (i = 0; id[i]; i++)
		if (i >= CG_BOX_ID_LEN || !((id[i] >= '0' && id[i] <= '9') ||
		                            (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return i == CG_BOX_ID_LEN;
}

void
cg_box_info_free(struct cg_box_info *info)
{
	if (info) {
		free(info->type);
		free(info->name);
		info->type = info->name = NULL;
	}
}

static int
index_error(struct cg_box *box, char **err)
{
	*err = cg_strdup(cg_store_errmsg(box->store));
	return CG_BOX_EIO;
}

/* The number of chunks of a blob of `size` bytes: an empty blob has one
 * empty chunk. */
static int64_t
chunk_count(int64_t size)
{
	return size == 0 ? 1 : (size + CHUNK - 1) / CHUNK;
}

static int64_t
object_size(int64_t size)
{
	return HDR_LEN + size + (int64_t)ABYTES * chunk_count(size);
}

static void
hash_init(struct cg_box *box, crypto_generichash_state *h)
{
	crypto_generichash_init(h, box->keys->id, sizeof box->keys->id,
	                        HASH_BYTES);
}

static void
hash_final_hex(crypto_generichash_state *h, char hex[CG_BOX_ID_LEN + 1])
{
	unsigned char out[HASH_BYTES];
	crypto_generichash_final(h, out, sizeof out);
	sodium_bin2hex(hex, CG_BOX_ID_LEN + 1, out, sizeof out);
}

/* The additional data that binds the header to the blob id. */
static void
header_ad(const unsigned char *hdr, const char *id, unsigned char *ad)
{
	memcpy(ad, hdr, OFF_NONCE);
	memcpy(ad + OFF_NONCE, hdr + OFF_SS,
	       crypto_secretstream_xchacha20poly1305_HEADERBYTES);
	memcpy(ad + OFF_NONCE +
	           crypto_secretstream_xchacha20poly1305_HEADERBYTES,
	       id, CG_BOX_ID_LEN);
}

/* ---- open, close ---- */

static int
load_master_key(const char *data_dir, unsigned char *key, char **err)
{
	if (cg_box_check_key(data_dir, err) != 0)
		return -1;
	char *path = key_path(data_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	int r = -1;
	if (fd < 0 || read_full(fd, key, MASTER_KEY_BYTES, &got) != 0)
		*err = cg_asprintf("%s: %s", path, strerror(errno));
	else if (got != MASTER_KEY_BYTES)
		*err = cg_asprintf("%s: short master key", path);
	else
		r = 0;
	if (fd >= 0)
		close(fd);
	free(path);
	return r;
}

struct cg_box *
cg_box_open(const char *data_dir, struct cg_store *store, char **err)
{
	if (sodium_init() < 0) {
		*err = cg_strdup("libsodium: initialisation failed");
		return NULL;
	}
	unsigned char master[MASTER_KEY_BYTES];
	if (load_master_key(data_dir, master, err) != 0)
		return NULL;
	struct cg_box *box = cg_calloc(1, sizeof *box);
	box->data_dir = cg_strdup(data_dir);
	box->store = store;
	box->keys = sodium_malloc(sizeof *box->keys);
	if (box->keys == NULL) {
		*err = cg_strdup("libsodium: cannot allocate key memory");
		goto fail;
	}
	crypto_kdf_derive_from_key(box->keys->wrap, sizeof box->keys->wrap,
	                           SUBKEY_WRAP, KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(box->keys->id, sizeof box->keys->id,
	                           SUBKEY_ID, KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(box->keys->mac, sizeof box->keys->mac,
	                           SUBKEY_MAC, KDF_CONTEXT, master);
	sodium_memzero(master, sizeof master);
	char *root = cg_asprintf("%s/box", data_dir);
	box->be = cg_box_file_backend(root, err);
	free(root);
	if (box->be == NULL)
		goto fail;
	return box;
fail:
	sodium_memzero(master, sizeof master);
	cg_box_close(box);
	return NULL;
}

void
cg_box_close(struct cg_box *box)
{
	if (box == NULL)
		return;
	if (box->be) {
		box->be->close(box->be->ctx);
		free(box->be);
	}
	sodium_free(box->keys); /* wipes */
	free(box->data_dir);
	free(box);
}

/* ---- input: a file, memory, or a spooled pipe ---- */

enum src_kind { SRC_FD, SRC_MEM, SRC_SPOOL };

struct src {
	enum src_kind kind;
	int fd;             /* SRC_FD: the input; SRC_SPOOL: the spool file */
	off_t start;        /* SRC_FD: where the input began */
	struct stat before; /* SRC_FD: the input when we began */
	const unsigned char *mem; /* SRC_MEM */
	size_t len, off;
	/* SRC_SPOOL: its throw-away key, and one decrypted chunk */
	unsigned char key[BLOB_KEY_BYTES];
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char *cbuf, *pbuf;
	size_t ppos, plen;
};

static void
src_free(struct src *s)
{
	if (s->kind == SRC_SPOOL && s->fd >= 0)
		close(s->fd);
	free(s->cbuf);
	free(s->pbuf);
	sodium_memzero(s->key, sizeof s->key);
	sodium_memzero(&s->st, sizeof s->st);
}

static int
src_rewind(struct src *s, char **err)
{
	switch (s->kind) {
	case SRC_FD:
		if (lseek(s->fd, s->start, SEEK_SET) == (off_t)-1) {
			*err = cg_asprintf("input: %s", strerror(errno));
			return CG_BOX_EINPUT;
		}
		return 0;
	case SRC_MEM:
		s->off = 0;
		return 0;
	case SRC_SPOOL: {
		unsigned char
		    hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
		size_t got;
		s->ppos = s->plen = 0;
		if (lseek(s->fd, 0, SEEK_SET) != 0 ||
		    read_full(s->fd, hdr, sizeof hdr, &got) != 0 ||
		    got != sizeof hdr ||
		    crypto_secretstream_xchacha20poly1305_init_pull(
		        &s->st, hdr, s->key) != 0) {
			*err = cg_strdup("spool: cannot read it back");
			return CG_BOX_EIO;
		}
		return 0;
	}
	}
	return CG_BOX_EIO;
}

/* Next spooled chunk into s->pbuf; s->plen = 0 at the end. */
static int
spool_next(struct src *s, char **err)
{
	size_t got;
	s->ppos = s->plen = 0;
	if (read_full(s->fd, s->cbuf, CCHUNK, &got) != 0) {
		*err = cg_asprintf("spool: %s", strerror(errno));
		return CG_BOX_EIO;
	}
	if (got == 0)
		return 0;
	unsigned long long plen;
	if (crypto_secretstream_xchacha20poly1305_pull(
	        &s->st, s->pbuf, &plen, NULL, s->cbuf, got, NULL, 0) != 0) {
		*err = cg_strdup("spool: corrupt spool file");
		return CG_BOX_EIO;
	}
	s->plen = (size_t)plen;
	return 0;
}

/*
 * A file read twice must not change in between, or the content stored
 * would not be the content hashed to its id.  Any write changes mtime and
 * ctime (with nanoseconds), which is far cheaper to check than hashing the
 * file again.  Memory and the spool cannot change under us.
 */
static int
src_unchanged(struct src *s, char **err)
{
	struct stat now;
	if (s->kind != SRC_FD)
		return 0;
	if (fstat(s->fd, &now) != 0) {
		*err = cg_asprintf("input: %s", strerror(errno));
		return CG_BOX_EINPUT;
	}
	const struct stat *b = &s->before;
	if (now.st_dev != b->st_dev || now.st_ino != b->st_ino ||
	    now.st_size != b->st_size ||
	    now.st_mtim.tv_sec != b->st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
	    now.st_ctim.tv_sec != b->st_ctim.tv_sec ||
	    now.st_ctim.tv_nsec != b->st_ctim.tv_nsec) {
		*err = cg_strdup("input: changed while being stored");
		return CG_BOX_EINPUT;
	}
	return 0;
}

/* Up to n bytes of input; fewer only at its end. */
static int
src_read(struct src *s, unsigned char *buf, size_t n, size_t *got, char **err)
{
	*got = 0;
	switch (s->kind) {
	case SRC_FD:
		if (read_full(s->fd, buf, n, got) != 0) {
			*err = cg_asprintf("input: %s", strerror(errno));
			return CG_BOX_EINPUT;
		}
		return 0;
	case SRC_MEM: {
		size_t k = s->len - s->off < n ? s->len - s->off : n;
		if (k)
			memcpy(buf, s->mem + s->off, k);
		s->off += k;
		*got = k;
		return 0;
	}
	case SRC_SPOOL:
		while (*got < n) {
			if (s->ppos == s->plen) {
				int r = spool_next(s, err);
				if (r != 0)
					return r;
				if (s->plen == 0)
					break;
			}
			size_t k = s->plen - s->ppos;
			if (k > n - *got)
				k = n - *got;
			memcpy(buf + *got, s->pbuf + s->ppos, k);
			s->ppos += k;
			*got += k;
		}
		return 0;
	}
	return CG_BOX_EIO;
}

/* An unnamed file in DATA_DIR/tmp for spooling (gone when closed). */
static int
spool_open(struct cg_box *box, char **err)
{
	char *dir = cg_asprintf("%s/tmp", box->data_dir);
	int fd = -1;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		goto fail;
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		char *path = cg_asprintf("%s/spool.XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
		free(path);
	}
	if (fd < 0)
		goto fail;
	free(dir);
	return fd;
fail:
	*err = cg_asprintf("%s: %s", dir, strerror(errno));
	free(dir);
	return -1;
}

static int
hash_fn(void *arg, const unsigned char *p, size_t n)
{
	crypto_generichash_update(arg, p, n);
	return 0;
}

/*
 * Pass one: hash the input to its id and size, the hashing in a worker
 * thread while the next chunk is read.  Input that cannot be read twice
 * (SRC_SPOOL, reading in_fd) is encrypted to the spool on the way.
 */
static int
hash_pass(struct cg_box *box, struct src *s, int in_fd, unsigned char *cbuf,
          char id[CG_BOX_ID_LEN + 1], int64_t *size, char **err)
{
	crypto_generichash_state h;
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	int r = 0;
	*size = 0;
	hash_init(box, &h);
	if (s->kind == SRC_MEM) {
		crypto_generichash_update(&h, s->mem, s->len);
		*size = (int64_t)s->len;
		hash_final_hex(&h, id);
		return 0;
	}
	if (s->kind == SRC_SPOOL) {
		crypto_secretstream_xchacha20poly1305_keygen(s->key);
		crypto_secretstream_xchacha20poly1305_init_push(&st, hdr,
		                                                s->key);
		if (write_full(s->fd, hdr, sizeof hdr) != 0)
			goto spool_fail;
	}
	struct cg_box_pipe *pipe = cg_box_pipe_start(BATCH, hash_fn, &h);
	for (;;) {
		unsigned char *pbuf = cg_box_pipe_buf(pipe);
		size_t got;
		if (s->kind != SRC_SPOOL)
			r = src_read(s, pbuf, BATCH, &got, err);
		else if (read_full(in_fd, pbuf, BATCH, &got) != 0) {
			*err = cg_asprintf("input: %s", strerror(errno));
			r = CG_BOX_EINPUT;
		}
		if (r != 0 || got == 0)
			break;
		*size += (int64_t)got;
		/* The spool in CHUNK pieces: all full but the last. */
		for (size_t off = 0; s->kind == SRC_SPOOL && off < got;
		     off += CHUNK) {
			size_t n = got - off < CHUNK ? got - off : CHUNK;
			crypto_secretstream_xchacha20poly1305_push(
			    &st, cbuf, NULL, pbuf + off, n, NULL, 0, 0);
			if (write_full(s->fd, cbuf, n + ABYTES) != 0) {
				*err =
				    cg_asprintf("%s/tmp: spool: %s",
				                box->data_dir, strerror(errno));
				r = CG_BOX_EIO;
				break;
			}
		}
		if (r != 0)
			break;
		cg_box_pipe_push(pipe, got);
		if (got < BATCH)
			break;
	}
	cg_box_pipe_finish(pipe);
	hash_final_hex(&h, id);
	sodium_memzero(&st, sizeof st);
	return r;
spool_fail:
	*err = cg_asprintf("%s/tmp: spool: %s", box->data_dir, strerror(errno));
	sodium_memzero(&st, sizeof st);
	return CG_BOX_EIO;
}

/* ---- writing an object ---- */

/* Header for a new object: fresh blob key, wrapped; st ready to push. */
static void
header_new(struct cg_box *box, const char *id, unsigned char *hdr,
           crypto_secretstream_xchacha20poly1305_state *st)
{
	unsigned char bkey[BLOB_KEY_BYTES], ad[AD_LEN];
	memset(hdr, 0, HDR_LEN);
	memcpy(hdr, MAGIC, sizeof MAGIC);
	hdr[sizeof MAGIC] = FORMAT_VERSION;
	randombytes_buf(hdr + OFF_NONCE,
	                crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_secretstream_xchacha20poly1305_keygen(bkey);
	crypto_secretstream_xchacha20poly1305_init_push(st, hdr + OFF_SS, bkey);
	header_ad(hdr, id, ad);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    hdr + OFF_WRAP, NULL, bkey, sizeof bkey, ad, sizeof ad, NULL,
	    hdr + OFF_NONCE, box->keys->wrap);
	sodium_memzero(bkey, sizeof bkey);
}

struct write_job {
	struct cg_box_backend *be;
	struct cg_box_tmp *tmp;
	char *err; /* why a write failed */
};

static int
write_fn(void *arg, const unsigned char *p, size_t n)
{
	struct write_job *w = arg;
	return w->be->write(w->be->ctx, w->tmp, p, n, &w->err) == 0 ? 0 : -1;
}

/*
 * Pass two: encrypt `size` bytes of input to out_fd, the writing in a
 * worker thread while the next chunk is read and encrypted.  The input
 * must be what pass one hashed: exactly `size` bytes, and a file
 * unchanged.
 */
static int
encrypt_pass(struct cg_box *box, struct src *s, const char *id, int64_t size,
             struct cg_box_tmp *tmp, unsigned char *pbuf, char **err)
{
	crypto_secretstream_xchacha20poly1305_state st;
	struct write_job w = {box->be, tmp, NULL};
	int64_t left = size;
	size_t got;
	int r = 0;

	struct cg_box_pipe *pipe =
	    cg_box_pipe_start(BATCH / CHUNK * CCHUNK, write_fn, &w);
	unsigned char *hdr = cg_box_pipe_buf(pipe);
	header_new(box, id, hdr, &st);
	cg_box_pipe_push(pipe, HDR_LEN);
	do {
		/* Up to BATCH bytes of input, encrypted chunk by chunk. */
		size_t want = left < BATCH ? (size_t)left : BATCH, used = 0;
		unsigned char *cbuf = cg_box_pipe_buf(pipe);
		if (cbuf == NULL) /* the writer failed */
			break;
		if ((r = src_read(s, pbuf, want, &got, err)) != 0)
			break;
		if (got != want) {
			*err = cg_strdup("input: shrank while being stored");
			r = CG_BOX_EINPUT;
			break;
		}
		size_t off = 0;
		do {
			size_t n = want - off < CHUNK ? want - off : CHUNK;
			left -= (int64_t)n;
			unsigned char tag =
			    left == 0
			        ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
			        : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
			crypto_secretstream_xchacha20poly1305_push(
			    &st, cbuf + used, NULL, pbuf + off, n,
			    (const unsigned char *)id, CG_BOX_ID_LEN, tag);
			used += n + ABYTES;
			off += n;
		} while (off < want);
		cg_box_pipe_push(pipe, used);
	} while (left > 0);
	sodium_memzero(&st, sizeof st);
	if (cg_box_pipe_finish(pipe) != 0) {
		if (r != 0)
			free(*err); /* the write failure comes first */
		*err = w.err;
		return CG_BOX_EIO;
	}
	if (r != 0)
		return r;
	if ((r = src_read(s, pbuf, 1, &got, err)) != 0)
		return r;
	if (got != 0) {
		*err = cg_strdup("input: grew while being stored");
		return CG_BOX_EINPUT;
	}
	return src_unchanged(s, err);
}

static int
write_object(struct cg_box *box, struct src *s, const char *id, int64_t size,
             unsigned char *pbuf, char **err)
{
	struct cg_box_tmp tmp;
	int r = src_rewind(s, err);
	if (r == 0)
		r = box->be->create(box->be->ctx, id, &tmp, err);
	if (r != 0)
		return r;
	r = encrypt_pass(box, s, id, size, &tmp, pbuf, err);
	if (r != 0) {
		box->be->discard(box->be->ctx, &tmp);
		return r;
	}
	return box->be->put(box->be->ctx, &tmp, id, err);
}

/* The object id exists with the size a blob of `size` bytes has: 1 yes,
 * 0 no, or an error. */
static int
object_ok(struct cg_box *box, const char *id, int64_t size, char **err)
{
	struct cg_box_obj obj;
	int r = box->be->stat(box->be->ctx, id, &obj, err);
	if (r == CG_BOX_ENOENT)
		return 0;
	return r == 0 ? obj.size == object_size(size) : r;
}

/*
 * Make sure object id holds the input, and index it.  The object is
 * written (unless it exists: dedup) before the transaction, so that the
 * store's write lock is not held for long; then, inside the transaction,
 * it is looked at again: gc removes objects only while holding the write
 * lock, so one seen (or written) now stays.  Inside a caller's transaction
 * the index row becomes durable with the caller's commit.
 */
static int
store_blob(struct cg_box *box, struct src *s, const char *id, int64_t size,
           const char *name, const char *type, unsigned flags,
           unsigned char *pbuf, char **err)
{
	int own, r = object_ok(box, id, size, err);
	if (r == 0)
		r = write_object(box, s, id, size, pbuf, err);
	else if (r == 1)
		r = 0;
	if (r != 0)
		return r;
	if (cg_box_index_begin(box->store, &own) != 0)
		return index_error(box, err);
	if (cg_box_index_add(box->store, id, size, type, name,
	                     (flags & CG_BOX_REF_MANUAL) != 0, cg_now()) != 0)
		r = index_error(box, err);
	else if ((r = object_ok(box, id, size, err)) == 0)
		r = write_object(box, s, id, size, pbuf, err); /* lost to gc */
	else if (r == 1)
		r = 0;
	if (cg_box_index_end(box->store, own, r == 0) != 0 && r == 0)
		r = index_error(box, err);
	return r;
}

static int
put_src(struct cg_box *box, struct src *s, int in_fd, const char *name,
        const char *type, unsigned flags, char id_out[65], char **err)
{
	unsigned char *pbuf = cg_malloc(BATCH), *cbuf = cg_malloc(CCHUNK);
	char id[CG_BOX_ID_LEN + 1];
	int64_t size;
	int r = hash_pass(box, s, in_fd, cbuf, id, &size, err);
	if (r == 0)
		r = src_unchanged(s, err);
	if (r == 0)
		r = store_blob(box, s, id, size, name, type, flags, pbuf, err);
	if (r == 0)
		memcpy(id_out, id, sizeof id);
	sodium_memzero(pbuf, BATCH);
	free(pbuf);
	free(cbuf);
	return r;
}

int
cg_box_put_fd(struct cg_box *box, int fd, const char *name, const char *type,
              unsigned flags, char id_out[65], char **err)
{
	struct src s = {.kind = SRC_FD, .fd = fd};
	struct stat st;
	if (fstat(fd, &st) != 0) {
		*err = cg_asprintf("input: %s", strerror(errno));
		return CG_BOX_EINPUT;
	}
	if (S_ISREG(st.st_mode) &&
	    (s.start = lseek(fd, 0, SEEK_CUR)) != (off_t)-1) {
		s.before = st;
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	} else {
		s.kind = SRC_SPOOL;
		if ((s.fd = spool_open(box, err)) < 0)
			return CG_BOX_EIO;
		s.cbuf = cg_malloc(CCHUNK);
		s.pbuf = cg_malloc(CHUNK);
	}
	int r = put_src(box, &s, fd, name, type, flags, id_out, err);
	src_free(&s);
	return r;
}

int
cg_box_put_mem(struct cg_box *box, const void *data, size_t len,
               const char *name, const char *type, unsigned flags,
               char id_out[65], char **err)
{
	struct src s = {.kind = SRC_MEM, .fd = -1, .mem = data, .len = len};
	int r = put_src(box, &s, -1, name, type, flags, id_out, err);
	src_free(&s);
	return r;
}

/* ---- reading an object ---- */

static int
corrupt(char **err, const char *id, const char *what)
{
	*err = cg_asprintf("%s: %s", id, what);
	return CG_BOX_ECORRUPT;
}

/* Read and check the header; st ready to pull. */
static int
header_open(struct cg_box *box, const char *id, int fd,
            crypto_secretstream_xchacha20poly1305_state *st, char **err)
{
	unsigned char hdr[HDR_LEN], bkey[BLOB_KEY_BYTES], ad[AD_LEN];
	size_t got;
	if (read_full(fd, hdr, HDR_LEN, &got) != 0) {
		*err = cg_asprintf("%s: read: %s", id, strerror(errno));
		return CG_BOX_EIO;
	}
	if (got < HDR_LEN)
		return corrupt(err, id, "truncated header");
	if (memcmp(hdr, MAGIC, sizeof MAGIC) != 0)
		return corrupt(err, id, "not a SchutzBox object (bad magic)");
	if (hdr[sizeof MAGIC] != FORMAT_VERSION) {
		*err = cg_asprintf("%s: unsupported format version %u", id,
		                   hdr[sizeof MAGIC]);
		return CG_BOX_ECORRUPT;
	}
	header_ad(hdr, id, ad);
	int r = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
	        bkey, NULL, NULL, hdr + OFF_WRAP, HDR_LEN - OFF_WRAP, ad,
	        sizeof ad, hdr + OFF_NONCE, box->keys->wrap) != 0)
		r = corrupt(err, id, "wrong master key or corrupt header");
	else if (crypto_secretstream_xchacha20poly1305_init_pull(
	             st, hdr + OFF_SS, bkey) != 0)
		r = corrupt(err, id, "corrupt header");
	sodium_memzero(bkey, sizeof bkey);
	return r;
}

static int
trailing(char **err, const char *id, int64_t n)
{
	*err = cg_asprintf("%s: %lld byte%s after the final chunk", id,
	                   (long long)n, n == 1 ? "" : "s");
	return CG_BOX_ECORRUPT;
}

/* Bytes left in fd (after the final chunk). */
static int
count_rest(int fd, unsigned char *buf, int64_t *rest)
{
	size_t got;
	*rest = 0;
	do {
		if (read_full(fd, buf, CCHUNK, &got) != 0)
			return -1;
		*rest += (int64_t)got;
	} while (got > 0);
	return 0;
}

/*
 * A chunk failed authentication.  If it is where the index says the last
 * chunk is, and that much of it is a good final chunk, the object was
 * extended: say so.  Otherwise it is corrupt (or cut inside a chunk).
 */
static int
explain_bad_chunk(const char *id, int64_t chunk, int64_t expect_size,
                  const crypto_secretstream_xchacha20poly1305_state *st, int fd,
                  unsigned char *cbuf, size_t got, unsigned char *pbuf,
                  char **err)
{
	if (expect_size >= 0 && chunk == chunk_count(expect_size)) {
		size_t last =
		    (size_t)(expect_size - (chunk - 1) * CHUNK) + ABYTES;
		crypto_secretstream_xchacha20poly1305_state copy = *st;
		unsigned char tag = 0;
		int64_t rest = 0;
		int ok = last < got &&
		         crypto_secretstream_xchacha20poly1305_pull(
		             &copy, pbuf, NULL, &tag, cbuf, last,
		             (const unsigned char *)id, CG_BOX_ID_LEN) == 0 &&
		         tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
		sodium_memzero(&copy, sizeof copy);
		if (ok && count_rest(fd, cbuf, &rest) == 0) {
			return trailing(err, id, (int64_t)(got - last) + rest);
		}
	}
	*err = cg_asprintf("%s: chunk %lld fails authentication (corrupt or "
	                   "truncated)",
	                   id, (long long)chunk);
	return CG_BOX_ECORRUPT;
}

/*
 * Decrypt object id from fd to out_fd (-1: nowhere), checking everything:
 * header, every chunk, the final tag, nothing after it, the content hash
 * (computed in a worker thread while the next chunk is decrypted).
 * expect_size (-1: unknown) is the index's size.
 */
static int
decrypt_stream(struct cg_box *box, const char *id, int fd, int out_fd,
               int64_t expect_size, unsigned char *cbuf, char **err)
{
	crypto_secretstream_xchacha20poly1305_state st;
	crypto_generichash_state h;
	char check[CG_BOX_ID_LEN + 1];
	int64_t total = 0, chunk = 0, rest;
	int r = header_open(box, id, fd, &st, err), final = 0;
	if (r != 0)
		return r;
	hash_init(box, &h);
	struct cg_box_pipe *pipe = cg_box_pipe_start(BATCH, hash_fn, &h);
	while (r == 0 && !final) {
		/* Up to BATCH / CHUNK chunks into one buffer. */
		unsigned char *pbuf = cg_box_pipe_buf(pipe);
		size_t used = 0;
		while (r == 0 && !final && used + CHUNK <= BATCH) {
			size_t got;
			unsigned long long plen;
			unsigned char tag;
			chunk++;
			if (read_full(fd, cbuf, CCHUNK, &got) != 0) {
				*err = cg_asprintf("%s: read: %s", id,
				                   strerror(errno));
				r = CG_BOX_EIO;
			} else if (got == 0)
				r = corrupt(err, id,
				            "truncated (no final chunk)");
			else if (got < ABYTES)
				r = corrupt(err, id,
				            "truncated (last chunk cut short)");
			else if (crypto_secretstream_xchacha20poly1305_pull(
			             &st, pbuf + used, &plen, &tag, cbuf, got,
			             (const unsigned char *)id,
			             CG_BOX_ID_LEN) != 0)
				r = explain_bad_chunk(id, chunk, expect_size,
				                      &st, fd, cbuf, got,
				                      pbuf + used, err);
			else if (
			    tag ==
			    crypto_secretstream_xchacha20poly1305_TAG_FINAL)
				final = 1;
			else if (
			    tag !=
			        crypto_secretstream_xchacha20poly1305_TAG_MESSAGE ||
			    got < CCHUNK)
				r = corrupt(err, id,
				            "truncated (no final chunk)");
			if (r == 0)
				used += (size_t)plen;
		}
		if (r != 0)
			break;
		total += (int64_t)used;
		if (out_fd >= 0 && write_full(out_fd, pbuf, used) != 0) {
			*err =
			    cg_asprintf("%s: output: %s", id, strerror(errno));
			r = CG_BOX_EOUTPUT;
			break;
		}
		cg_box_pipe_push(pipe, used);
	}
	cg_box_pipe_finish(pipe);
	sodium_memzero(&st, sizeof st);
	if (r != 0)
		return r;
	if (count_rest(fd, cbuf, &rest) != 0) {
		*err = cg_asprintf("%s: read: %s", id, strerror(errno));
		r = CG_BOX_EIO;
	} else if (rest > 0) {
		r = trailing(err, id, rest);
	} else if (hash_final_hex(&h, check), strcmp(check, id) != 0) {
		r = corrupt(err, id, "content does not match its id");
	} else if (expect_size >= 0 && total != expect_size) {
		*err =
		    cg_asprintf("%s: %lld bytes, but the index says %lld", id,
		                (long long)total, (long long)expect_size);
		r = CG_BOX_ECORRUPT;
	}
	return r;
}

static int
read_blob(struct cg_box *box, const char *id, int out_fd, char **err)
{
	struct cg_box_info info;
	int fd;
	if (!cg_box_id_valid(id)) {
		*err = cg_asprintf("%s: no such blob (not a blob id)", id);
		return CG_BOX_ENOENT;
	}
	int r = cg_box_index_get(box->store, id, &info);
	if (r == CG_BOX_ENOENT) {
		*err = cg_asprintf("%s: no such blob", id);
		return r;
	}
	if (r != 0)
		return index_error(box, err);
	cg_box_info_free(&info);
	r = box->be->open_read(box->be->ctx, id, &fd, err);
	if (r == CG_BOX_ENOENT)
		return corrupt(err, id,
		               "missing from the box (indexed, but "
		               "its object is gone)");
	if (r != 0)
		return r;
	unsigned char *cbuf = cg_malloc(CCHUNK);
	r = decrypt_stream(box, id, fd, out_fd, info.size, cbuf, err);
	free(cbuf);
	close(fd);
	return r;
}

int
cg_box_get_fd(struct cg_box *box, const char *id, int out_fd, char **err)
{
	return read_blob(box, id, out_fd, err);
}

int
cg_box_get_memfd(struct cg_box *box, const char *id, int *fd_out, char **err)
{
	*fd_out = -1;
	int fd = memfd_create("coopgate-blob", MFD_CLOEXEC);
	if (fd < 0) {
		*err = cg_asprintf("%s: memfd_create: %s", id, strerror(errno));
		return CG_BOX_EIO;
	}
	int r = read_blob(box, id, fd, err);
	if (r != 0) {
		close(fd);
		return r;
	}
	*fd_out = fd;
	return 0;
}

int
cg_box_verify(struct cg_box *box, const char *id, char **err)
{
	return read_blob(box, id, -1, err);
}

/* ---- the index ---- */

int
cg_box_stat(struct cg_box *box, const char *id, struct cg_box_info *out,
            char **err)
{
	int r = cg_box_index_get(box->store, id, out);
	if (r == CG_BOX_ENOENT)
		*err = cg_asprintf("%s: no such blob", id);
	else if (r != 0)
		index_error(box, err);
	return r;
}

int
cg_box_each(struct cg_box *box, cg_box_cb *cb, void *arg, char **err)
{
	int r = cg_box_index_each(box->store, cb, arg);
	if (r == CG_BOX_EIO)
		index_error(box, err);
	return r;
}

int
cg_box_unref(struct cg_box *box, const char *id, char **err)
{
	int r = cg_box_index_unref(box->store, id);
	if (r == CG_BOX_ENOENT)
		*err = cg_asprintf("%s: no manual reference", id);
	else if (r != 0)
		index_error(box, err);
	return r;
}

/* ---- garbage collection ---- */

/*
 * Remove one unreferenced blob: its row and its object go in one
 * transaction, so a concurrent put (which looks at the object inside its
 * own transaction) sees both or neither.  The delete re-checks that the
 * blob is still unreferenced and old; 0 also when it no longer is.
 */
static int
gc_one(struct cg_box *box, const char *id, int64_t before, size_t *removed,
       char **err)
{
	if (cg_store_begin(box->store) != 0)
		return index_error(box, err);
	int r = cg_box_index_delete(box->store, id, before);
	if (r == 0) {
		r = box->be->remove(box->be->ctx, id, err);
		if (r == CG_BOX_ENOENT)
			r = 0; /* already gone: the row was all that was left */
	} else if (r == CG_BOX_ENOENT) {
		cg_store_rollback(box->store);
		return 0; /* referenced or stored again meanwhile */
	} else
		index_error(box, err);
	if (r == 0 && cg_store_commit(box->store) != 0)
		r = index_error(box, err);
	if (r != 0)
		cg_store_rollback(box->store);
	else
		(*removed)++;
	return r;
}

/* Unreferenced blobs, a batch of candidates at a time. */
static int
gc_unreferenced(struct cg_box *box, int64_t before, size_t *removed, char **err)
{
	char ids[GC_BATCH][CG_BOX_ID_LEN + 1];
	size_t n;
	do {
		if (cg_box_index_unreferenced(box->store, before, ids, GC_BATCH,
		                              &n) != 0)
			return index_error(box, err);
		for (size_t i = 0; i < n; i++) {
			int r = gc_one(box, ids[i], before, removed, err);
			if (r != 0)
				return r;
		}
	} while (n == GC_BATCH);
	return 0;
}

struct orphan_arg {
	struct cg_box *box;
	int64_t before;
	size_t removed;
	char **err;
};

/* An object the index does not know: left by a crash between writing it
 * and indexing it.  Removed once it is older than the grace period. */
static int
gc_orphan(const char *id, void *arg)
{
	struct orphan_arg *oa = arg;
	struct cg_box *box = oa->box;
	struct cg_box_info info;
	struct cg_box_obj obj;
	int r = cg_box_index_get(box->store, id, &info);
	if (r == 0)
		cg_box_info_free(&info);
	if (r != CG_BOX_ENOENT)
		return r == 0 ? 0 : index_error(box, oa->err);
	r = box->be->stat(box->be->ctx, id, &obj, oa->err);
	if (r != 0 || obj.mtime > oa->before)
		return r == CG_BOX_ENOENT ? 0 : r;
	if (cg_store_begin(box->store) != 0)
		return index_error(box, oa->err);
	r = cg_box_index_get(box->store, id, &info);
	if (r == 0)
		cg_box_info_free(&info);
	else if (r == CG_BOX_ENOENT) {
		r = box->be->remove(box->be->ctx, id, oa->err);
		if (r == 0)
			oa->removed++;
		else if (r == CG_BOX_ENOENT)
			r = 0;
	} else
		index_error(box, oa->err);
	if (r == 0 && cg_store_commit(box->store) != 0)
		r = index_error(box, oa->err);
	if (r != 0)
		cg_store_rollback(box->store);
	return r;
}

int
cg_box_gc(struct cg_box *box, int64_t grace_s, size_t *removed, char **err)
{
	int64_t now = cg_now();
	int64_t before = now - (grace_s > 0 ? grace_s : 0);
	size_t swept = 0;
	*removed = 0;
	int r = gc_unreferenced(box, before, removed, err);
	if (r != 0)
		return r;
	struct orphan_arg oa = {box, before, 0, err};
	r = box->be->list(box->be->ctx, gc_orphan, &oa, err);
	*removed += oa.removed;
	if (r != 0)
		return r;
	/* A temporary object may belong to a put in progress: give it an
	 * hour at least, whatever the grace period. */
	int64_t tmp_before = before < now - 3600 ? before : now - 3600;
	return box->be->sweep(box->be->ctx, tmp_before, &swept, err);
}

/* ---- MACs for tokens the gateway hands out ---- */

void
cg_box_mac_key(const struct cg_box *box,
               unsigned char key[CG_BOX_MAC_KEY_BYTES])
{
	if (box != NULL && box->keys != NULL) {
		memcpy(key, box->keys->mac, CG_BOX_MAC_KEY_BYTES);
		return;
	}
	if (sodium_init() < 0)
		abort(); /* no randomness: nothing safe to hand out */
	randombytes_buf(key, CG_BOX_MAC_KEY_BYTES);
}

void
cg_box_mac(const unsigned char key[CG_BOX_MAC_KEY_BYTES], const void *msg,
           size_t len, unsigned char out[CG_BOX_MAC_BYTES])
{
	crypto_generichash(out, CG_BOX_MAC_BYTES, msg, len, key,
	                   CG_BOX_MAC_KEY_BYTES);
}

int
cg_box_mac_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

void
cg_box_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}
