/*
 * test_reports.c: every figure of the activity, facilitation and topics
 * reports on a constructed history (threads spanning both networks, a
 * reply by the starter only, a reply after unanswered_after, periods at
 * month and week boundaries, an empty channel), the periods, the text
 * and HTML renderers, and sending once per period; the billing report
 * on two sellers' invoices, a credit note and billed and open time.
 */
#include "history.h"
#include "gateway/reports.h"
#include "reports/report.h"
#include "lib/money.h"
#include "store/billing.h"
#include "store/report_queries.h"

#define HOUR 3600
#define DAY 86400
#define W23 1748822400 /* Monday 2025-06-02 00:00 UTC: ISO week 2025-W23 */

static struct cg_report_params
params(struct fixture *f, const char *channel, const char *period)
{
	struct cg_report_params p = {.store = f->gw.store,
	                             .channel = channel ? channel : "all",
	                             .unanswered_after = 2 * DAY,
	                             .now = W23 + 30 * DAY};
	if (channel)
		p.channel_id = tu_channel_id(f->gw.store, channel);
	assert_int_equal(cg_period_parse(period, p.now, &p.period), 0);
	return p;
}

static struct cg_report
build(struct fixture *f, const char *kind, const char *channel,
      const char *period)
{
	struct cg_report_params p = params(f, channel, period);
	struct cg_report r;
	assert_int_equal(cg_report_build(cg_report_kind(kind), &p, &r), 0);
	return r;
}

static const char *
head(const struct cg_report *r, const char *key)
{
	for (size_t i = 0; i < r->nhead; i++)
		if (strcmp(r->head[i].key, key) == 0)
			return r->head[i].value;
	fail_msg("no headline %s", key);
	return NULL;
}

/*
 * Week 2025-W23 in dev:
 *   A  alice by mail, Mon 01:00; bob answers by chat at 03:00 (2 h)
 *   B  bob by chat, Tue 00:00; only bob writes again (starter only)
 *   C  carol by mail, Wed 00:00; alice answers Sat 00:00 (3 d: late)
 *   D  alice by mail, Sun 00:00; too young to be unanswered
 * dave posted in each of W19..W22 and not in W23; eve in W20..W22 only.
 */
static struct fixture *
history(void)
{
	struct fixture *f = fixture_new();
	int64_t alice =
	    person(f, "alice@example.org", "Alice", CG_LAYER_CORE, "dev");
	int64_t bob =
	    person(f, "bob@example.org", "Bob", CG_LAYER_MEMBER, "dev");
	int64_t carol =
	    person(f, "carol@example.org", "Carol", CG_LAYER_MEMBER, "dev");
	int64_t dave =
	    person(f, "dave@example.org", "Dave", CG_LAYER_MEMBER, "dev");
	int64_t eve =
	    person(f, "eve@example.org", "Eve", CG_LAYER_MEMBER, "dev");
	int64_t t = post(f, 0, alice, "alice@example.org", "email", "Plan",
	                 "Wer plant das Sommerfest?", W23 + HOUR);
	post(f, t, bob, "bob@example.org", "xmpp", NULL, "Ich!",
	     W23 + 3 * HOUR);
	t = post(f, 0, bob, "bob@example.org", "xmpp", "Drucker",
	         "Der Drucker ist kaputt.", W23 + DAY);
	post(f, t, bob, "bob@example.org", "xmpp", NULL, "Immer noch.",
	     W23 + DAY + HOUR);
	t = post(f, 0, carol, "carol@example.org", "email", "Schlüssel",
	         "Wer hat den Schlüssel?", W23 + 2 * DAY);
	post(f, t, alice, "alice@example.org", "email", NULL, "Ich.",
	     W23 + 5 * DAY);
	post(f, 0, alice, "alice@example.org", "email", "Sonntag",
	     "Schönen Sonntag.", W23 + 6 * DAY);
	for (int w = 1; w <= 4; w++) {
		post(f, 0, dave, "dave@example.org", "email", "Dave", "Hallo.",
		     W23 - w * 7 * DAY + HOUR);
		if (w < 4)
			post(f, 0, eve, "eve@example.org", "xmpp", "Eve",
			     "Moin.", W23 - w * 7 * DAY + 2 * HOUR);
	}
	return f;
}

