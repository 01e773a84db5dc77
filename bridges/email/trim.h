/*
 * trim.h: the part of a mail worth showing in a chat room.  Removes quoted
 * text, attribution lines ("On ... wrote:" and its translations), Outlook
 * "Original Message" tails, signatures and mobile-client signatures.
 */
#ifndef EMAIL_TRIM_H
#define EMAIL_TRIM_H

/*
 * text: UTF-8 mail body (LF or CRLF line ends), NULL is taken as "".
 * Returns a malloc'd trimmed copy (caller frees), LF line ends, no blank
 * lines at either end.  Never empty for a text with any non-blank line:
 * when trimming leaves nothing (an all-quoted mail), the text minus its
 * signature is returned, and failing that the text itself.
 */
char *email_trim(const char *text);

#endif
