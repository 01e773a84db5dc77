/*
 * test_box.c: the SchutzBox: round trips around the chunk size and of a
 * large file in bounded memory, every kind of damage detected and blamed on
 * the blob, the master key's role in ids and decryption, dedup, no
 * plaintext at rest, references, gc and quota.
 */
#include "testutil.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "store/box.h"

#define CHUNK 65536
#define CCHUNK (CHUNK + 17)
#define HDR 112

struct boxfix {
	struct fixture *f;
	struct cg_box *box;
};

static struct boxfix *
boxfix_new(void)
{
	struct boxfix *b = cg_calloc(1, sizeof *b);
	char *err = NULL;
	int created;
	b->f = fixture_new();
	assert_int_equal(cg_box_init_key(b->f->dir, &created, &err), 0);
	assert_int_equal(created, 1);
	b->box = cg_box_open(b->f->dir, b->f->gw.store, &err);
	if (b->box == NULL)
		fail_msg("cg_box_open: %s", err);
	return b;
}

static void
boxfix_reopen(struct boxfix *b)
{
	char *err = NULL;
	cg_box_close(b->box);
	b->box = cg_box_open(b->f->dir, b->f->gw.store, &err);
	if (b->box == NULL)
		fail_msg("cg_box_open: %s", err);
}

static void
boxfix_free(struct boxfix *b)
{
	cg_box_close(b->box);
	fixture_free(b->f);
	free(b);
}

/* Deterministic filler that does not compress or repeat. */
static unsigned char *
pattern(size_t n, uint64_t seed)
{
	unsigned char *p = cg_malloc(n);
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)x;
	}
	return p;
}

static char *
object_path(struct boxfix *b, const char *id)
{
	return cg_asprintf("%s/box/%.2s/%s", b->f->dir, id, id);
}

static off_t
file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void
put_mem(struct boxfix *b, const void *p, size_t n, unsigned flags, char id[65])
{
	char *err = NULL;
	int r = cg_box_put_mem(b->box, p, n, "mem.bin", "application/x-test",
	                       flags, id, &err);
	if (r != 0)
		fail_msg("put_mem: %s", err);
}

/* Through a pipe: the spool path. */
static void
put_pipe(struct boxfix *b, const void *p, size_t n, char id[65])
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		const unsigned char *q = p;
		while (n > 0) {
			ssize_t k = write(fds[1], q, n);
			if (k <= 0)
				_exit(1);
			q += k;
			n -= (size_t)k;
		}
		_exit(0);
	}
	close(fds[1]);
	char *err = NULL;
	int r = cg_box_put_fd(b->box, fds[0], NULL, NULL, 0, id, &err);
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (r != 0)
		fail_msg("put_pipe: %s", err);
}

/* Through a regular file: the two-pass path. */
static void
put_file(struct boxfix *b, const void *p, size_t n, char id[65])
{
	char path[] = "/tmp/cgbox-in.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	char *err = NULL;
	int r = cg_box_put_fd(b->box, fd, "file.bin", NULL, 0, id, &err);
	close(fd);
	if (r != 0)
		fail_msg("put_file: %s", err);
}

/* Decrypt into memory (a memfd); returns the result; the bytes in out and n. */
static int
get_mem(struct boxfix *b, const char *id, unsigned char **out, size_t *n,
        char **err)
{
	int fd = memfd_create("cgbox-out", MFD_CLOEXEC);
	assert_true(fd >= 0);
	int r = cg_box_get_fd(b->box, id, fd, err);
	off_t len = lseek(fd, 0, SEEK_END);
	*out = cg_malloc((size_t)len + 1);
	*n = (size_t)len;
	assert_int_equal(pread(fd, *out, (size_t)len, 0), len);
	close(fd);
	return r;
}

static void
assert_round_trip(struct boxfix *b, const char *id, const unsigned char *p,
                  size_t n)
{
	unsigned char *out;
	size_t len;
	char *err = NULL;
	int r = get_mem(b, id, &out, &len, &err);
	if (r != 0)
		fail_msg("get %s: %s", id, err);
	assert_int_equal(len, n);
	assert_memory_equal(out, p, n);
	free(out);
}