static void
test_activity_counts_posts_by_network_members_and_threads(void **state)
{
	struct fixture *f = history();
	struct cg_report r = build(f, "activity", "dev", "2025-W23");
	assert_string_equal(head(&r, "Period"), "2025-W23");
	assert_string_equal(head(&r, "Posts"), "7");
	assert_string_equal(head(&r, "Posts by email"), "4");
	assert_string_equal(head(&r, "Posts by chat"), "3");
	assert_string_equal(head(&r, "Active members"), "3");
	assert_string_equal(head(&r, "Threads"), "4");
	/* Subscribed today, not in 2025. */
	assert_string_equal(head(&r, "New members"), "0");
	/* One bar per day: Mon 2, Tue 2, Wed 1, Sat 1, Sun 1. */
	assert_int_equal(r.sec[0].nrows, 7);
	static const char *const per_day[] = {"2", "2", "1", "0",
	                                      "0", "1", "1"};
	for (int d = 0; d < 7; d++)
		assert_string_equal(r.sec[0].cells[d * 2 + 1], per_day[d]);
	cg_report_free(&r);
	fixture_free(f);
}

static void
test_new_members_are_those_whose_first_subscription_is_in_the_period(
    void **state)
{
	struct fixture *f = history();
	struct cg_report_params p = params(f, "dev", "7d");
	p.now = cg_now();
	assert_int_equal(cg_period_parse("7d", p.now, &p.period), 0);
	struct cg_report r;
	assert_int_equal(cg_report_build(cg_report_kind("activity"), &p, &r),
	                 0);
	assert_string_equal(head(&r, "New members"), "5");
	cg_report_free(&r);
	fixture_free(f);
}

static void
test_facilitation_lists_unanswered_threads_oldest_first(void **state)
{
	struct fixture *f = history();
	struct cg_report r = build(f, "facilitation", "dev", "2025-W23");
	/* B (only its starter wrote) and C (answered after 3 d); not A
	 * (answered in 2 h), not D (1 day old at the period's end). */
	assert_string_equal(head(&r, "Unanswered"), "2");
	const struct cg_report_section *s = &r.sec[0];
	assert_int_equal(s->nrows, 2);
	assert_string_equal(s->cells[0], "Drucker");
	assert_string_equal(s->cells[1], "Bob");
	assert_string_equal(s->cells[2], "xmpp");
	assert_string_equal(s->cells[4], "6d 0h"); /* waiting since Tue */
	assert_string_equal(s->cells[5], "Schlüssel");
	assert_string_equal(s->cells[9], "answered after 3d 0h");
	assert_non_null(r.attention);
	assert_non_null(strstr(r.attention, "1 thread unanswered for more "
	                                    "than 2d 0h: \"Drucker\""));
	cg_report_free(&r);
	fixture_free(f);
}

static void
test_first_reply_median_and_p90_ignore_the_starters_own_replies(void **state)
{
	struct fixture *f = history();
	struct cg_report r = build(f, "facilitation", "dev", "2025-W23");
	/* Replied: A after 2 h, C after 3 d (B only by its starter). */
	assert_string_equal(head(&r, "Threads started"), "4");
	assert_string_equal(head(&r, "Threads with a reply"), "2");
	assert_string_equal(head(&r, "Median first reply"), "2h 0m");
	assert_string_equal(head(&r, "P90 first reply"), "3d 0h");
	cg_report_free(&r);
	fixture_free(f);
}

static void
test_went_quiet_needs_all_four_previous_periods(void **state)
{
	struct fixture *f = history();
	struct cg_report r = build(f, "facilitation", "dev", "2025-W23");
	assert_string_equal(head(&r, "Went quiet"), "1");
	const struct cg_report_section *s = &r.sec[1];
	assert_string_equal(s->title, "Went quiet");
	assert_int_equal(s->nrows, 1);
	assert_string_equal(s->cells[0], "Dave");
	cg_report_free(&r);
	/* In W22 dave still posted: nobody went quiet. */
	r = build(f, "facilitation", "dev", "2025-W22");
	assert_string_equal(head(&r, "Went quiet"), "0");
	cg_report_free(&r);
	fixture_free(f);
}

