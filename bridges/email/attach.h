/*
 * attach.h: the files of stored messages as the email bridge sends them.
 * A file goes as an attachment when its bytes are at hand (SchutzBox blob,
 * decrypted in memory only, or the bytes of an old row) and it is within
 * smtp.max_attachment_size; every other file becomes one line for the
 * body, after the text:
 *   [File: NAME (SIZE): URL]                       a link instead
 *   [File: NAME (SIZE) not attached: over this list's limit of 10 MB]
 *   [File: NAME (SIZE) not passed on: NOTE]        refused, or no link
 * (SIZE only when known).  Loop thread only: it reads the store and the
 * SchutzBox.
 */
#ifndef EMAIL_ATTACH_H
#define EMAIL_ATTACH_H

#include <stddef.h>
#include <stdint.h>

struct cg_gateway;
struct cg_attachment;
struct cg_buf;

/* The files to attach to one mail; owns everything it holds. */
struct email_files {
	struct cg_attachment *att;
	size_t natt;
};

/*
 * Add the files of stored message `message_id` to f, and a "[File: ...]"
 * line (LF-terminated) per file that is not attached to lines.  `text` is
 * the message's text: when it is nothing but a file's URL (a link shared
 * in the room), that file's link line is left out, as the text already
 * shows it.  Returns 0, or -1 with *err (caller frees, naming the message
 * and file or blob) when the store or the SchutzBox could not give a file:
 * the mail must wait and be tried again, never go without it.
 */
int email_files_add(struct cg_gateway *gw, int64_t message_id, int64_t max_size,
                    const char *text, struct email_files *f,
                    struct cg_buf *lines, char **err);
void email_files_free(struct email_files *f);

/*
 * One "[File: NAME (SIZE)TAIL]" line, LF-terminated, added to lines: SIZE
 * (cg_size_text) only when size > 0; tail starts with ':' or ' '.  Every
 * "[File: ...]" line the bridge writes (mail and digest) is made here.
 */
void email_file_line(struct cg_buf *lines, const char *name, int64_t size,
                     const char *tail);

#endif