static int count_files_visit(const char *path, const struct stat *st, int type,
                             struct FTW *ftw);
static size_t nfiles;

static int
count_files_visit(const char *path, const struct stat *st, int type,
                  struct FTW *ftw)
{
	if (type == FTW_F)
		nfiles++;
	return 0;
}

static size_t
count_box_files(struct boxfix *b)
{
	char *root = cg_asprintf("%s/box", b->f->dir);
	nfiles = 0;
	assert_int_equal(nftw(root, count_files_visit, 8, FTW_PHYS), 0);
	free(root);
	return nfiles;
}

/* ---- round trips ---- */

static void
test_round_trips_around_the_chunk_size(void **state)
{
	static const size_t sizes[] = {
	    0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 100};
	struct boxfix *b = boxfix_new();
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		size_t n = sizes[i];
		unsigned char *p = pattern(n, i);
		char id1[65], id2[65], id3[65];
		put_mem(b, p, n, 0, id1);
		assert_true(cg_box_id_valid(id1));
		assert_round_trip(b, id1, p, n);
		/* The format: header, then each chunk 17 bytes longer. */
		size_t chunks = n == 0 ? 1 : (n + CHUNK - 1) / CHUNK;
		char *path = object_path(b, id1);
		assert_int_equal(file_size(path), HDR + n + 17 * chunks);
		free(path);
		/* The file and the pipe path give the same id. */
		put_file(b, p, n, id2);
		put_pipe(b, p, n, id3);
		assert_string_equal(id1, id2);
		assert_string_equal(id1, id3);
		char *err = NULL;
		assert_int_equal(cg_box_verify(b->box, id1, &err), 0);
		struct cg_box_info info;
		assert_int_equal(cg_box_stat(b->box, id1, &info, &err), 0);
		assert_int_equal(info.size, n);
		assert_string_equal(info.name, "mem.bin");
		assert_string_equal(info.type, "application/x-test");
		cg_box_info_free(&info);
		free(p);
	}
	boxfix_free(b);
}

/* Peak resident memory since the last reset, in KiB. */
static long
peak_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	if (kb < 0) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		kb = ru.ru_maxrss;
	}
	return kb;
}

static long
current_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = 0;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

/* Reset the peak (VmHWM) to the current RSS; fine if not permitted. */
static void
reset_peak_rss(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

static void
test_large_file_round_trips_in_bounded_memory(void **state)
{
	const size_t total = 64u << 20, piece = 1u << 20;
	struct boxfix *b = boxfix_new();
	char in[] = "/tmp/cgbox-big.XXXXXX", out[] = "/tmp/cgbox-out.XXXXXX";
	int fd = mkstemp(in), ofd = mkstemp(out);
	assert_true(fd >= 0 && ofd >= 0);
	unlink(in);
	unlink(out);
	unsigned char *p = pattern(piece, 42), *q = cg_malloc(piece);
	for (size_t off = 0; off < total; off += piece) {
		p[0] = (unsigned char)(off >> 20); /* no two pieces alike */
		assert_int_equal(write(fd, p, piece), (ssize_t)piece);
	}
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);

	reset_peak_rss();
	long base = current_rss_kb();
	char id[65], *err = NULL;
	if (cg_box_put_fd(b->box, fd, "big", NULL, 0, id, &err) != 0)
		fail_msg("put: %s", err);
	if (cg_box_get_fd(b->box, id, ofd, &err) != 0)
		fail_msg("get: %s", err);
	long growth = peak_rss_kb() - base;
	if (growth > 8 * 1024)
		fail_msg("put + get of 64 MiB grew RSS by %ld KiB", growth);

	assert_int_equal(lseek(ofd, 0, SEEK_END), (off_t)total);
	for (size_t off = 0; off < total; off += piece) {
		assert_int_equal(pread(fd, p, piece, (off_t)off),
		                 (ssize_t)piece);
		assert_int_equal(pread(ofd, q, piece, (off_t)off),
		                 (ssize_t)piece);
		assert_memory_equal(p, q, piece);
	}
	close(fd);
	close(ofd);
	free(p);
	free(q);
	boxfix_free(b);
}

/* ---- damage ---- */