static void
test_an_empty_channel_reports_zeros(void **state)
{
	struct fixture *f = history();
	struct cg_report r = build(f, "activity", "open", "2025-W23");
	assert_string_equal(head(&r, "Posts"), "0");
	assert_string_equal(head(&r, "Threads"), "0");
	cg_report_free(&r);
	r = build(f, "facilitation", "open", "2025-W23");
	assert_string_equal(head(&r, "Unanswered"), "0");
	assert_string_equal(head(&r, "Median first reply"), "-");
	assert_null(r.attention);
	cg_report_free(&r);
	r = build(f, "topics", "open", "2025-W23");
	assert_string_equal(head(&r, "Messages"), "0");
	cg_report_free(&r);
	fixture_free(f);
}

static void
test_periods_cut_at_month_and_week_boundaries(void **state)
{
	struct fixture *f = fixture_new();
	int64_t a =
	    person(f, "alice@example.org", "Alice", CG_LAYER_MEMBER, "dev");
	/* 2025-06-01 is a Sunday: the last second of May is in W22 too. */
	int64_t june = 1748736000;
	post(f, 0, a, "alice@example.org", "email", "Mai", "x", june - 1);
	post(f, 0, a, "alice@example.org", "email", "Juni", "x", june);
	post(f, 0, a, "alice@example.org", "email", "W23", "x", W23);
	struct cg_report r = build(f, "activity", "dev", "2025-05");
	assert_string_equal(head(&r, "Posts"), "1");
	cg_report_free(&r);
	r = build(f, "activity", "dev", "2025-06");
	assert_string_equal(head(&r, "Posts"), "2");
	cg_report_free(&r);
	r = build(f, "activity", "dev", "2025-W22");
	assert_string_equal(head(&r, "Posts"), "2");
	cg_report_free(&r);
	r = build(f, "activity", "all", "2025-W23");
	assert_string_equal(head(&r, "Posts"), "1");
	cg_report_free(&r);
	fixture_free(f);
}

static void
test_period_syntax(void **state)
{
	struct cg_period p, q;
	int64_t now = W23 + 3 * DAY + 5 * HOUR;
	assert_int_equal(cg_period_parse("2025-06", now, &p), 0);
	assert_int_equal(p.start, 1748736000);
	assert_int_equal(p.end, 1751328000);
	assert_string_equal(p.label, "2025-06");
	cg_period_previous(&p, &q);
	assert_string_equal(q.label, "2025-05");
	assert_int_equal(q.end, p.start);
	assert_int_equal(cg_period_parse("2025-01", now, &p), 0);
	cg_period_previous(&p, &q);
	assert_string_equal(q.label, "2024-12");
	assert_int_equal(cg_period_parse("2025-W23", now, &p), 0);
	assert_int_equal(p.start, W23);
	assert_int_equal(p.end, W23 + 7 * DAY);
	assert_int_equal(cg_period_parse("2025-W01", now, &p), 0);
	assert_int_equal(p.start, 1735516800); /* Monday 2024-12-30 */
	assert_int_equal(cg_period_parse("2020-W53", now, &p), 0);
	assert_int_equal(cg_period_parse("2021-W53", now, &p), -1);
	assert_int_equal(cg_period_parse(NULL, now, &p), 0); /* 7d */
	assert_int_equal(p.end, W23 + 4 * DAY);
	assert_int_equal(p.start, W23 - 3 * DAY);
	assert_string_equal(p.label, "2025-05-30..2025-06-05");
	static const char *const bad[] = {
	    "0d",      "367d", "d", "2025-13",    "2025-6", "2025-W00",
	    "2025-W1", "june", "",  "2025-06-01", "7d "};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (cg_period_parse(bad[i], now, &p) != -1)
			fail_msg("period \"%s\" accepted", bad[i]);
	cg_period_last_week(now, &p);
	assert_string_equal(p.label, "2025-W22");
}

static void
test_topics_names_the_words_new_this_period_with_their_threads(void **state)
{
	struct fixture *f = fixture_new();
	int64_t a =
	    person(f, "alice@example.org", "Alice", CG_LAYER_MEMBER, "dev");
	int64_t prev = W23 - 7 * DAY;
	for (int i = 0; i < 4; i++)
		post(f, 0, a, "alice@example.org", "email", "Garten",
		     "Der Garten und das Treffen.", prev + i * HOUR);
	int64_t t = post(f, 0, a, "alice@example.org", "email", "Rechnung Juni",
	                 "Die Rechnung für Juni.", W23);
	post(f, t, a, "alice@example.org", "xmpp", NULL,
	     "Die Rechnungen sind raus.", W23 + HOUR);
	post(f, 0, a, "alice@example.org", "email", "Treffen",
	     "Das Treffen und die Rechnung.", W23 + 2 * HOUR);
	struct cg_report r = build(f, "topics", "dev", "2025-W23");
	assert_string_equal(head(&r, "Messages"), "3");
	const struct cg_report_section *s = &r.sec[0];
	assert_true(s->nrows >= 1);
	assert_string_equal(s->cells[0], "rechnung");
	assert_string_equal(s->cells[1], "3");
	assert_string_equal(s->cells[2], "0");
	assert_string_equal(s->cells[3], "Rechnung Juni (2); Treffen (1)");
	/* Stop words and last period's words do not stand out. */
	for (size_t i = 0; i < s->nrows; i++) {
		assert_string_not_equal(s->cells[i * 4], "die");
		assert_string_not_equal(s->cells[i * 4], "garten");
	}
	cg_report_free(&r);
	fixture_free(f);
}

