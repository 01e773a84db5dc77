/*
 * trim_tables.h: what mail clients write around a reply, as data.  The
 * trimmer (trim.c) and the HTML reader (html_text.c) only walk these
 * tables; a client or a language is added here, not as a new branch in
 * code.  Every table ends with an entry whose first field is NULL.
 * Strings are UTF-8 and matched ASCII-case-insensitively (so a table
 * lists the forms a client really writes for non-Latin scripts).
 */
#ifndef EMAIL_TRIM_TABLES_H
#define EMAIL_TRIM_TABLES_H

/* Words of an attribution line ("On <date>, <name> wrote:"). */
extern const char *const trim_attribution_verbs[];
/* Words an attribution line begins with ("On", "Am", "Le", ...). */
extern const char *const trim_attribution_openers[];

/* The fields of a quoted header block (Outlook, GMX, Yahoo, ...). */
enum trim_field {
	TRIM_FIELD_FROM,
	TRIM_FIELD_DATE,
	TRIM_FIELD_TO,
	TRIM_FIELD_CC,
	TRIM_FIELD_SUBJECT,
};
struct trim_label {
	const char *label; /* without the colon: "Von", "Objet" */
	enum trim_field field;
};
extern const struct trim_label trim_header_labels[];

/* Phrases of a separator line ("-----Original Message-----"). */
extern const char *const trim_original_markers[];
/* Phrases of a forward marker: what follows is kept, not cut. */
extern const char *const trim_forward_markers[];

/* A mobile or webmail signature line: begins with prefix and, when word
 * is set, contains word too ("Von meinem ..." + "gesendet"). */
struct trim_signature {
	const char *prefix;
	const char *word;
};
extern const struct trim_signature trim_signatures[];
/* Any short line holding one of each of these two is a signature too
 * ("iPhone" + "送信"): the languages the table above does not list. */
extern const char *const trim_signature_devices[];
extern const char *const trim_signature_sent[];

/* HTML elements that mark quotes and signatures. */
enum trim_html_kind {
	TRIM_HTML_QUOTE,      /* its content is quoted (a <div>) */
	TRIM_HTML_QUOTE_REST, /* it and everything after it is quoted */
	TRIM_HTML_SIGNATURE,  /* a signature block starts here */
};
struct trim_html_marker {
	const char *tag;   /* element name */
	const char *attr;  /* "class" (one of its words), "id", "type" */
	const char *value; /* what that attribute holds */
	enum trim_html_kind kind;
};
extern const struct trim_html_marker trim_html_markers[];

#endif
