/*
 * trim.h: the part of a mail worth showing in a chat room: the author's
 * new text.  Removes the quoted original and its attribution line ("On
 * ... wrote:" and its translations, wrapped or not), header blocks and
 * "Original Message" tails, signatures and phone signatures; keeps the
 * quotes an inline answer answers.  The rules are in trim.c, the words
 * of each client and language in trim_tables.c.
 */
#ifndef EMAIL_TRIM_H
#define EMAIL_TRIM_H

/*
 * text: UTF-8 mail body (LF or CRLF line ends; HTML already made text by
 * html_text.c), NULL is taken as "".  Returns a malloc'd trimmed copy
 * (caller frees): LF line ends, no trailing blanks on a line, no blank
 * lines at either end.  "" for a mail that is nothing but quotes (nothing
 * new for the room); a mail with no quote at all that trimming would
 * empty (only a signature) is returned whole.  Linear in the text's size.
 */
char *email_trim(const char *text);

#endif
