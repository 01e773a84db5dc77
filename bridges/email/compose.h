/*
 * compose.h: writing a mail the gateway sends to a list's members.  Builds
 * the whole RFC 5322 message (list headers per CONTRACT.md, UTF-8 text as
 * quoted-printable, attachments as base64) in one buffer, CRLF line ends,
 * header lines folded to at most 78 characters where the words allow.
 * Pure: no network; the SMTP sender is elsewhere.
 */
#ifndef EMAIL_COMPOSE_H
#define EMAIL_COMPOSE_H

#include <stddef.h>
#include <stdint.h>

struct cg_attachment;

struct email_compose_in {
	const char *list_addr;   /* "dev@lists.example.org" */
	const char *list_id;     /* "dev.lists.example.org" */
	const char *channel;     /* "dev" */
	const char *sender_name; /* "Alice Example"; NULL: sender_addr's
	                            local part */
	const char *sender_addr; /* real sender, goes to X-Original-From */
	const char *to;          /* To: value; NULL: list_addr */
	const char *subject;     /* UTF-8; NULL: no Subject header */
	const char *body;        /* UTF-8 text, LF or CRLF line ends */
	const char *html;        /* NULL, or the same as text/html: the text
	                            part becomes multipart/alternative */
	const char *message_id;  /* without <>; NULL: a random one */
	const char *in_reply_to; /* without <>, may be NULL */
	const char *const *refs; /* References, oldest first, without <> */
	size_t nrefs;
	const char *footer; /* appended after a blank line, may be NULL */
	const char *const *extra_headers; /* full "Name: value" lines, ASCII */
	size_t nextra;
	const struct cg_attachment *att;
	size_t natt;
	int auto_submitted; /* 0 none, 1 "auto-generated", 2 "auto-replied" */
	/* A direct message (a notice, RFC 3834), not a list post: From: is
	 * list_addr (named sender_name when that is set), no
	 * Reply-To/X-Original-From, no List-Post, List-Unsubscribe, List-Help
	 * or Precedence; List-Id only when list_id is set. */
	int direct;
	int64_t date; /* unix seconds; 0: now */
};

/*
 * The complete message, NUL-terminated, length in *len (len may be NULL).
 * Caller frees.  NULL when list_addr is missing or has no '@'.
 * References ends with in_reply_to when refs does not hold it already.
 * Extra headers holding CR, LF or no ':' are skipped.
 */
char *email_compose(const struct email_compose_in *in, size_t *len);

/*
 * utf8 as a header value: a copy when it is printable ASCII (and holds no
 * "=?"), else RFC 2047 "=?UTF-8?Q?...?=" words of at most 60 characters,
 * separated by single spaces (fold there).  Control characters become
 * spaces.  Caller frees; NULL in, NULL out.
 */
char *email_encode_header_words(const char *utf8);

/*
 * One chat message of a batched mail (several room lines as one mail),
 * appended to b: "Name: first line", every further line of the message
 * indented by EMAIL_CHAT_INDENT, so that only a speaker's line starts at
 * the margin and text inside a message cannot pass for another speaker.
 * A name the gateway cannot vouch for (verified 0: no name in the CRM,
 * the nick the speaker chose) starts with EMAIL_CHAT_UNVERIFIED.  Control
 * characters in the name become spaces.  Ends with one "\n".
 */
#define EMAIL_CHAT_INDENT "  "
#define EMAIL_CHAT_UNVERIFIED "[guest] "
struct cg_buf;
void email_chat_line(struct cg_buf *b, const char *name, int verified,
                     const char *text);
/* LF or CRLF text as quoted-printable lines (CRLF, soft breaks at 76),
 * appended to b (report_mail.c's parts). */
void email_compose_qp(struct cg_buf *b, const char *text);

#endif
