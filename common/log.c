// SPDX-License-Identifier: Apache-2.0
/*
 * The key=value log writer behind the px_* macros in log.h.  One line per
 * call, written with a single fwrite so lines from several threads do not
 * interleave.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int px_log_threshold = PX_LOG_INFO;

static const char *const level_names[] = {
	[PX_LOG_ERROR] = "error",
	[PX_LOG_WARN] = "warn",
	[PX_LOG_INFO] = "info",
	[PX_LOG_DEBUG] = "debug",
};

int px_log_set_level(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++) {
		if (strcmp(name, level_names[i]) == 0) {
			px_log_threshold = (int)i;
			return 0;
		}
	}
	return -EINVAL;
}

void px_log_emit(enum px_log_level lvl, const char *mod, const char *msg,
		 const char *fmt, ...)
{
	char line[4096];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	r = snprintf(line, sizeof(line),
		     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s mod=%s msg=%s",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		     level_names[lvl], mod, px_q(msg));
	n = r < 0 ? 0 : (size_t)r;
	if (fmt[0] != '\0' && n + 1 < sizeof(line)) {
		va_list ap;

		line[n++] = ' ';
		va_start(ap, fmt);
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}

const char *px_q(const char *s)
{
	static __thread char bufs[4][512];
	static __thread unsigned next;
	char *out = bufs[next++ % 4];
	size_t cap = sizeof(bufs[0]), o = 0;

	if (s == NULL)
		s = "";
	out[o++] = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (o + 8 >= cap) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}
