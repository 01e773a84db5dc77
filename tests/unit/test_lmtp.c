/*
 * test_lmtp.c: the LMTP server (bridges/email/lmtp_in.c) driven over a
 * socketpair, as the loop would drive it: per-recipient replies after
 * DATA, dot-unstuffing, and what hostile or broken clients get (garbage,
 * overlong lines, bare LF, a message over the limit, 10,000 RCPTs, a
 * hang-up mid-DATA, a store that refuses): nothing half-written is
 * stored.  Two clients on one server share the bound on the messages
 * held at once: past it, 452 per recipient.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include "bridges/email/lmtp_in.h"
#include "testutil.h"

struct lmtp_test {
	struct fixture *f;
	struct email_lmtp *lm;
	int client, server;
	struct cg_buf got; /* everything the server answered */
	int other;         /* a second client (-1: none) */
	struct cg_buf other_got;
};

static struct lmtp_test *
lt_new(void)
{
	struct lmtp_test *t = cg_calloc(1, sizeof *t);
	t->f = fixture_new();
	t->f->cfg.imap.max_message_size = 100000;
	t->f->cfg.lmtp.timeout = 300;
	t->lm = email_lmtp_new(&t->f->gw);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	t->client = sv[0];
	t->server = sv[1];
	fcntl(t->client, F_SETFL, O_NONBLOCK);
	email_lmtp_adopt(t->lm, t->server, "test");
	t->other = -1;
	return t;
}

/* Connect the second client. */
static void
lt_other_connect(struct lmtp_test *t)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	t->other = sv[0];
	fcntl(t->other, F_SETFL, O_NONBLOCK);
	email_lmtp_adopt(t->lm, sv[1], "other");
}

static void
lt_free(struct lmtp_test *t)
{
	email_lmtp_free(t->lm);
	close(t->client);
	if (t->other >= 0)
		close(t->other);
	cg_buf_free(&t->got);
	cg_buf_free(&t->other_got);
	fixture_free(t->f);
	free(t);
}

/* Read every reply that is there into t->got (t->other_got). */
static void
lt_read(struct lmtp_test *t)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(t->client, buf, sizeof buf)) > 0)
		cg_buf_add(&t->got, buf, (size_t)n);
	while (t->other >= 0 && (n = read(t->other, buf, sizeof buf)) > 0)
		cg_buf_add(&t->other_got, buf, (size_t)n);
}

/* Let the server run as the loop would while it has fds ready. */
static void
lt_run(struct lmtp_test *t)
{
	for (int turn = 0; turn < 10000; turn++) {
		struct pollfd p[4];
		int n = email_lmtp_fds(t->lm, p, 4);
		if (n == 0 || poll(p, (nfds_t)n, 0) <= 0)
			break;
		for (int i = 0; i < n; i++)
			if (p[i].revents)
				email_lmtp_on_ready(t->lm, p[i].fd,
				                    p[i].revents);
		lt_read(t);
	}
	lt_read(t);
}

/* Send s from client fd (all of it, serving the server meanwhile), then
 * run it. */
static void
lt_send_from(struct lmtp_test *t, int fd, const char *s, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t k = send(fd, s + off, n - off, MSG_NOSIGNAL);
		if (k > 0)
			off += (size_t)k;
		else if (k < 0 && errno != EAGAIN)
			break;
		lt_run(t);
	}
	lt_run(t);
}

static void
lt_send(struct lmtp_test *t, const char *s, size_t n)
{
	lt_send_from(t, t->client, s, n);
}

static void
lt_says(struct lmtp_test *t, const char *s)
{
	lt_send(t, s, strlen(s));
}

static void
lt_other_says(struct lmtp_test *t, const char *s)
{
	lt_send_from(t, t->other, s, strlen(s));
}

