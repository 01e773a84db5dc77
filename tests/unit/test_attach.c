/*
 * test_attach.c: which files of a stored message the email bridge attaches
 * (bytes from the SchutzBox or an old row, within smtp.max_attachment_size)
 * and the "[File: ...]" line each other file gets (bridges/email/attach.c);
 * and the lines a digest gives every file (bridges/email/digest.c).
 */
#include "testutil.h"

#include "bridges/email/attach.h"
#include "bridges/email/digest.h"

#define URL "https://upload.example.org/slot/photo.jpg"

struct att_fix {
	struct fixture *f;
	int64_t msg;
	struct email_files files;
	struct cg_buf lines;
	char *err;
};

static struct att_fix *
att_setup(void)
{
	struct att_fix *a = cg_calloc(1, sizeof *a);
	a->f = fixture_new();
	fixture_box(a->f);
	fixture_member(a->f, "alice@example.org", CG_LAYER_CORE, "dev",
	               CG_DELIVERY_EACH);
	struct cg_msg m = mail("files@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Files");
	struct cg_ingest_info info;
	assert_int_equal(cg_gateway_ingest(&a->f->gw, &m, NULL, NULL, &info),
	                 CG_INGEST_STORED);
	cg_msg_free(&m);
	a->msg = info.message_id;
	return a;
}

static void
att_free(struct att_fix *a)
{
	email_files_free(&a->files);
	cg_buf_free(&a->lines);
	free(a->err);
	fixture_free(a->f);
	free(a);
}

/* A row of the test message; bytes into the box when data is given. */
static void
add_row(struct att_fix *a, int idx, const char *name, enum cg_att_state st,
        const void *data, size_t size, const char *url, const char *note)
{
	char id[CG_BOX_ID_LEN + 1];
	char *err = NULL;
	struct cg_att_row r = {
	    .message_id = a->msg,
	    .idx = idx,
	    .name = (char *)name,
	    .type = (char *)"application/pdf",
	    .size = (int64_t)size,
	    .url = (char *)url,
	    .state = st,
	    .note = (char *)note,
	};
	if (data) {
		if (cg_box_put_mem(a->f->gw.box, data, size, name, NULL, 0, id,
		                   &err) != 0)
			fail_msg("cg_box_put_mem: %s", err);
		r.blob_id = id;
	}
	assert_int_equal(
	    cg_store_attachment_insert(a->f->gw.store, &r, NULL, 0), 0);
}

static int
load(struct att_fix *a, int64_t max, const char *text)
{
	return email_files_add(&a->f->gw, a->msg, max, text, &a->files,
	                       &a->lines, &a->err);
}

static unsigned char *
pattern(size_t n)
{
	unsigned char *p = cg_malloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + i / 251);
	return p;
}

static void
test_a_file_in_the_box_within_the_limit_is_attached(void **s)
{
	struct att_fix *a = att_setup();
	unsigned char *bytes = pattern(70000);
	add_row(a, 0, "minutes.pdf", CG_ATT_STORED, bytes, 70000, NULL, NULL);
	assert_int_equal(load(a, 10 * 1024 * 1024, "hello"), 0);
	assert_int_equal(a->files.natt, 1);
	assert_string_equal(a->files.att[0].name, "minutes.pdf");
	assert_string_equal(a->files.att[0].type, "application/pdf");
	assert_int_equal(a->files.att[0].size, 70000);
	assert_memory_equal(a->files.att[0].data, bytes, 70000);
	assert_int_equal(a->lines.len, 0);
	free(bytes);
	att_free(a);
}

static void
test_a_file_over_the_limit_becomes_a_line_or_a_link(void **s)
{
	struct att_fix *a = att_setup();
	unsigned char *bytes = pattern(70000);
	add_row(a, 0, "minutes.pdf", CG_ATT_STORED, bytes, 70000, NULL, NULL);
	/* uploaded to the room as well: members get the link */
	add_row(a, 1, "agenda.pdf", CG_ATT_STORED, bytes, 70000, URL, NULL);
	assert_int_equal(load(a, 10 * 1024, "hello"), 0);
	assert_int_equal(a->files.natt, 0);
	assert_string_equal(cg_buf_str(&a->lines),
	                    "[File: minutes.pdf (68.4 kB) not attached: over "
	                    "this list's limit of 10 kB]\n"
	                    "[File: agenda.pdf (68.4 kB): " URL "]\n");
	free(bytes);
	att_free(a);
}