static void
flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char c;
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void
chop(const char *path, off_t bytes)
{
	assert_int_equal(truncate(path, file_size(path) - bytes), 0);
}

static void
append(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

/* Both get and verify fail, as corruption, naming the blob and `why`. */
static void
assert_damaged(struct boxfix *b, const char *id, const char *why)
{
	char *err = NULL;
	int r = cg_box_verify(b->box, id, &err);
	if (r != CG_BOX_ECORRUPT)
		fail_msg("verify %s: %d, expected corruption (%s)", id, r,
		         err ? err : "no error");
	assert_non_null(strstr(err, id));
	if (strstr(err, why) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err, why);
	free(err);
	unsigned char *out;
	size_t n;
	err = NULL;
	assert_int_equal(get_mem(b, id, &out, &n, &err), CG_BOX_ECORRUPT);
	assert_non_null(strstr(err, id));
	free(err);
	free(out);
}

/* A fresh box holding one blob of n bytes; *path is its object. */
static struct boxfix *
one_blob(size_t n, char id[65], char **path)
{
	struct boxfix *b = boxfix_new();
	unsigned char *p = pattern(n, n);
	put_mem(b, p, n, 0, id);
	free(p);
	*path = object_path(b, id);
	return b;
}

static void
test_flipped_header_byte_is_detected(void **state)
{
	static const struct {
		off_t off;
		const char *why;
	} cases[] = {
	    {0, "bad magic"},
	    {8, "unsupported format version"},
	    {12, "wrong master key or corrupt header"}, /* reserved */
	    {20, "wrong master key or corrupt header"}, /* wrap nonce */
	    {50, "wrong master key or corrupt header"}, /* stream header */
	    {80, "wrong master key or corrupt header"}, /* wrapped key */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char id[65], *path;
		struct boxfix *b = one_blob(1000, id, &path);
		flip_byte(path, cases[i].off);
		assert_damaged(b, id, cases[i].why);
		free(path);
		boxfix_free(b);
	}
}

static void
test_flipped_byte_in_middle_chunk_is_detected(void **state)
{
	char id[65], *path;
	struct boxfix *b = one_blob(3 * CHUNK + 100, id, &path);
	flip_byte(path, HDR + CCHUNK + 1000); /* inside chunk 2 */
	assert_damaged(b, id, "chunk 2 fails authentication");
	free(path);
	boxfix_free(b);
}

static void
test_flipped_byte_in_final_chunk_is_detected(void **state)
{
	char id[65], *path;
	struct boxfix *b = one_blob(2 * CHUNK + 100, id, &path);
	flip_byte(path, file_size(path) - 30);
	assert_damaged(b, id, "chunk 3 fails authentication");
	free(path);
	/* Also in the tag of an empty blob's only chunk. */
	boxfix_free(b);
	b = one_blob(0, id, &path);
	flip_byte(path, HDR);
	assert_damaged(b, id, "chunk 1 fails authentication");
	free(path);
	boxfix_free(b);
}

static void
test_truncation_is_detected(void **state)
{
	char id[65], *path;
	/* Dropping the final (short) chunk leaves no FINAL tag. */
	struct boxfix *b = one_blob(2 * CHUNK + 100, id, &path);
	chop(path, 100 + 17);
	assert_damaged(b, id, "truncated (no final chunk)");
	free(path);
	boxfix_free(b);
	/* The same when every chunk is full. */
	b = one_blob(2 * CHUNK, id, &path);
	chop(path, CCHUNK);
	assert_damaged(b, id, "truncated (no final chunk)");
	free(path);
	boxfix_free(b);
	/* Dropping the last byte breaks the final chunk. */
	b = one_blob(CHUNK + 1, id, &path);
	chop(path, 1);
	assert_damaged(b, id, "chunk 2 fails authentication");
	free(path);
	boxfix_free(b);
	/* An empty blob cut inside its only chunk; a header cut short. */
	b = one_blob(0, id, &path);
	chop(path, 1);
	assert_damaged(b, id, "truncated");
	chop(path, file_size(path) - 50);
	assert_damaged(b, id, "truncated header");
	free(path);
	boxfix_free(b);
}

static void
test_appended_bytes_are_detected(void **state)
{
	static const size_t sizes[] = {0, 100, CHUNK, 2 * CHUNK + 5};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		char id[65], *path;
		struct boxfix *b = one_blob(sizes[i], id, &path);
		append(path, "extra");
		assert_damaged(b, id, "5 bytes after the final chunk");
		free(path);
		boxfix_free(b);
	}
}

