/*
 * html_text.h: an HTML mail body as the plain text a reader would see.
 * Paragraphs and line breaks become newlines, <blockquote> and the quote
 * containers mail clients write (trim_tables.c: Gmail, Thunderbird,
 * Apple Mail, Outlook, Yahoo) become "> " lines, a client's signature
 * block is set off by a "--" line, links keep their address when their
 * text does not show it.  Pure function: no network, no store.
 */
#ifndef EMAIL_HTML_TEXT_H
#define EMAIL_HTML_TEXT_H

#include <stddef.h>

/* HTML (UTF-8, len bytes, need not be NUL-terminated) to readable plain
 * text: LF line ends, no trailing blanks on a line, at most one blank
 * line in a row, none at either end.  Linear in len.  Caller frees. */
char *email_html_to_text(const char *html, size_t len);

#endif
