/*
 * render.c: a report (report.h) as text/plain and as text/html, its mail
 * subject and its short summary for the room.
 *
 * Text: the `Key: value` headline lines, a blank line, then the body:
 * the definitions, then each section as an aligned table, a bar column
 * drawn with Unicode blocks (eighths).  HTML: the same figures as tables;
 * bars are inline-styled boxes (mail clients drop <style> and scripts);
 * no script, no external resource, every text escaped.
 * Must never: put report text into HTML unescaped.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "reports/report.h"
#include "store/search.h"

#define BAR_CELLS 30 /* the widest text bar, in characters */
#define BAR_PX 240   /* the widest HTML bar, in pixels */
#define CELL_MAX 48  /* a text cell is cut (with "...") beyond this */

/* Characters (code points) of a UTF-8 string. */
static size_t
width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Append s cut to at most max characters, padded to pad characters. */
static void
put_cell(struct cg_buf *b, const char *s, size_t max, size_t pad)
{
	size_t w = 0;
	const char *p = s;
	for (; *p; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80 && ++w > max)
			break;
	}
	if (*p) { /* cut: room for "..." */
		size_t keep = 0, chars = 0;
		for (const char *q = s; *q; q++) {
			if (((unsigned char)*q & 0xc0) != 0x80 &&
			    ++chars > max - 3)
				break;
			keep++;
		}
		cg_buf_add(b, s, keep);
		cg_buf_puts(b, "...");
		w = max;
	} else {
		cg_buf_puts(b, s);
		w = width(s);
	}
	for (; w < pad; w++)
		cg_buf_putc(b, ' ');
}

static int64_t
bar_max(const struct cg_report_section *s)
{
	int64_t max = 0;
	for (size_t r = 0; s->bar_col >= 0 && r < s->nrows; r++) {
		int64_t v = strtoll(s->cells[r * s->ncols + (size_t)s->bar_col],
		                    NULL, 10);
		if (v > max)
			max = v;
	}
	return max;
}

/* A bar of value/max of BAR_CELLS cells, in eighths. */
static void
text_bar(struct cg_buf *b, int64_t value, int64_t max)
{
	static const char *const EIGHTHS[] = {"",  "▏", "▎", "▍",
	                                      "▌", "▋", "▊", "▉"};
	int64_t e = max > 0 ? value * BAR_CELLS * 8 / max : 0;
	if (value > 0 && e == 0)
		e = 1;
	for (int64_t i = 0; i < e / 8; i++)
		cg_buf_puts(b, "█");
	cg_buf_puts(b, EIGHTHS[e % 8]);
	cg_buf_putc(b, ' ');
}

static void
text_section(struct cg_buf *b, const struct cg_report_section *s)
{
	cg_buf_printf(b, "\n%s\n", s->title);
	if (s->nrows == 0) {
		cg_buf_printf(b, "  (%s)\n", s->empty);
		return;
	}
	size_t *w = cg_calloc(s->ncols, sizeof *w);
	for (size_t c = 0; c < s->ncols; c++) {
		w[c] = width(s->cols[c]);
		for (size_t r = 0; r < s->nrows; r++) {
			size_t x = width(s->cells[r * s->ncols + c]);
			w[c] = x > w[c] ? x : w[c];
		}
		w[c] = w[c] > CELL_MAX ? CELL_MAX : w[c];
	}
	int64_t max = bar_max(s);
	cg_buf_puts(b, " ");
	for (size_t c = 0; c < s->ncols; c++) {
		cg_buf_puts(b, " ");
		put_cell(b, s->cols[c], CELL_MAX, c + 1 < s->ncols ? w[c] : 0);
	}
	cg_buf_puts(b, "\n");
	for (size_t r = 0; r < s->nrows; r++) {
		cg_buf_puts(b, " ");
		for (size_t c = 0; c < s->ncols; c++) {
			const char *v = s->cells[r * s->ncols + c];
			cg_buf_puts(b, " ");
			if ((int)c == s->bar_col)
				text_bar(b, strtoll(v, NULL, 10), max);
			put_cell(b, v, CELL_MAX, c + 1 < s->ncols ? w[c] : 0);
		}
		cg_buf_puts(b, "\n");
	}
	free(w);
}

char *
cg_report_text(const struct cg_report *r)
{
	struct cg_buf b = CG_BUF_INIT;
	for (size_t i = 0; i < r->nhead; i++)
		cg_buf_printf(&b, "%s: %s\n", r->head[i].key, r->head[i].value);
	cg_buf_puts(&b, "\nDefinitions:\n");
	for (size_t i = 0; i < r->ndefs; i++)
		cg_buf_printf(&b, "- %s\n", r->defs[i]);
	for (size_t i = 0; i < r->nsec; i++)
		text_section(&b, &r->sec[i]);
	return cg_buf_steal(&b);
}

/* ---- HTML ---- */

static void
esc(struct cg_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<':
			cg_buf_puts(b, "&lt;");
			break;
		case '>':
			cg_buf_puts(b, "&gt;");
			break;
		case '&':
			cg_buf_puts(b, "&amp;");
			break;
		case '"':
			cg_buf_puts(b, "&quot;");
			break;
		case '\'':
			cg_buf_puts(b, "&#39;");
			break;
		default:
			cg_buf_putc(b, *s);
		}
	}
}

