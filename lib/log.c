/*
 * log.c: stderr (foreground, with timestamp and level) or syslog.
 * Must never: format a secret (callers never pass one), or block the loop
 * for long (stderr is unbuffered lines; syslog is a datagram).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <sys/time.h>

#include "lib/log.h"

static int log_stderr = 1;
static enum cg_log_level log_level = CG_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
cg_log_open(int to_stderr, enum cg_log_level level)
{
	log_stderr = to_stderr;
	log_level = level;
	if (!to_stderr)
		openlog("coopgate", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
cg_log_set_level(enum cg_log_level level)
{
	log_level = level;
}

int
cg_log_level_parse(const char *s, enum cg_log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum cg_log_level)i;
			return 0;
		}
	return -1;
}

void
cg_log(enum cg_log_level level, const char *fmt, ...)
{
	if (level > log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (log_stderr) {
		char line[2048];
		struct timeval tv;
		struct tm tm;
		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		int n =
		    (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
		n += snprintf(line + n, sizeof line - (size_t)n, ".%03ld %-5s ",
		              (long)tv.tv_usec / 1000, level_names[level]);
		vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
		fprintf(stderr, "%s\n", line);
	} else {
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO,
		                           LOG_DEBUG};
		vsyslog(prio[level], fmt, ap);
	}
	va_end(ap);
}
