/*
 * test_billing.c: the billing rules on a real store (gateway/billing.c,
 * store/billing.c): who is billed for what, pro rata subscriptions, an
 * invoice run issuing each entry once, gapless numbers when two
 * processes run at once, the store refusing to change issued invoices,
 * credit notes, and the mail the email bridge makes of an invoice.
 * With env INVOICE_OUT_DIR, the issued XML documents are saved there.
 */
#include "testutil.h"

#include <sqlite3.h>
#include <sys/wait.h>

#include "bridges/email/invoice_mail.h"
#include "gateway/billing.h"
#include "lib/money.h"
#include "store/billing.h"

static void
billing_config(struct cg_config *cfg)
{
	struct cg_cfg_billing *b = &cfg->billing;
	b->present = 1;
	b->currency = cg_strdup("EUR");
	b->run_day = 1;
	b->sellers = cg_calloc(1, sizeof *b->sellers);
	b->nsellers = 1;
	struct cg_cfg_seller *s = &b->sellers[0];
	s->code = cg_strdup("coop");
	s->name = cg_strdup("Example eG");
	s->street = cg_strdup("Hauptstr. 1");
	s->postcode = cg_strdup("10115");
	s->city = cg_strdup("Berlin");
	s->country = cg_strdup("DE");
	s->vat_id = cg_strdup("DE123456789");
	s->email = cg_strdup("office@example.org");
	s->phone = cg_strdup("+49 30 123456");
	s->contact = cg_strdup("Billing office");
	s->iban = cg_strdup("DE02120300000000202051");
	s->series = cg_strdup("EX-{YYYY}-");
	s->payment_days = 14;
	s->workers = cg_calloc(1, sizeof *s->workers);
	s->workers[0] = cg_strdup("alice@example.org");
	s->nworkers = 1;
	b->rates = cg_calloc(1, sizeof *b->rates);
	b->nrates = 1;
	b->rates[0] =
	    (struct cg_cfg_rate){.code = cg_strdup("DEV"),
	                         .name = cg_strdup("Development"),
	                         .unit = cg_strdup("HUR"),
	                         .seller = cg_strdup("coop"),
	                         .buyer = cg_strdup("bob@example.org"),
	                         .price_cents = 8000,
	                         .vat_bp = 1900};
	b->plans = cg_calloc(1, sizeof *b->plans);
	b->nplans = 1;
	b->plans[0] = (struct cg_cfg_plan){.code = cg_strdup("SUPPORT"),
	                                   .name = cg_strdup("Supporter"),
	                                   .seller = cg_strdup("coop"),
	                                   .price_cents = 1000,
	                                   .vat_bp = 700};
}

static void
buyer(struct fixture *f, const char *addr, int with_data)
{
	fixture_member(f, addr, CG_LAYER_MEMBER, "dev", CG_DELIVERY_EACH);
	if (!with_data)
		return;
	struct cg_billing_data d = {"Straße 1", "10623", "Berlin", "DE",
	                            NULL,       NULL,    NULL};
	int64_t id = tu_contact_find(f->gw.store, CG_ID_EMAIL, addr);
	assert_int_equal(cg_store_billing_data_set(f->gw.store, id, &d), 0);
}

static struct fixture *
setup(void)
{
	struct fixture *f = fixture_new();
	billing_config(&f->cfg);
	fixture_member(f, "alice@example.org", CG_LAYER_CORE, "dev",
	               CG_DELIVERY_EACH);
	buyer(f, "bob@example.org", 1);
	return f;
}

static void
save_xml(const struct cg_invoice *inv)
{
	const char *dir = getenv("INVOICE_OUT_DIR");
	if (dir == NULL || *dir == '\0')
		return;
	static int seq;
	char *path =
	    cg_asprintf("%s/store-%02d-%s.xml", dir, ++seq, inv->number);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	fwrite(inv->xml, 1, inv->xml_len, fp);
	fclose(fp);
	free(path);
}