static void
test_text_opens_with_key_value_lines_then_a_blank_line(void **state)
{
	struct fixture *f = history();
	struct cg_report r = build(f, "activity", "dev", "2025-W23");
	char *text = cg_report_text(&r);
	static const char opening[] = "Report: activity\nChannel: dev\n"
	                              "Period: 2025-W23\nPosts: 7\n"
	                              "Posts by email: 4\nPosts by chat: 3\n";
	assert_memory_equal(text, opening, sizeof opening - 1);
	char *blank = strstr(text, "\n\n");
	assert_non_null(blank);
	for (char *p = text; p < blank; p = strchr(p, '\n') + 1)
		assert_non_null(strstr(p, ": ")); /* every head line */
	assert_non_null(strstr(text, "- Posts: messages stored"));
	/* Bars in Unicode blocks: 30 for the busiest day, 15 for half. */
	char *full =
	    cg_asprintf("2025-06-02 %s 2\n", "██████████████████████████████");
	char *half = cg_asprintf("2025-06-04 %s 1\n", "███████████████");
	assert_non_null(strstr(text, full));
	assert_non_null(strstr(text, half));
	assert_non_null(strstr(text, "2025-06-05  0\n"));
	free(full);
	free(half);
	free(text);
	cg_report_free(&r);
	fixture_free(f);
}