static int
lt_other_count(struct lmtp_test *t, const char *needle)
{
	int n = 0;
	const char *p = cg_buf_str(&t->other_got);
	for (; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static int
lt_count(struct lmtp_test *t, const char *needle)
{
	int n = 0;
	for (const char *p = cg_buf_str(&t->got); (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static int
stored(struct lmtp_test *t, const char *msgid)
{
	int64_t id = 0;
	return cg_store_extid_find(t->f->gw.store, "email", msgid, &id) == 1;
}

static int
connected(struct lmtp_test *t)
{
	return email_lmtp_clients(t->lm) == 1;
}

#define ENVELOPE                                                               \
	"LHLO mta.example.org\r\n"                                             \
	"MAIL FROM:<alice@example.org>\r\n"

#define POST(id)                                                               \
	"From: Alice <alice@example.org>\r\n"                                  \
	"To: open@lists.example.org\r\n"                                       \
	"Subject: hello\r\n"                                                   \
	"Message-ID: <" id ">\r\n"                                             \
	"\r\n"

static void
test_each_accepted_recipient_gets_its_own_reply_after_data(void **s)
{
	struct lmtp_test *t = lt_new();
	/* Pipelined, as Postfix sends it. */
	lt_says(t, ENVELOPE "RCPT TO:<open@lists.example.org>\r\n"
	                    "RCPT TO:<nobody@lists.example.org>\r\n"
	                    "RCPT TO:<bob@elsewhere.example>\r\n"
	                    "RCPT TO:<Open+Request@Lists.Example.org>\r\n"
	                    "DATA\r\n");
	assert_int_equal(lt_count(t, "550 5.1.1 <nobody@lists.example.org>"),
	                 1);
	assert_int_equal(lt_count(t, "550 5.1.1 <bob@elsewhere.example>"), 1);
	assert_int_equal(lt_count(t, "354 "), 1);
	lt_says(t, POST("one@example.org") "hello\r\n.\r\n");
	assert_int_equal(lt_count(t, "250 2.0.0 <open@lists.example.org>"), 1);
	assert_int_equal(
	    lt_count(t, "250 2.0.0 <open+request@lists.example.org>"), 1);
	assert_true(stored(t, "one@example.org"));
	lt_says(t, "QUIT\r\n");
	assert_int_equal(lt_count(t, "221 "), 1);
	assert_false(connected(t));
	lt_free(t);
}

static void
test_dot_stuffed_lines_are_stored_unstuffed(void **s)
{
	struct lmtp_test *t = lt_new();
	lt_says(t, ENVELOPE "RCPT TO:<open@lists.example.org>\r\nDATA\r\n");
	lt_says(t, POST("dots@example.org") "..signature\r\n...\r\n.\r\n");
	assert_int_equal(lt_count(t, "250 2.0.0"), 1);
	int64_t id = 0;
	assert_int_equal(cg_store_extid_find(t->f->gw.store, "email",
	                                     "dots@example.org", &id),
	                 1);
	struct cg_stored_msg m;
	assert_int_equal(cg_store_message_get(t->f->gw.store, id, &m), 0);
	assert_non_null(strstr(m.body, ".signature"));
	assert_null(strstr(m.body, "..signature"));
	assert_non_null(strstr(m.body, "\n.."));
	cg_stored_msg_free(&m);
	lt_free(t);
}

static void
test_garbage_gets_500_and_too_much_of_it_closes(void **s)
{
	struct lmtp_test *t = lt_new();
	lt_says(t, "\x01\x02\xff hello\r\nEHLO x\r\n");
	assert_int_equal(lt_count(t, "500 5.5.2"), 1);
	assert_int_equal(lt_count(t, "500 5.5.1 This is LMTP"), 1);
	assert_true(connected(t));
	for (int i = 0; i < 10; i++)
		lt_says(t, "XYZZY\r\n");
	assert_int_equal(lt_count(t, "421 4.7.0"), 1);
	assert_false(connected(t));
	lt_free(t);
}

static void
test_commands_out_of_order_are_refused(void **s)
{
	struct lmtp_test *t = lt_new();
	lt_says(t, "MAIL FROM:<a@example.org>\r\n");
	assert_int_equal(lt_count(t, "503 5.5.1 Say LHLO"), 1);
	lt_says(t, "LHLO x\r\nRCPT TO:<open@lists.example.org>\r\nDATA\r\n");
	assert_int_equal(lt_count(t, "503 5.5.1 Need MAIL before RCPT"), 1);
	assert_int_equal(lt_count(t, "503 5.5.1 Need MAIL command"), 1);
	lt_says(t, "MAIL FROM:<a@example.org>\r\nDATA\r\n");
	assert_int_equal(lt_count(t, "503 5.5.1 No valid recipients"), 1);
	lt_says(t, "RSET\r\nNOOP\r\n");
	assert_int_equal(lt_count(t, "250 2.0.0 Ok"), 2);
	lt_free(t);
}

static void
test_overlong_command_line_is_refused_and_dropped(void **s)
{
	struct lmtp_test *t = lt_new();
	size_t n = 100000;
	char *line = cg_malloc(n);
	memset(line, 'A', n);
	lt_send(t, line, n);
	free(line);
	assert_int_equal(lt_count(t, "500 5.5.2 Line too long"), 1);
	assert_false(connected(t));
	lt_free(t);
}

static void
test_bare_lf_command_is_refused_and_dropped(void **s)
{
	struct lmtp_test *t = lt_new();
	lt_says(t, "LHLO x\n");
	assert_int_equal(lt_count(t, "500 5.5.2 Bare <LF>"), 1);
	assert_false(connected(t));
	lt_free(t);
}

static void
test_bare_lf_in_data_stores_nothing(void **s)
{
	struct lmtp_test *t = lt_new();
	lt_says(t, ENVELOPE "RCPT TO:<open@lists.example.org>\r\nDATA\r\n");
	/* "\n.\n" would end the data for a lax server: a smuggled mail. */
	lt_says(t, POST("barelf@example.org") "hello\n.\nMAIL FROM:<x@y>\r\n"
	                                      "\r\n.\r\n");
	assert_int_equal(
	    lt_count(t, "554 5.6.0 <open@lists.example.org> Bare <LF>"), 1);
	assert_false(stored(t, "barelf@example.org"));
	assert_true(connected(t));
	lt_free(t);
}

static void
test_data_over_the_limit_gets_552_and_stores_nothing(void **s)
{
	struct lmtp_test *t = lt_new();
	lt_says(t, "LHLO x\r\nMAIL FROM:<a@example.org> SIZE=200000\r\n");
	assert_int_equal(lt_count(t, "552 5.3.4"), 1);
	lt_says(t, "MAIL FROM:<alice@example.org>\r\n"
	           "RCPT TO:<open@lists.example.org>\r\n"
	           "RCPT TO:<open+request@lists.example.org>\r\nDATA\r\n");
	struct cg_buf big = CG_BUF_INIT;
	cg_buf_puts(&big, POST("big@example.org"));
	for (int i = 0; i < 3000; i++)
		cg_buf_puts(&big,
		            "0123456789012345678901234567890123456789"
		            "0123456789012345678901234567890123456789\r\n");
	cg_buf_puts(&big, ".\r\n");
	lt_send(t, big.data, big.len);
	cg_buf_free(&big);
	assert_int_equal(lt_count(t, "552 5.3.4 <open@lists.example.org>"), 1);
	assert_int_equal(
	    lt_count(t, "552 5.3.4 <open+request@lists.example.org>"), 1);
	assert_false(stored(t, "big@example.org"));
	assert_true(connected(t));
	lt_free(t);
}

static void
test_ten_thousand_rcpts_get_452_past_the_limit(void **s)
{
	struct lmtp_test *t = lt_new();
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_puts(&b, ENVELOPE);
	for (int i = 0; i < 10000; i++)
		cg_buf_puts(&b, "RCPT TO:<open@lists.example.org>\r\n");
	cg_buf_puts(&b, "DATA\r\n");
	lt_send(t, b.data, b.len);
	cg_buf_free(&b);
	assert_int_equal(lt_count(t, "250 2.1.5"), 100);
	assert_int_equal(lt_count(t, "452 4.5.3"), 9900);
	lt_says(t, POST("many@example.org") "hi\r\n.\r\n");
	assert_int_equal(lt_count(t, "250 2.0.0 <open@lists.example.org>"),
	                 100);
	assert_true(stored(t, "many@example.org"));
	lt_free(t);
}

static void
test_hang_up_mid_data_stores_nothing(void **s)
{
	struct lmtp_test *t = lt_new();
	lt_says(t, ENVELOPE "RCPT TO:<open@lists.example.org>\r\nDATA\r\n");
	lt_says(t, POST("cut@example.org") "half a mess");
	shutdown(t->client, SHUT_WR);
	lt_run(t);
	assert_false(connected(t));
	assert_false(stored(t, "cut@example.org"));
	lt_free(t);
}

static void
test_store_that_refuses_gets_451_so_the_mta_retries(void **s)
{
	struct lmtp_test *t = lt_new();
	fixture_box(t->f);
	/* The box's directory becomes a file: storing the attachment
	 * fails, and with it the message's transaction. */
	char *cmd = cg_asprintf("rm -rf '%s/box' && touch '%s/box'", t->f->dir,
	                        t->f->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	lt_says(t, ENVELOPE "RCPT TO:<open@lists.example.org>\r\nDATA\r\n");
	lt_says(t, "From: Alice <alice@example.org>\r\n"
	           "To: open@lists.example.org\r\nSubject: file\r\n"
	           "Message-ID: <att@example.org>\r\nMIME-Version: 1.0\r\n"
	           "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	           "--b\r\nContent-Type: text/plain\r\n\r\nsee file\r\n"
	           "--b\r\nContent-Type: application/pdf\r\n"
	           "Content-Disposition: attachment; filename=a.pdf\r\n"
	           "Content-Transfer-Encoding: base64\r\n\r\n"
	           "JVBERi0xLjQKJeLjz9MK\r\n--b--\r\n.\r\n");
	assert_int_equal(lt_count(t, "451 4.3.0 <open@lists.example.org>"), 1);
	assert_false(stored(t, "att@example.org"));
	lt_free(t);
}

static void
test_silent_client_is_dropped_after_the_timeout(void **s)
{
	struct lmtp_test *t = lt_new();
	lt_says(t, "LHLO x\r\n");
	assert_true(connected(t));
	email_lmtp_tick(t->lm, cg_mono_ms() + 301 * 1000);
	lt_read(t);
	assert_int_equal(lt_count(t, "421 4.4.2"), 1);
	assert_false(connected(t));
	lt_free(t);
}

/* A message body of about n bytes, in lines of 80. */
static char *
body_of(size_t n)
{
	struct cg_buf b = CG_BUF_INIT;
	while (b.len < n)
		cg_buf_puts(&b, "0123456789012345678901234567890123456789"
		                "01234567890123456789012345678901234567\r\n");
	return cg_buf_steal(&b);
}

static void
test_message_past_the_bound_on_all_clients_gets_452_per_rcpt(void **s)
{
	struct lmtp_test *t = lt_new();
	email_lmtp_set_inflight_max(t->lm, 150000);
	char *body = body_of(90000);
	/* The first client holds 90 KB, its final "." not yet sent. */
	lt_says(t, ENVELOPE "RCPT TO:<open@lists.example.org>\r\nDATA\r\n");
	lt_says(t, POST("first@example.org"));
	lt_says(t, body);
	int64_t first = email_lmtp_inflight(t->lm);
	assert_true(first > 90000 && first < 100000);
	/* The second's 90 KB do not fit beside them. */
	lt_other_connect(t);
	lt_other_says(t, ENVELOPE "RCPT TO:<open@lists.example.org>\r\n"
	                          "RCPT TO:<open+request@lists.example.org>\r\n"
	                          "DATA\r\n" POST("second@example.org"));
	lt_other_says(t, body);
	/* It keeps nothing while it reads on to its "." */
	assert_int_equal(email_lmtp_inflight(t->lm), first);
	assert_int_equal(lt_other_count(t, "452 4.3.1"), 0);
	lt_other_says(t, "more\r\n.\r\n");
	assert_int_equal(
	    lt_other_count(t, "452 4.3.1 <open@lists.example.org>"), 1);
	assert_int_equal(
	    lt_other_count(t, "452 4.3.1 <open+request@lists.example.org>"), 1);
	assert_int_equal(lt_other_count(t, "250 2.0.0"), 0);
	assert_false(stored(t, "second@example.org"));
	/* The first is taken; then nothing is held. */
	lt_says(t, ".\r\n");
	assert_int_equal(lt_count(t, "250 2.0.0 <open@lists.example.org>"), 1);
	assert_true(stored(t, "first@example.org"));
	assert_int_equal(email_lmtp_inflight(t->lm), 0);
	/* The MTA's retry of the second now fits. */
	lt_other_says(t, "MAIL FROM:<alice@example.org>\r\n"
	                 "RCPT TO:<open@lists.example.org>\r\nDATA\r\n" POST(
	                     "second@example.org"));
	lt_other_says(t, body);
	lt_other_says(t, ".\r\n");
	assert_int_equal(
	    lt_other_count(t, "250 2.0.0 <open@lists.example.org>"), 1);
	assert_true(stored(t, "second@example.org"));
	assert_int_equal(email_lmtp_inflight(t->lm), 0);
	free(body);
	lt_free(t);
}

static void
test_hang_up_mid_data_gives_its_bytes_back_to_the_bound(void **s)
{
	struct lmtp_test *t = lt_new();
	email_lmtp_set_inflight_max(t->lm, 150000);
	char *body = body_of(90000);
	lt_says(t, ENVELOPE "RCPT TO:<open@lists.example.org>\r\nDATA\r\n");
	lt_says(t, POST("gone@example.org"));
	lt_says(t, body);
	assert_true(email_lmtp_inflight(t->lm) > 90000);
	shutdown(t->client, SHUT_WR);
	lt_run(t);
	assert_false(connected(t));
	assert_int_equal(email_lmtp_inflight(t->lm), 0);
	/* A later message of the same size is taken. */
	lt_other_connect(t);
	lt_other_says(t, ENVELOPE "RCPT TO:<open@lists.example.org>\r\n"
	                          "DATA\r\n" POST("later@example.org"));
	lt_other_says(t, body);
	lt_other_says(t, ".\r\n");
	assert_int_equal(
	    lt_other_count(t, "250 2.0.0 <open@lists.example.org>"), 1);
	assert_true(stored(t, "later@example.org"));
	assert_int_equal(email_lmtp_inflight(t->lm), 0);
	free(body);
	lt_free(t);
}

static void
test_refused_and_reset_messages_give_their_bytes_back(void **s)
{
	struct lmtp_test *t = lt_new();
	char *body = body_of(60000);
	/* Refused: bare LF, then over the limit. */
	lt_says(t, ENVELOPE "RCPT TO:<open@lists.example.org>\r\nDATA\r\n");
	lt_says(t, POST("lf@example.org") "a\nb\r\n");
	assert_int_equal(email_lmtp_inflight(t->lm), 0);
	lt_says(t, ".\r\n");
	assert_int_equal(lt_count(t, "554 5.6.0"), 1);
	lt_says(t, "MAIL FROM:<alice@example.org>\r\n"
	           "RCPT TO:<open@lists.example.org>\r\nDATA\r\n");
	lt_says(t, body);
	assert_true(email_lmtp_inflight(t->lm) >= 60000);
	lt_says(t, body);
	assert_int_equal(email_lmtp_inflight(t->lm), 0);
	lt_says(t, ".\r\n");
	assert_int_equal(lt_count(t, "552 5.3.4 <open@lists.example.org>"), 1);
	/* Held by a client the server shuts down. */
	lt_says(t, "MAIL FROM:<alice@example.org>\r\n"
	           "RCPT TO:<open@lists.example.org>\r\nDATA\r\n");
	lt_says(t, body);
	assert_true(email_lmtp_inflight(t->lm) >= 60000);
	email_lmtp_stop(t->lm);
	assert_int_equal(email_lmtp_inflight(t->lm), 0);
	free(body);
	lt_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_each_accepted_recipient_gets_its_own_reply_after_data),
	    cmocka_unit_test(test_dot_stuffed_lines_are_stored_unstuffed),
	    cmocka_unit_test(test_garbage_gets_500_and_too_much_of_it_closes),
	    cmocka_unit_test(test_commands_out_of_order_are_refused),
	    cmocka_unit_test(test_overlong_command_line_is_refused_and_dropped),
	    cmocka_unit_test(test_bare_lf_command_is_refused_and_dropped),
	    cmocka_unit_test(test_bare_lf_in_data_stores_nothing),
	    cmocka_unit_test(
	        test_data_over_the_limit_gets_552_and_stores_nothing),
	    cmocka_unit_test(test_ten_thousand_rcpts_get_452_past_the_limit),
	    cmocka_unit_test(test_hang_up_mid_data_stores_nothing),
	    cmocka_unit_test(
	        test_store_that_refuses_gets_451_so_the_mta_retries),
	    cmocka_unit_test(test_silent_client_is_dropped_after_the_timeout),
	    cmocka_unit_test(
	        test_message_past_the_bound_on_all_clients_gets_452_per_rcpt),
	    cmocka_unit_test(
	        test_hang_up_mid_data_gives_its_bytes_back_to_the_bound),
	    cmocka_unit_test(
	        test_refused_and_reset_messages_give_their_bytes_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
