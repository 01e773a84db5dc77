/*
 * log.h: one logging entry point.  `run --foreground` logs to stderr with a
 * timestamp and level; otherwise to syslog (facility mail).  Never pass a
 * secret to these functions: config secrets are held in struct cg_config and
 * no code formats them.
 */
#ifndef CG_LOG_H
#define CG_LOG_H

enum cg_log_level { CG_LOG_ERROR, CG_LOG_WARN, CG_LOG_INFO, CG_LOG_DEBUG };

void cg_log_open(int to_stderr, enum cg_log_level level);
void cg_log_set_level(enum cg_log_level level);
int cg_log_level_parse(const char *s, enum cg_log_level *out); /* 0 ok */
void cg_log(enum cg_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define cg_error(...) cg_log(CG_LOG_ERROR, __VA_ARGS__)
#define cg_warn(...) cg_log(CG_LOG_WARN, __VA_ARGS__)
#define cg_info(...) cg_log(CG_LOG_INFO, __VA_ARGS__)
#define cg_debug(...) cg_log(CG_LOG_DEBUG, __VA_ARGS__)

#endif
