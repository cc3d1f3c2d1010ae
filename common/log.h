/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One-line key=value logging shared by every parallax binary.
 *
 *   level=warn ts=2026-12-03T18:20:01.123Z mod=scan msg="entry skipped" path=/srv/a.war
 *
 * Lines go to stderr.  The macros test the level before evaluating their
 * arguments, so a debug line with expensive arguments costs one branch when
 * debug is off.  The message is a fixed string; the optional fields are a
 * printf format of "key=value" pairs.  Quote values that may hold spaces with
 * px_q() or write them as key="%s".
 */
#ifndef PX_LOG_H
#define PX_LOG_H

#include <stdbool.h>

enum px_log_level {
	PX_LOG_ERROR = 0,
	PX_LOG_WARN = 1,
	PX_LOG_INFO = 2,
	PX_LOG_DEBUG = 3,
};

extern int px_log_threshold;

/* Sets the threshold from "error", "warn", "info" or "debug"; -EINVAL if
 * the name is none of those. */
int px_log_set_level(const char *name);

static inline bool px_log_enabled(enum px_log_level lvl)
{
	return (int)lvl <= px_log_threshold;
}

void px_log_emit(enum px_log_level lvl, const char *mod, const char *msg,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define PX_LOG(lvl, mod, msg, ...)                                           \
	do {                                                                 \
		if (px_log_enabled(lvl))                                     \
			px_log_emit(lvl, mod, msg, "" __VA_ARGS__);          \
	} while (0)

#define px_error(mod, msg, ...) PX_LOG(PX_LOG_ERROR, mod, msg, __VA_ARGS__)
#define px_warn(mod, msg, ...) PX_LOG(PX_LOG_WARN, mod, msg, __VA_ARGS__)
#define px_info(mod, msg, ...) PX_LOG(PX_LOG_INFO, mod, msg, __VA_ARGS__)
#define px_debug(mod, msg, ...) PX_LOG(PX_LOG_DEBUG, mod, msg, __VA_ARGS__)

/*
 * Returns <s> as a quoted log value ("a b" with \" and \\ escaped, control
 * characters as \xNN), in one of a few rotating thread-local buffers, so up
 * to four px_q() may appear in one log call.  Long values are cut with "...".
 */
const char *px_q(const char *s);

#endif