static void
test_missing_object_is_reported_as_damage(void **state)
{
	char id[65], *path;
	struct boxfix *b = one_blob(10, id, &path);
	assert_int_equal(unlink(path), 0);
	assert_damaged(b, id, "missing");
	free(path);
	boxfix_free(b);
}

static void
test_unknown_id_is_no_such_blob(void **state)
{
	struct boxfix *b = boxfix_new();
	char *err = NULL;
	const char *id =
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	assert_int_equal(cg_box_verify(b->box, id, &err), CG_BOX_ENOENT);
	assert_non_null(strstr(err, id));
	assert_non_null(strstr(err, "no such blob"));
	free(err);
	err = NULL;
	assert_int_equal(cg_box_get_fd(b->box, "../../etc/passwd", 1, &err),
	                 CG_BOX_ENOENT);
	assert_non_null(strstr(err, "no such blob"));
	free(err);
	boxfix_free(b);
}

static void
write_key(const char *dir, const unsigned char *key)
{
	char *path = cg_asprintf("%s/keys/master.key", dir);
	int fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, key, 32), 32);
	close(fd);
	free(path);
}

static void
test_wrong_master_key_is_detected(void **state)
{
	char id[65], *path;
	struct boxfix *b = one_blob(5000, id, &path);
	unsigned char *other = pattern(32, 7);
	write_key(b->f->dir, other);
	boxfix_reopen(b);
	assert_damaged(b, id, "wrong master key or corrupt header");
	free(other);
	free(path);
	boxfix_free(b);
}

/* ---- ids, dedup, secrecy ---- */

static void
test_same_content_is_stored_once(void **state)
{
	struct boxfix *b = boxfix_new();
	unsigned char *p = pattern(3 * CHUNK, 1), *q = pattern(100, 2);
	char id1[65], id2[65], id3[65], id4[65];
	put_mem(b, p, 3 * CHUNK, CG_BOX_REF_MANUAL, id1);
	char *path = object_path(b, id1);
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);
	put_file(b, p, 3 * CHUNK, id2);
	put_mem(b, p, 3 * CHUNK, CG_BOX_REF_MANUAL, id3);
	assert_int_equal(stat(path, &after), 0);
	assert_string_equal(id1, id2);
	assert_string_equal(id1, id3);
	assert_int_equal(before.st_ino, after.st_ino); /* not rewritten */
	assert_int_equal(count_box_files(b), 1);
	struct cg_box_info info;
	char *err = NULL;
	assert_int_equal(cg_box_stat(b->box, id1, &info, &err), 0);
	assert_int_equal(info.refs, 2);
	cg_box_info_free(&info);
	put_mem(b, q, 100, 0, id4);
	assert_string_not_equal(id1, id4);
	assert_int_equal(count_box_files(b), 2);
	free(path);
	free(p);
	free(q);
	boxfix_free(b);
}

static void
test_different_master_key_gives_different_id(void **state)
{
	struct boxfix *a = boxfix_new(), *b = boxfix_new();
	const char *text = "the same attachment";
	char ida[65], idb[65], ida2[65];
	put_mem(a, text, strlen(text), 0, ida);
	put_mem(b, text, strlen(text), 0, idb);
	assert_string_not_equal(ida, idb);
	put_mem(a, text, strlen(text), 0, ida2);
	assert_string_equal(ida, ida2);
	boxfix_free(a);
	boxfix_free(b);
}

static const char MARKER[] = "PLAINTEXT-MARKER-c0ffee-5e1f-9a7b";
static int marker_found;
static char marker_where[512];