static void
test_html_has_tables_and_css_bars_and_no_script_or_external_image(void **state)
{
	struct fixture *f = fixture_new();
	int64_t a =
	    person(f, "alice@example.org", "Alice", CG_LAYER_MEMBER, "dev");
	post(f, 0, a, "alice@example.org", "email", "<script>alert(1)</script>",
	     "x", W23);
	struct cg_report r = build(f, "facilitation", "dev", "2025-W23");
	char *html = cg_report_html(&r);
	assert_non_null(strstr(html, "<table"));
	assert_non_null(strstr(html, "<th style"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<img"));
	assert_null(strstr(html, "http"));
	assert_null(strstr(html, "url("));
	free(html);
	cg_report_free(&r);
	r = build(f, "activity", "dev", "2025-W23");
	html = cg_report_html(&r);
	assert_non_null(strstr(html, "width:240px;background:#2e7d5b"));
	assert_non_null(strstr(html,
	                       "<th style=\"border:1px solid #ccc;padding:"
	                       "2px 8px;text-align:left;background:"
	                       "#f3f3f3\">Posts</th>"));
	free(html);
	cg_report_free(&r);
	fixture_free(f);
}

static void
test_kinds_and_bad_input_say_what_is_accepted(void **state)
{
	struct fixture *f = history();
	f->cfg.reports.unanswered_after = 2 * DAY;
	struct cg_report r;
	int64_t id;
	char *why;
	assert_int_equal(cg_reports_make(f->gw.store, &f->cfg, "weather", NULL,
	                                 NULL, W23, &r, &id, &why),
	                 CG_EX_USAGE);
	assert_string_equal(why, "weather: unknown report kind (accepted: "
	                         "activity, facilitation, topics, billing)");
	free(why);
	assert_int_equal(cg_reports_make(f->gw.store, &f->cfg, "activity",
	                                 "nope", NULL, W23, &r, &id, &why),
	                 CG_EX_DATAERR);
	assert_string_equal(why, "nope: unknown channel (see the config's "
	                         "channels)");
	free(why);
	assert_int_equal(cg_reports_make(f->gw.store, &f->cfg, "activity",
	                                 "dev", "last week", W23, &r, &id,
	                                 &why),
	                 CG_EX_USAGE);
	assert_non_null(strstr(why, "YYYY-MM, YYYY-Www or Nd"));
	free(why);
	fixture_free(f);
}

static void
test_a_scheduled_report_is_sent_once_per_period(void **state)
{
	struct fixture *f = history();
	f->cfg.reports.unanswered_after = 2 * DAY;
	f->cfg.reports.recipients_layer = CG_LAYER_CORE; /* alice */
	struct cg_report r;
	int64_t id;
	char *why;
	assert_int_equal(cg_reports_make(f->gw.store, &f->cfg, "facilitation",
	                                 "dev", "2025-W23", W23 + 8 * DAY, &r,
	                                 &id, &why),
	                 0);
	size_t n;
	assert_int_equal(
	    cg_reports_send(f->gw.store, &f->cfg, &r, id, 1, W23 + 8 * DAY, &n),
	    1);
	assert_int_equal(n, 1);
	assert_int_equal(
	    cg_reports_send(f->gw.store, &f->cfg, &r, id, 1, W23 + 9 * DAY, &n),
	    0);
	assert_int_equal(
	    cg_store_report_sent_count(f->gw.store, "facilitation", "2025-W23"),
	    1);
	/* --send (not scheduled) may repeat. */
	assert_int_equal(
	    cg_reports_send(f->gw.store, &f->cfg, &r, id, 0, W23 + 9 * DAY, &n),
	    1);
	struct cg_outbox_counts c;
	assert_int_equal(cg_store_outbox_counts(f->gw.store, "email", &c), 0);
	assert_int_equal(c.pending, 2);
	assert_int_equal(cg_store_outbox_counts(f->gw.store, "xmpp", &c), 0);
	assert_int_equal(c.pending, 2); /* the room's summaries */
	cg_report_free(&r);
	fixture_free(f);
}

/* ---- billing ---- */

static int64_t
time_entry(struct fixture *f, int64_t worker, int64_t buyer, const char *seller,
           const char *rate, const char *day, int64_t milli)
{
	int64_t id;
	assert_int_equal(cg_store_time_add(f->gw.store, worker, buyer, seller,
	                                   rate, day, milli, NULL, &id),
	                 0);
	return id;
}

/* An issued document of seller on day; source: the time entry its one
 * line bills (0: a line billing nothing, as a credit note's). */
static int64_t
issue(struct fixture *f, const char *number, int type, const char *seller,
      int64_t buyer, const char *day, int64_t net, int vat_bp, int64_t time_id,
      int64_t cancels)
{
	char *source =
	    time_id ? cg_asprintf("time:%lld", (long long)time_id) : NULL;
	struct cg_invoice_line line = {.source = source,
	                               .name = "Work",
	                               .unit = "HUR",
	                               .qty_milli = 1000,
	                               .price_cents = net,
	                               .net_cents = net,
	                               .vat_bp = vat_bp};
	struct cg_invoice inv = {.number = (char *)number,
	                         .type_code = type,
	                         .seller = (char *)seller,
	                         .buyer_id = buyer,
	                         .currency = "EUR",
	                         .net_cents = net,
	                         .vat_cents = cg_vat_of(net, vat_bp),
	                         .gross_cents = net + cg_vat_of(net, vat_bp),
	                         .cancels = cancels,
	                         .xml = (unsigned char *)"<x/>",
	                         .xml_len = 4,
	                         .text_body = "t",
	                         .html_body = "h",
	                         .lines = &line,
	                         .nlines = 1};
	snprintf(inv.issue_day, CG_DAY_LEN, "%s", day);
	snprintf(inv.due_day, CG_DAY_LEN, "%s", day);
	snprintf(inv.period_start, CG_DAY_LEN, "%s", day);
	snprintf(inv.period_end, CG_DAY_LEN, "%s", day);
	assert_int_equal(cg_store_invoice_insert(f->gw.store, &inv), 0);
	free(source);
	return inv.id;
}

/*
 * Two sellers, June 2025 (the boundaries: May 31 / June 30 / July 1):
 *   coop: alice 2.5 h DEV on 06-10, billed by EX-1 (200.00 + 19 %,
 *         issued 06-30); 1 h on 06-30 and 0.5 h on 05-20 open; 4 h on
 *         07-01 open; EX-2 (100.00 + 19 %) issued 07-01.
 *   shop: carol 1.25 h OPS on 06-15, billed by SH-1 (100.00 + 7 %,
 *         issued 06-15), cancelled by the credit note SH-2 on 06-20.
 */
static struct fixture *
billing_history(void)
{
	struct fixture *f = fixture_new();
	int64_t alice =
	    person(f, "alice@example.org", "Alice", CG_LAYER_CORE, "dev");
	int64_t carol =
	    person(f, "carol@example.org", NULL, CG_LAYER_MEMBER, "dev");
	int64_t bob =
	    person(f, "bob@example.org", "Bob", CG_LAYER_MEMBER, "dev");
	int64_t t1 =
	    time_entry(f, alice, bob, "coop", "DEV", "2025-06-10", 2500);
	time_entry(f, alice, bob, "coop", "DEV", "2025-06-30", 1000);
	time_entry(f, alice, bob, "coop", "DEV", "2025-05-20", 500);
	time_entry(f, alice, bob, "coop", "DEV", "2025-07-01", 4000);
	int64_t t2 =
	    time_entry(f, carol, bob, "shop", "OPS", "2025-06-15", 1250);
	issue(f, "EX-1", 380, "coop", bob, "2025-06-30", 20000, 1900, t1, 0);
	issue(f, "EX-2", 380, "coop", bob, "2025-07-01", 10000, 1900, 0, 0);
	int64_t sh1 =
	    issue(f, "SH-1", 380, "shop", bob, "2025-06-15", 10000, 700, t2, 0);
	issue(f, "SH-2", 381, "shop", bob, "2025-06-20", 10000, 700, 0, sh1);
	return f;
}

static const char *
cell(const struct cg_report *r, const char *section, size_t row, size_t col)
{
	for (size_t i = 0; i < r->nsec; i++) {
		const struct cg_report_section *s = &r->sec[i];
		if (strcmp(s->title, section) == 0) {
			assert_true(row < s->nrows && col < s->ncols);
			return s->cells[row * s->ncols + col];
		}
	}
	fail_msg("no section %s", section);
	return NULL;
}

static size_t
rows(const struct cg_report *r, const char *section)
{
	for (size_t i = 0; i < r->nsec; i++)
		if (strcmp(r->sec[i].title, section) == 0)
			return r->sec[i].nrows;
	fail_msg("no section %s", section);
	return 0;
}

static void
test_billing_nets_credit_notes_per_seller_within_the_month(void **state)
{
	struct fixture *f = billing_history();
	struct cg_report r = build(f, "billing", NULL, "2025-06");
	assert_string_equal(head(&r, "Report"), "billing");
	assert_string_equal(head(&r, "Channel"), "all");
	assert_string_equal(head(&r, "Period"), "2025-06");
	/* EX-1 238.00 + SH-1 107.00 - SH-2 107.00; EX-2 is July's. */
	assert_string_equal(head(&r, "Invoiced gross"), "238.00 EUR");
	assert_string_equal(head(&r, "Invoiced net"), "200.00 EUR");
	assert_string_equal(head(&r, "VAT"), "38.00 EUR");
	assert_string_equal(head(&r, "Invoices"), "2");
	assert_string_equal(head(&r, "Credit notes"), "1 (-107.00 EUR)");
	assert_int_equal(rows(&r, "By seller"), 2);
	assert_string_equal(cell(&r, "By seller", 0, 0), "coop");
	assert_string_equal(cell(&r, "By seller", 0, 5), "238.00");
	assert_string_equal(cell(&r, "By seller", 1, 0), "shop");
	assert_string_equal(cell(&r, "By seller", 1, 3), "0.00");
	assert_string_equal(cell(&r, "By seller", 1, 6), "-107.00");
	assert_int_equal(rows(&r, "Invoices and credit notes"), 3);
	assert_string_equal(cell(&r, "Invoices and credit notes", 2, 1),
	                    "SH-2");
	assert_string_equal(cell(&r, "Invoices and credit notes", 2, 2),
	                    "credit note");
	assert_string_equal(cell(&r, "Invoices and credit notes", 2, 6),
	                    "-107.00");
	cg_report_free(&r);
	r = build(f, "billing", NULL, "2025-07");
	assert_string_equal(head(&r, "Invoiced gross"), "119.00 EUR");
	assert_string_equal(head(&r, "Credit notes"), "0 (0.00 EUR)");
	cg_report_free(&r);
	fixture_free(f);
}

static void
test_billing_hours_by_worker_and_rate_and_open_time(void **state)
{
	struct fixture *f = billing_history();
	struct cg_report r = build(f, "billing", NULL, "2025-06");
	/* June's entries: alice 2.5 + 1 (06-30 is June's), carol 1.25. */
	assert_string_equal(head(&r, "Hours"), "4.75");
	const char *h = "Hours by worker and rate";
	assert_int_equal(rows(&r, h), 2);
	assert_string_equal(cell(&r, h, 0, 1), "Alice");
	assert_string_equal(cell(&r, h, 0, 2), "DEV");
	assert_string_equal(cell(&r, h, 0, 3), "3.5");
	assert_string_equal(cell(&r, h, 0, 4), "1");
	assert_string_equal(cell(&r, h, 1, 1), "carol@example.org");
	assert_string_equal(cell(&r, h, 1, 3), "1.25");
	assert_string_equal(cell(&r, h, 1, 4), "0");
	/* Open at June's end: 1 h of 06-30 and 0.5 h of 05-20, not July's
	 * 4 h; time billed by a cancelled invoice stays billed. */
	assert_string_equal(head(&r, "Unbilled hours"), "1.5");
	assert_string_equal(cell(&r, "Open (unbilled) time", 0, 4),
	                    "2025-05-20");
	assert_non_null(strstr(r.attention, "1.5 hours"));
	cg_report_free(&r);
	r = build(f, "billing", NULL, "2025-07");
	assert_string_equal(head(&r, "Hours"), "4");
	assert_string_equal(head(&r, "Unbilled hours"), "5.5");
	cg_report_free(&r);
	fixture_free(f);
}

static void
test_billing_ignores_the_channel_and_renders_text_and_html(void **state)
{
	struct fixture *f = billing_history();
	struct cg_report r = build(f, "billing", "dev", "2025-06");
	assert_string_equal(head(&r, "Channel"), "all");
	assert_string_equal(head(&r, "Invoiced gross"), "238.00 EUR");
	char *text = cg_report_text(&r);
	static const char opening[] = "Report: billing\nChannel: all\n"
	                              "Period: 2025-06\n"
	                              "Invoiced gross: 238.00 EUR\n";
	assert_memory_equal(text, opening, sizeof opening - 1);
	assert_non_null(strstr(text, "- Channel: billing is the same"));
	assert_non_null(strstr(text, "SH-2"));
	char *html = cg_report_html(&r);
	assert_non_null(strstr(html, "<table"));
	assert_non_null(strstr(html, "-107.00"));
	assert_null(strstr(html, "<script"));
	free(html);
	free(text);
	cg_report_free(&r);
	r = build(f, "billing", NULL, "2025-05");
	assert_string_equal(head(&r, "Invoiced gross"), "0.00 EUR");
	assert_string_equal(head(&r, "Unbilled hours"), "0.5");
	assert_string_equal(cell(&r, "Open (unbilled) time", 0, 3), "0.5");
	cg_report_free(&r);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_activity_counts_posts_by_network_members_and_threads),
	    cmocka_unit_test(
	        test_new_members_are_those_whose_first_subscription_is_in_the_period),
	    cmocka_unit_test(
	        test_facilitation_lists_unanswered_threads_oldest_first),
	    cmocka_unit_test(
	        test_first_reply_median_and_p90_ignore_the_starters_own_replies),
	    cmocka_unit_test(test_went_quiet_needs_all_four_previous_periods),
	    cmocka_unit_test(test_an_empty_channel_reports_zeros),
	    cmocka_unit_test(test_periods_cut_at_month_and_week_boundaries),
	    cmocka_unit_test(test_period_syntax),
	    cmocka_unit_test(
	        test_topics_names_the_words_new_this_period_with_their_threads),
	    cmocka_unit_test(
	        test_text_opens_with_key_value_lines_then_a_blank_line),
	    cmocka_unit_test(
	        test_html_has_tables_and_css_bars_and_no_script_or_external_image),
	    cmocka_unit_test(test_kinds_and_bad_input_say_what_is_accepted),
	    cmocka_unit_test(test_a_scheduled_report_is_sent_once_per_period),
	    cmocka_unit_test(
	        test_billing_nets_credit_notes_per_seller_within_the_month),
	    cmocka_unit_test(
	        test_billing_hours_by_worker_and_rate_and_open_time),
	    cmocka_unit_test(
	        test_billing_ignores_the_channel_and_renders_text_and_html),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