static void
load(struct fixture *f, const char *number, struct cg_invoice *inv)
{
	assert_int_equal(cg_store_invoice_get(f->gw.store, number, inv), 1);
	save_xml(inv);
}

static void
log_time(struct fixture *f, const char *hours, const char *buyer_addr,
         const char *day)
{
	char *msg = NULL, *err = NULL;
	int rc = cg_billing_time_log(&f->gw, "alice@example.org", hours, "DEV",
	                             buyer_addr, "pairing", day, &msg, &err);
	if (rc != CG_BILL_OK)
		fail_msg("time log: %s", err);
	free(msg);
}

static int
run(struct fixture *f, const char *period, int *issued, int *skipped)
{
	char *err = NULL;
	int rc = cg_billing_run(&f->gw, period, 0, NULL, issued, skipped, &err);
	free(err);
	return rc;
}

static void
test_time_log_refuses_bad_input_and_changes_nothing(void **state)
{
	struct fixture *f = setup();
	const char *bad[][3] = {
	    {"alice@example.org", "0", "DEV"},
	    {"alice@example.org", "-1", "DEV"},
	    {"alice@example.org", "x", "DEV"},
	    {"alice@example.org", "24.5", "DEV"},
	    {"alice@example.org", "1.2345", "DEV"},
	    {"alice@example.org", "1", "NOPE"},
	    {"bob@example.org", "1", "DEV"},
	    {"nobody@example.org", "1", "DEV"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *msg = NULL, *err = NULL;
		assert_int_equal(cg_billing_time_log(&f->gw, bad[i][0],
		                                     bad[i][1], bad[i][2], NULL,
		                                     NULL, NULL, &msg, &err),
		                 CG_BILL_BAD);
		assert_non_null(err);
		free(err);
	}
	char *msg = NULL, *err = NULL;
	assert_int_equal(cg_billing_time_log(&f->gw, "alice@example.org", "1",
	                                     "DEV", NULL, NULL, "2999-01-01",
	                                     &msg, &err),
	                 CG_BILL_BAD);
	assert_non_null(strstr(err, "future"));
	free(err);
	struct cg_billable *v;
	size_t n;
	assert_int_equal(
	    cg_store_unbilled(f->gw.store, "2000-01-01", "2999-12-31", &v, &n),
	    0);
	assert_int_equal(n, 0);
	cg_billables_free(v, n);
	fixture_free(f);
}

static void
test_subscription_bills_pro_rata_by_day(void **state)
{
	struct fixture *f = setup();
	char *err = NULL;
	assert_int_equal(cg_billing_plan_start(&f->gw, "bob@example.org",
	                                       "SUPPORT", "2025-10-10", &err),
	                 CG_BILL_OK);
	assert_int_equal(cg_billing_plan_stop(&f->gw, "bob@example.org",
	                                      "SUPPORT", "2025-12-16", &err),
	                 CG_BILL_OK);
	const char *periods[] = {"2025-10", "2025-11", "2025-12"};
	/* 22/31 x 10.00 = 7.0967 -> 7.10; 30/30; 16/31 x 10.00 = 5.16 */
	const int64_t price[] = {710, 1000, 516};
	for (int i = 0; i < 3; i++) {
		int issued, skipped;
		assert_int_equal(run(f, periods[i], &issued, &skipped), 0);
		assert_int_equal(issued, 1);
	}
	struct cg_invoice *v;
	size_t n;
	assert_int_equal(cg_store_invoice_list(f->gw.store, NULL, &v, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		struct cg_invoice inv;
		load(f, v[i].number, &inv);
		assert_int_equal(inv.nlines, 1);
		assert_int_equal(inv.lines[0].price_cents, price[i]);
		assert_string_equal(inv.lines[0].unit, "MON");
		assert_int_equal(inv.vat_cents, cg_vat_of(price[i], 700));
		cg_invoice_free(&inv);
	}
	cg_invoices_free(v, n);
	fixture_free(f);
}

static void
test_run_bills_each_entry_once_and_skips_incomplete_buyers(void **state)
{
	struct fixture *f = setup();
	buyer(f, "carol@example.org", 0);
	log_time(f, "1.5", NULL, "2025-11-03");
	log_time(f, "0.25", NULL, "2025-11-04");
	log_time(f, "2", "carol@example.org", "2025-11-05");
	log_time(f, "3", NULL, "2025-12-01"); /* next month */
	int issued, skipped;
	assert_int_equal(run(f, "2025-11", &issued, &skipped), CG_BILL_BAD);
	assert_int_equal(issued, 1);
	assert_int_equal(skipped, 1);
	assert_int_equal(run(f, "2025-11", &issued, &skipped), CG_BILL_BAD);
	assert_int_equal(issued, 0); /* a second run issues nothing new */
	struct cg_invoice *v;
	size_t n;
	assert_int_equal(cg_store_invoice_list(f->gw.store, NULL, &v, &n), 0);
	assert_int_equal(n, 1);
	struct cg_invoice inv;
	load(f, v[0].number, &inv);
	assert_int_equal(inv.nlines, 2);
	/* 1.5 x 80.00 + 0.25 x 80.00 = 140.00; VAT 19 % = 26.60 */
	assert_int_equal(inv.net_cents, 14000);
	assert_int_equal(inv.vat_cents, 2660);
	assert_int_equal(inv.gross_cents, 16660);
	assert_string_equal(inv.buyer_party.email, "bob@example.org");
	assert_string_equal(inv.period_start, "2025-11-01");
	assert_string_equal(inv.period_end, "2025-11-30");
	/* the mail and its outbox row were written with it */
	struct cg_outbox_row *rows;
	size_t nrows;
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email",
	                                     cg_now_ms() + 1000, 100, &rows,
	                                     &nrows),
	                 0);
	assert_int_equal(nrows, 1);
	assert_string_equal(rows[0].destination, "bob@example.org");
	int64_t iid;
	char *asset;
	assert_int_equal(cg_store_notice_invoice(f->gw.store, rows[0].notice_id,
	                                         &iid, &asset),
	                 1);
	assert_int_equal(iid, inv.id);
	cg_outbox_rows_free(rows, nrows);
	cg_invoice_free(&inv);
	cg_invoices_free(v, n);
	fixture_free(f);
}