static int
grep_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type != FTW_F)
		return 0;
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	size_t n = (size_t)st->st_size;
	unsigned char *p = cg_malloc(n + 1);
	assert_int_equal(read(fd, p, n), (ssize_t)n);
	close(fd);
	if (memmem(p, n, MARKER, sizeof MARKER - 1)) {
		marker_found = 1;
		snprintf(marker_where, sizeof marker_where, "%s", path);
	}
	free(p);
	return 0;
}

static void
test_no_plaintext_appears_under_the_data_dir(void **state)
{
	struct boxfix *b = boxfix_new();
	/* The marker inside the content, at several places, in three
	 * different blobs: memory, file and pipe (spooled) input. */
	const size_t n = 2 * CHUNK + 333;
	char ids[3][65];
	for (int k = 0; k < 3; k++) {
		unsigned char *p = pattern(n, 100 + (uint64_t)k);
		memcpy(p, MARKER, sizeof MARKER - 1);
		memcpy(p + CHUNK + 7, MARKER, sizeof MARKER - 1);
		memcpy(p + n - (sizeof MARKER - 1), MARKER, sizeof MARKER - 1);
		if (k == 0)
			put_mem(b, p, n, CG_BOX_REF_MANUAL, ids[k]);
		else if (k == 1)
			put_file(b, p, n, ids[k]);
		else
			put_pipe(b, p, n, ids[k]);
		assert_round_trip(b, ids[k], p, n);
		free(p);
	}
	/* The spool was unnamed and is gone. */
	char *tmp = cg_asprintf("%s/tmp", b->f->dir);
	nfiles = 0;
	assert_int_equal(nftw(tmp, count_files_visit, 8, FTW_PHYS), 0);
	assert_int_equal(nfiles, 0);
	free(tmp);
	/* With the store closed, everything it wrote is in its files. */
	cg_box_close(b->box);
	b->box = NULL;
	cg_store_close(b->f->gw.store);
	b->f->gw.store = NULL;
	marker_found = 0;
	assert_int_equal(nftw(b->f->dir, grep_visit, 8, FTW_PHYS), 0);
	if (marker_found)
		fail_msg("plaintext found in %s", marker_where);
	char *err = NULL;
	assert_int_equal(cg_store_open(b->f->dir, 0, &b->f->gw.store, &err), 0);
	boxfix_reopen(b);
	boxfix_free(b);
}

/* ---- references, gc, quota ---- */

/* A stored message from `contact` with one attachment (index 0). */
static int64_t
message_with_attachment(struct boxfix *b, int64_t contact, const char *mid)
{
	struct cg_store *s = b->f->gw.store;
	int64_t ch = tu_channel_id(s, "dev");
	int64_t th = cg_store_thread_create(s, ch, "files", cg_now());
	struct cg_stored_msg m = {
	    .channel_id = ch,
	    .thread_id = th,
	    .contact_id = contact,
	    .network = "email",
	    .message_id = (char *)mid,
	    .sender_addr = "alice@example.org",
	    .received = cg_now(),
	};
	assert_int_equal(cg_store_message_insert(s, &m, NULL, 0), 0);
	struct cg_att_row r = {
	    .message_id = m.id,
	    .idx = 0,
	    .name = (char *)"a.bin",
	    .type = (char *)"application/octet-stream",
	    .size = 1,
	    .state = CG_ATT_STORED,
	};
	assert_int_equal(cg_store_attachment_insert(s, &r, "x", 1), 0);
	return m.id;
}

static int
blob_exists(struct boxfix *b, const char *id)
{
	struct cg_box_info info;
	char *err = NULL;
	int r = cg_box_stat(b->box, id, &info, &err);
	cg_box_info_free(&info);
	free(err);
	char *path = object_path(b, id);
	int file = access(path, F_OK) == 0;
	free(path);
	assert_int_equal(r == 0, file); /* row and object go together */
	return file;
}