static const char TD[] = "<td style=\"border:1px solid #ccc;padding:2px 8px\">";
static const char TH[] = "<th style=\"border:1px solid #ccc;padding:2px "
                         "8px;text-align:left;background:#f3f3f3\">";
static const char TABLE[] = "<table style=\"border-collapse:collapse;"
                            "margin:0 0 16px 0\">\n";

static void
html_bar(struct cg_buf *b, int64_t value, int64_t max)
{
	int64_t px = max > 0 ? value * BAR_PX / max : 0;
	if (value > 0 && px == 0)
		px = 1;
	cg_buf_printf(b,
	              "<span style=\"display:inline-block;height:10px;"
	              "width:%lldpx;background:#2e7d5b;"
	              "margin-right:6px\"></span>",
	              (long long)px);
}

static void
html_section(struct cg_buf *b, const struct cg_report_section *s)
{
	cg_buf_puts(b, "<h2 style=\"font-size:16px\">");
	esc(b, s->title);
	cg_buf_puts(b, "</h2>\n");
	if (s->nrows == 0) {
		cg_buf_puts(b, "<p>");
		esc(b, s->empty);
		cg_buf_puts(b, "</p>\n");
		return;
	}
	int64_t max = bar_max(s);
	cg_buf_puts(b, TABLE);
	cg_buf_puts(b, "<tr>");
	for (size_t c = 0; c < s->ncols; c++) {
		cg_buf_puts(b, TH);
		esc(b, s->cols[c]);
		cg_buf_puts(b, "</th>");
	}
	cg_buf_puts(b, "</tr>\n");
	for (size_t r = 0; r < s->nrows; r++) {
		cg_buf_puts(b, "<tr>");
		for (size_t c = 0; c < s->ncols; c++) {
			const char *v = s->cells[r * s->ncols + c];
			cg_buf_puts(b, TD);
			if ((int)c == s->bar_col)
				html_bar(b, strtoll(v, NULL, 10), max);
			esc(b, v);
			cg_buf_puts(b, "</td>");
		}
		cg_buf_puts(b, "</tr>\n");
	}
	cg_buf_puts(b, "</table>\n");
}

char *
cg_report_html(const struct cg_report *r)
{
	struct cg_buf b = CG_BUF_INIT;
	char *subject = cg_report_subject(r);
	cg_buf_puts(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	                "<title>");
	esc(&b, subject);
	cg_buf_puts(&b, "</title></head>\n<body style=\"font-family:sans-serif;"
	                "font-size:14px;color:#222\">\n<h1 style=\"font-size:"
	                "20px\">");
	esc(&b, subject);
	cg_buf_puts(&b, "</h1>\n");
	cg_buf_puts(&b, TABLE);
	for (size_t i = 0; i < r->nhead; i++) {
		cg_buf_printf(&b, "<tr>%s", TH);
		esc(&b, r->head[i].key);
		cg_buf_printf(&b, "</th>%s", TD);
		esc(&b, r->head[i].value);
		cg_buf_puts(&b, "</td></tr>\n");
	}
	cg_buf_puts(&b, "</table>\n");
	for (size_t i = 0; i < r->nsec; i++)
		html_section(&b, &r->sec[i]);
	cg_buf_puts(&b,
	            "<h2 style=\"font-size:16px\">Definitions</h2>\n<ul>\n");
	for (size_t i = 0; i < r->ndefs; i++) {
		cg_buf_puts(&b, "<li>");
		esc(&b, r->defs[i]);
		cg_buf_puts(&b, "</li>\n");
	}
	cg_buf_puts(&b, "</ul>\n</body></html>\n");
	free(subject);
	return cg_buf_steal(&b);
}

char *
cg_report_subject(const struct cg_report *r)
{
	return cg_asprintf("Report %s: %s, %s", r->kind, r->channel,
	                   r->period.label);
}

char *
cg_report_summary(const struct cg_report *r)
{
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_printf(&b, "Report %s (%s, %s):", r->kind, r->channel,
	              r->period.label);
	/* The first three headline lines are Report, Channel, Period. */
	for (size_t i = 3; i < r->nhead && i < 7; i++)
		cg_buf_printf(&b, "%s %s: %s", i > 3 ? "," : "", r->head[i].key,
		              r->head[i].value);
	if (r->attention)
		cg_buf_printf(&b, "\nNeeds attention: %s", r->attention);
	return cg_buf_steal(&b);
}

char *
cg_search_text(const struct cg_search_hit *h, size_t n)
{
	struct cg_buf b = CG_BUF_INIT;
	if (n == 0)
		cg_buf_puts(&b, "No message found.\n");
	for (size_t i = 0; i < n; i++) {
		char day[11];
		cg_report_date(h[i].date, day);
		cg_buf_printf(&b, "%zu. [%s] %s - %s (%s, %s)\n   %s\n", i + 1,
		              h[i].channel ? h[i].channel : "?",
		              h[i].thread_subject ? h[i].thread_subject
		                                  : "(no subject)",
		              h[i].author ? h[i].author : "?",
		              h[i].network ? h[i].network : "?", day,
		              h[i].snippet ? h[i].snippet : "");
	}
	return cg_buf_steal(&b);
}
