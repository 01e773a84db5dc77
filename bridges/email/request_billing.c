/*
 * request_billing.c: "time" and "buy" by mail (see request_billing.h).
 * Must never: act for anyone but the mail's (authenticated) sender.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bridges/email/request_billing.h"
#include "gateway/billing.h"
#include "gateway/gateway.h"
#include "lib/util.h"
#include "store/store.h"

static const char *
time_cmd(struct cg_gateway *gw, const char *sender, const char *arg,
         struct cg_buf *reply)
{
	size_t a = strcspn(arg, " \t");
	const char *r = arg + a;
	while (isspace((unsigned char)*r))
		r++;
	size_t b = strcspn(r, " \t");
	if (a == 0 || b == 0) {
		cg_buf_puts(reply,
		            "time: send \"time HOURS RATE_CODE [NOTE]\", "
		            "e.g. \"time 1.5 DEV pairing\".\n");
		return "time refused: usage";
	}
	char *hours = cg_strndup(arg, a), *rate = cg_strndup(r, b);
	const char *note = r + b;
	while (isspace((unsigned char)*note))
		note++;
	char *msg = NULL, *err = NULL;
	int rc = cg_billing_time_log(gw, sender, hours, rate, NULL, note, NULL,
	                             &msg, &err);
	if (rc == CG_BILL_OK)
		cg_buf_printf(reply, "time: recorded %s\n", msg);
	else
		cg_buf_printf(reply,
		              "time: refused: %s.  Nothing was "
		              "recorded.\n",
		              err);
	free(msg);
	free(err);
	free(hours);
	free(rate);
	return rc == CG_BILL_OK ? "time recorded" : "time refused";
}

static const char *
buy_cmd(struct cg_gateway *gw, const char *sender, const char *arg,
        struct cg_buf *reply)
{
	char *code = cg_strndup(arg, strcspn(arg, " \t"));
	int64_t id = 0; /* a store error: refused like an unknown sender */
	cg_store_contact_find(gw->store, CG_ID_EMAIL, sender, &id);
	char *msg = NULL, *err = NULL;
	int rc =
	    id == 0 ? CG_BILL_BAD : cg_billing_buy(gw, id, code, &msg, &err);
	if (rc == CG_BILL_OK)
		cg_buf_printf(reply, "buy %s: %s\n", code, msg);
	else
		cg_buf_printf(reply, "buy %s: refused: %s.\n", code,
		              err ? err : "only members may buy");
	free(msg);
	free(err);
	free(code);
	return rc == CG_BILL_OK ? "bought" : "buy refused";
}

const char *
email_billing_command(struct cg_gateway *gw, const char *sender, int buy,
                      const char *arg, struct cg_buf *reply)
{
	if (!gw->cfg->billing.present) {
		cg_buf_printf(reply, "%s: billing is not configured here.\n",
		              buy ? "buy" : "time");
		return "billing not configured";
	}
	return buy ? buy_cmd(gw, sender, arg, reply)
	           : time_cmd(gw, sender, arg, reply);
}