static void
test_gc_removes_unreferenced_blobs_past_grace_only(void **state)
{
	struct boxfix *b = boxfix_new();
	fixture_member(b->f, "alice@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_EACH);
	int64_t alice =
	    tu_contact_find(b->f->gw.store, CG_ID_EMAIL, "alice@example.org");
	char loose[65], manual[65], attached[65], *err = NULL;
	put_mem(b, "loose", 5, 0, loose);
	put_mem(b, "manual", 6, CG_BOX_REF_MANUAL, manual);
	put_mem(b, "attached", 8, 0, attached);
	int64_t msg = message_with_attachment(b, alice, "m1@example.org");
	assert_int_equal(
	    cg_box_attachment_link(b->f->gw.store, msg, 0, attached), 0);
	assert_int_equal(
	    cg_box_attachment_link(b->f->gw.store, msg, 1, attached),
	    CG_BOX_ENOENT);

	size_t removed;
	/* Within the grace period nothing goes. */
	assert_int_equal(cg_box_gc(b->box, 3600, &removed, &err), 0);
	assert_int_equal(removed, 0);
	assert_true(blob_exists(b, loose));

	assert_int_equal(cg_box_gc(b->box, 0, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_false(blob_exists(b, loose));
	assert_true(blob_exists(b, manual));
	assert_true(blob_exists(b, attached));
	unsigned char *out;
	size_t n;
	assert_int_equal(get_mem(b, loose, &out, &n, &err), CG_BOX_ENOENT);
	free(out);
	free(err);
	err = NULL;

	/* Dropping the last reference makes a blob collectable. */
	assert_int_equal(cg_box_unref(b->box, manual, &err), 0);
	assert_int_equal(cg_box_unref(b->box, manual, &err), CG_BOX_ENOENT);
	free(err);
	err = NULL;
	assert_int_equal(cg_box_gc(b->box, 0, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_false(blob_exists(b, manual));
	assert_true(blob_exists(b, attached));
	assert_round_trip(b, attached, (const unsigned char *)"attached", 8);

	/* Storing the same content again brings a collected blob back. */
	char again[65];
	put_mem(b, "loose", 5, 0, again);
	assert_string_equal(again, loose);
	assert_round_trip(b, loose, (const unsigned char *)"loose", 5);
	boxfix_free(b);
}

static void
test_gc_removes_objects_the_index_does_not_know(void **state)
{
	char id[65], *path;
	struct boxfix *b = one_blob(100, id, &path);
	/* An object left by a crash between writing and indexing. */
	const char *orphan =
	    "ab00000000000000000000000000000000000000000000000000000000000000";
	char *dir = cg_asprintf("%s/box/ab", b->f->dir);
	char *opath = cg_asprintf("%s/%s", dir, orphan);
	char *cmd =
	    cg_asprintf("mkdir -p '%s' && cp '%s' '%s'", dir, path, opath);
	assert_int_equal(system(cmd), 0);
	size_t removed;
	char *err = NULL;
	assert_int_equal(cg_box_gc(b->box, 3600, &removed, &err), 0);
	assert_int_equal(access(opath, F_OK), 0); /* young: kept */
	assert_int_equal(cg_box_gc(b->box, 0, &removed, &err), 0);
	assert_int_equal(removed, 2); /* the orphan and the loose blob */
	assert_int_not_equal(access(opath, F_OK), 0);
	free(cmd);
	free(opath);
	free(dir);
	free(path);
	boxfix_free(b);
}

static void
test_quota_counts_blobs_of_the_contacts_messages(void **state)
{
	struct boxfix *b = boxfix_new();
	struct cg_store *s = b->f->gw.store;
	fixture_member(b->f, "alice@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_EACH);
	int64_t alice = tu_contact_find(s, CG_ID_EMAIL, "alice@example.org");
	const size_t n = 600 * 1024;
	unsigned char *p = pattern(n, 9);
	char id[65];
	put_mem(b, p, n, 0, id);
	assert_int_equal(cg_box_quota_ok(s, alice, 600 * 1024, 1, NULL), 1);
	/* The same blob in two messages counts once. */
	for (int i = 0; i < 2; i++) {
		char *mid = cg_asprintf("q%d@example.org", i);
		int64_t msg = message_with_attachment(b, alice, mid);
		assert_int_equal(cg_box_attachment_link(s, msg, 0, id), 0);
		free(mid);
	}
	assert_int_equal(cg_box_quota_ok(s, alice, 400 * 1024, 1, NULL), 1);
	assert_int_equal(cg_box_quota_ok(s, alice, 500 * 1024, 1, NULL), 0);
	assert_int_equal(cg_box_quota_ok(s, alice, 500 * 1024, 0, NULL), 1);
	assert_int_equal(cg_box_quota_ok(s, alice + 1000, 1000 * 1024, 1, NULL),
	                 1);
	struct cg_box_info info;
	char *err = NULL;
	assert_int_equal(cg_box_stat(b->box, id, &info, &err), 0);
	assert_int_equal(info.refs, 2);
	cg_box_info_free(&info);
	free(p);
	boxfix_free(b);
}

static void
test_put_inside_a_transaction_is_indexed_with_it(void **state)
{
	struct boxfix *b = boxfix_new();
	struct cg_store *s = b->f->gw.store;
	fixture_member(b->f, "alice@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_EACH);
	int64_t alice = tu_contact_find(s, CG_ID_EMAIL, "alice@example.org");
	char kept[65], dropped[65], *err = NULL;
	/* Committed: message, attachment and blob row together. */
	assert_int_equal(cg_store_begin(s), 0);
	put_mem(b, "kept", 4, 0, kept);
	int64_t msg = message_with_attachment(b, alice, "t1@example.org");
	assert_int_equal(cg_box_attachment_link(s, msg, 0, kept), 0);
	assert_int_equal(cg_store_commit(s), 0);
	/* Rolled back: the row goes; the object is left for gc. */
	assert_int_equal(cg_store_begin(s), 0);
	put_mem(b, "dropped", 7, 0, dropped);
	cg_store_rollback(s);
	struct cg_box_info info;
	assert_int_equal(cg_box_stat(b->box, dropped, &info, &err),
	                 CG_BOX_ENOENT);
	free(err);
	err = NULL;
	assert_int_equal(cg_box_stat(b->box, kept, &info, &err), 0);
	assert_int_equal(info.refs, 1);
	cg_box_info_free(&info);
	size_t removed;
	assert_int_equal(cg_box_gc(b->box, 0, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(count_box_files(b), 1);
	assert_round_trip(b, kept, (const unsigned char *)"kept", 4);
	boxfix_free(b);
}

static int
count_cb(const struct cg_box_info *info, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

static void
test_each_lists_every_blob(void **state)
{
	struct boxfix *b = boxfix_new();
	char id[65], *err = NULL;
	size_t n = 0;
	for (int i = 0; i < 5; i++) {
		unsigned char *p = pattern(10, (uint64_t)i);
		put_mem(b, p, 10, 0, id);
		free(p);
	}
	assert_int_equal(cg_box_each(b->box, count_cb, &n, &err), 0);
	assert_int_equal(n, 5);
	boxfix_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    /* First, while the process is small. */
	    cmocka_unit_test(test_large_file_round_trips_in_bounded_memory),
	    cmocka_unit_test(test_round_trips_around_the_chunk_size),
	    cmocka_unit_test(test_flipped_header_byte_is_detected),
	    cmocka_unit_test(test_flipped_byte_in_middle_chunk_is_detected),
	    cmocka_unit_test(test_flipped_byte_in_final_chunk_is_detected),
	    cmocka_unit_test(test_truncation_is_detected),
	    cmocka_unit_test(test_appended_bytes_are_detected),
	    cmocka_unit_test(test_missing_object_is_reported_as_damage),
	    cmocka_unit_test(test_unknown_id_is_no_such_blob),
	    cmocka_unit_test(test_wrong_master_key_is_detected),
	    cmocka_unit_test(test_same_content_is_stored_once),
	    cmocka_unit_test(test_different_master_key_gives_different_id),
	    cmocka_unit_test(test_no_plaintext_appears_under_the_data_dir),
	    cmocka_unit_test(
	        test_gc_removes_unreferenced_blobs_past_grace_only),
	    cmocka_unit_test(test_gc_removes_objects_the_index_does_not_know),
	    cmocka_unit_test(test_quota_counts_blobs_of_the_contacts_messages),
	    cmocka_unit_test(test_put_inside_a_transaction_is_indexed_with_it),
	    cmocka_unit_test(test_each_lists_every_blob),
	};
	return cmocka_run_group_tests_name("box", tests, NULL, NULL);
}