static void
test_refused_linked_and_unfetched_files_get_their_lines(void **s)
{
	struct att_fix *a = att_setup();
	add_row(a, 0, "video.mp4", CG_ATT_REFUSED, NULL, 2 * 1024 * 1024, NULL,
	        "over the sender's SchutzBox quota: 0 bytes of box.quota_mb "
	        "= 1 MB used");
	add_row(a, 1, "big.iso", CG_ATT_LINK, NULL, 1288490, URL,
	        "too big to fetch");
	add_row(a, 2, NULL, CG_ATT_FETCH, NULL, 0, URL, NULL);
	assert_int_equal(load(a, 10 * 1024 * 1024, "look at these"), 0);
	assert_int_equal(a->files.natt, 0);
	assert_string_equal(cg_buf_str(&a->lines),
	                    "[File: video.mp4 (2 MB) not passed on: over the "
	                    "sender's SchutzBox quota: 0 bytes of "
	                    "box.quota_mb = 1 MB used]\n"
	                    "[File: big.iso (1.2 MB): " URL "]\n"
	                    "[File: photo.jpg: " URL "]\n");
	att_free(a);
}

static void
test_a_line_that_is_the_link_is_not_repeated(void **s)
{
	struct att_fix *a = att_setup();
	add_row(a, 0, "photo.jpg", CG_ATT_FETCH, NULL, 0, URL, NULL);
	assert_int_equal(load(a, 10 * 1024 * 1024, "  " URL "\n"), 0);
	assert_int_equal(a->lines.len, 0);
	att_free(a);
}

static void
test_an_old_row_with_its_own_bytes_is_attached(void **s)
{
	struct att_fix *a = att_setup();
	struct cg_att_row r = {
	    .message_id = a->msg,
	    .idx = 0,
	    .name = (char *)"old.txt",
	    .type = (char *)"text/plain",
	    .size = 10,
	    .state = CG_ATT_STORED,
	};
	assert_int_equal(
	    cg_store_attachment_insert(a->f->gw.store, &r, "old bytes\n", 10),
	    0);
	assert_int_equal(load(a, 10 * 1024 * 1024, "hello"), 0);
	assert_int_equal(a->files.natt, 1);
	assert_int_equal(a->files.att[0].size, 10);
	assert_memory_equal(a->files.att[0].data, "old bytes\n", 10);
	att_free(a);
}

static void
test_a_blob_the_box_cannot_read_is_an_error_naming_message_and_blob(void **s)
{
	struct att_fix *a = att_setup();
	unsigned char *bytes = pattern(5000);
	add_row(a, 0, "minutes.pdf", CG_ATT_STORED, bytes, 5000, NULL, NULL);
	struct cg_att_row *rows;
	size_t n;
	assert_int_equal(
	    cg_store_attachments_of(a->f->gw.store, a->msg, &rows, &n), 0);
	char *cmd = cg_asprintf("rm -f '%s/box/%.2s/%s'", a->f->dir,
	                        rows[0].blob_id, rows[0].blob_id);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(load(a, 10 * 1024 * 1024, "hello"), -1);
	assert_int_equal(a->files.natt, 0);
	char *want = cg_asprintf("message %lld: file minutes.pdf: SchutzBox "
	                         "blob %s: missing from the box (indexed, but "
	                         "its object is gone)",
	                         (long long)a->msg, rows[0].blob_id);
	assert_string_equal(a->err, want);
	free(want);
	cg_att_rows_free(rows, n);
	free(bytes);
	att_free(a);
}

static void
test_a_digest_names_every_file_and_where_it_is(void **state)
{
	struct att_fix *a = att_setup();
	add_row(a, 0, "minutes.pdf", CG_ATT_STORED, "%PDF-1.4 x", 10, NULL,
	        NULL);
	add_row(a, 1, "photo.jpg", CG_ATT_LINK, NULL, 2048, URL, NULL);
	add_row(a, 2, "big.iso", CG_ATT_REFUSED, NULL, 0, NULL,
	        "over the sender's SchutzBox quota");
	char *body =
	    email_digest_body(&a->f->gw, "dev", &a->msg, 1, 0, cg_now());
	assert_non_null(body);
	if (!strstr(body, "[File: minutes.pdf (10 bytes): in the list's own "
	                  "mail, not in digests]\n") ||
	    !strstr(body, "[File: photo.jpg (2 kB): " URL "]\n") ||
	    !strstr(body, "[File: big.iso not passed on: over the sender's "
	                  "SchutzBox quota]\n"))
		fail_msg("digest body lacks its files:\n%s", body);
	free(body);
	att_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_digest_names_every_file_and_where_it_is),
	    cmocka_unit_test(
	        test_a_file_in_the_box_within_the_limit_is_attached),
	    cmocka_unit_test(
	        test_a_file_over_the_limit_becomes_a_line_or_a_link),
	    cmocka_unit_test(
	        test_refused_linked_and_unfetched_files_get_their_lines),
	    cmocka_unit_test(test_a_line_that_is_the_link_is_not_repeated),
	    cmocka_unit_test(test_an_old_row_with_its_own_bytes_is_attached),
	    cmocka_unit_test(
	        test_a_blob_the_box_cannot_read_is_an_error_naming_message_and_blob),
	};
	return cmocka_run_group_tests_name("attach", tests, NULL, NULL);
}