/* A raw connection to the fixture's database, as another program. */
static sqlite3 *
raw_db(struct fixture *f)
{
	char *path = cg_asprintf("%s/coopgate.db", f->dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	free(path);
	return db;
}

static void
test_store_refuses_to_change_issued_invoices(void **state)
{
	struct fixture *f = setup();
	log_time(f, "1", NULL, "2025-11-03");
	int issued, skipped;
	assert_int_equal(run(f, "2025-11", &issued, &skipped), 0);
	sqlite3 *db = raw_db(f);
	const char *sql[] = {
	    "UPDATE invoice SET gross_cents = 1",
	    "DELETE FROM invoice",
	    "UPDATE invoice_line SET price_cents = 1",
	    "DELETE FROM invoice_line",
	    "UPDATE invoice_party SET iban = 'x'",
	    "DELETE FROM invoice_party",
	};
	for (size_t i = 0; i < sizeof sql / sizeof *sql; i++) {
		char *msg = NULL;
		assert_int_not_equal(sqlite3_exec(db, sql[i], NULL, NULL, &msg),
		                     SQLITE_OK);
		assert_non_null(strstr(msg, "issued invoices never change"));
		sqlite3_free(msg);
	}
	sqlite3_close(db);
	fixture_free(f);
}

static void
test_cancel_issues_a_credit_note_referencing_the_invoice(void **state)
{
	struct fixture *f = setup();
	log_time(f, "2", NULL, "2025-11-03");
	int issued, skipped;
	assert_int_equal(run(f, "2025-11", &issued, &skipped), 0);
	struct cg_invoice *v;
	size_t n;
	assert_int_equal(cg_store_invoice_list(f->gw.store, NULL, &v, &n), 0);
	char *number = cg_strdup(v[0].number), *credit = NULL, *err = NULL;
	cg_invoices_free(v, n);
	assert_int_equal(
	    cg_billing_cancel(&f->gw, number, "wrong hours", &credit, &err),
	    CG_BILL_OK);
	struct cg_invoice cn;
	load(f, credit, &cn);
	assert_int_equal(cn.type_code, 381);
	assert_string_equal(cn.cancels_number, number);
	assert_int_equal(cn.gross_cents, 19040);
	assert_non_null(strstr((char *)cn.xml, "<cac:BillingReference>"));
	/* the next number of the series, no gap */
	assert_int_equal(atoi(strrchr(credit, '-') + 1),
	                 atoi(strrchr(number, '-') + 1) + 1);
	/* twice, a credit note, an unknown number: refused */
	char *c2 = NULL;
	assert_int_equal(cg_billing_cancel(&f->gw, number, "x", &c2, &err),
	                 CG_BILL_BAD);
	free(err);
	assert_int_equal(cg_billing_cancel(&f->gw, credit, "x", &c2, &err),
	                 CG_BILL_BAD);
	free(err);
	assert_int_equal(
	    cg_billing_cancel(&f->gw, "EX-1999-0001", "x", &c2, &err),
	    CG_BILL_BAD);
	free(err);
	cg_invoice_free(&cn);
	free(credit);
	free(number);
	fixture_free(f);
}

/* Child: its own store connection, one run, exit 0 on success. */
static void
child_run(struct fixture *f, const char *period)
{
	struct cg_gateway gw = f->gw;
	char *err = NULL;
	if (cg_store_open(f->dir, 0, &gw.store, &err) != 0)
		_exit(2);
	int issued, skipped;
	int rc = cg_billing_run(&gw, period, 0, NULL, &issued, &skipped, &err);
	cg_store_close(gw.store);
	_exit(rc == CG_BILL_OK ? 0 : 1);
}

static void
test_two_processes_running_at_once_number_gaplessly(void **state)
{
	struct fixture *f = setup();
	enum { BUYERS = 25 };
	for (int i = 0; i < BUYERS; i++) {
		char *a = cg_asprintf("b%02d@example.org", i);
		buyer(f, a, 1);
		log_time(f, "1", a, "2025-10-02");
		log_time(f, "1.25", a, "2025-11-02");
		free(a);
	}
	pid_t p[4];
	const char *periods[] = {"2025-10", "2025-11", "2025-11", "2025-10"};
	for (int k = 0; k < 4; k++) {
		p[k] = fork();
		assert_true(p[k] >= 0);
		if (p[k] == 0)
			child_run(f, periods[k]);
	}
	for (int k = 0; k < 4; k++) {
		int st;
		assert_int_equal(waitpid(p[k], &st, 0), p[k]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	struct cg_invoice *v;
	size_t n;
	assert_int_equal(cg_store_invoice_list(f->gw.store, NULL, &v, &n), 0);
	assert_int_equal(n, 2 * BUYERS); /* each entry billed once */
	for (size_t i = 0; i < n; i++)   /* 1, 2, ... in order of issue */
		assert_int_equal(atoi(strrchr(v[i].number, '-') + 1), i + 1);
	cg_invoices_free(v, n);
	fixture_free(f);
}

/* The header block of a raw mail contains line. */
static void
has_header(const char *raw, const char *line)
{
	const char *end = strstr(raw, "\r\n\r\n");
	const char *p = strstr(raw, line);
	if (p == NULL || p > end)
		fail_msg("header missing: %s", line);
}

static void
test_invoice_mail_has_text_html_and_the_xml(void **state)
{
	struct fixture *f = setup();
	log_time(f, "1", NULL, "2025-11-03");
	int issued, skipped;
	assert_int_equal(run(f, "2025-11", &issued, &skipped), 0);
	struct cg_outbox_row *rows;
	size_t nrows;
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email",
	                                     cg_now_ms() + 1000, 10, &rows,
	                                     &nrows),
	                 0);
	assert_int_equal(nrows, 1);
	struct cg_notice no;
	assert_int_equal(
	    cg_store_notice_get(f->gw.store, rows[0].notice_id, &no), 0);
	char *raw = NULL, *err = NULL;
	size_t len;
	assert_int_equal(email_invoice_mail(&f->gw, &no, &raw, &len, &err), 1);
	has_header(raw, "From: \"Example eG\" <billing@lists.example.org>");
	has_header(raw, "Reply-To: office@example.org");
	has_header(raw, "To: bob@example.org");
	has_header(raw, "Subject: Invoice EX-");
	has_header(raw, "Auto-Submitted: auto-generated");
	assert_non_null(strstr(raw, "multipart/alternative"));
	assert_non_null(strstr(raw, "Content-Type: text/html"));
	assert_non_null(strstr(raw, ".xml\""));
	assert_non_null(strstr(raw, "Content-Type: application/xml"));
	free(raw);
	cg_notice_free(&no);
	cg_outbox_rows_free(rows, nrows);
	fixture_free(f);
}

/* check-config: billing errors name their line. */
static void
test_config_billing_errors_name_the_line(void **state)
{
	char path[] = "/tmp/cgbillconf.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static const char text[] =
	    "gateway = { domain = \"lists.example.org\"; data_dir = \"/tmp\"; "
	    "};\n"
	    "billing = {\n"
	    "  sellers = ( { code = \"coop\"; name = \"Example eG\";\n" /* 3 */
	    "      street = \"Hauptstr. 1\"; postcode = \"10115\"; city = "
	    "\"B\";\n"
	    "      country = \"DE\"; email = \"b@example.org\"; phone = "
	    "\"1\";\n"
	    "      contact = \"Office\";\n"
	    "      iban = \"DE03120300000000202051\"; } );\n" /* 7 */
	    "  rates = ( { code = \"DEV\"; name = \"Dev\"; price = "
	    "\"80.001\";\n"                   /* 8 */
	    "      seller = \"nope\"; } );\n" /* 9 */
	    "  plans = ( { code = \"P\"; name = \"Plan\"; price = \"10.00\";\n"
	    "      vat = \"19\"; seller = \"coop\"; } );\n"
	    "};\n";
	assert_int_equal(write(fd, text, sizeof text - 1),
	                 (ssize_t)(sizeof text - 1));
	close(fd);
	struct cg_config cfg;
	struct cg_config_errors errs;
	assert_int_equal(cg_config_load(path, &cfg, &errs), -1);
	const char *want[][2] = {
	    {"3", "neither vat_id nor tax_number"},
	    {"7", "is not a valid IBAN (checksum)"},
	    {"8", "is not an amount with at most two decimals"},
	    {"9", "is not the code of a seller"},
	};
	for (size_t w = 0; w < 4; w++) {
		int found = 0;
		for (size_t i = 0; i < errs.n; i++)
			found |= errs.v[i].line == atoi(want[w][0]) &&
			         strstr(errs.v[i].message, want[w][1]) != NULL;
		if (!found) {
			cg_config_errors_print(&errs, stderr);
			fail_msg("no error at line %s: %s", want[w][0],
			         want[w][1]);
		}
	}
	assert_int_equal(errs.n, 4);
	cg_config_errors_free(&errs);
	cg_config_free(&cfg);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_time_log_refuses_bad_input_and_changes_nothing),
	    cmocka_unit_test(test_subscription_bills_pro_rata_by_day),
	    cmocka_unit_test(
	        test_run_bills_each_entry_once_and_skips_incomplete_buyers),
	    cmocka_unit_test(test_store_refuses_to_change_issued_invoices),
	    cmocka_unit_test(
	        test_cancel_issues_a_credit_note_referencing_the_invoice),
	    cmocka_unit_test(
	        test_two_processes_running_at_once_number_gaplessly),
	    cmocka_unit_test(test_invoice_mail_has_text_html_and_the_xml),
	    cmocka_unit_test(test_config_billing_errors_name_the_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
