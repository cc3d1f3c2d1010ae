// SPDX-License-Identifier: Apache-2.0
/*
 * Text builders for statement parameters (see sqlbuf.h).  Array elements are
 * always written quoted, with '"' and '\' escaped, which the array input
 * function of every element type accepts.
 */
#include "sqlbuf.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct coll_buf *b, size_t more)
{
	size_t want = b->len + more + 1;
	char *p;

	if (b->oom)
		return false;
	if (want <= b->cap)
		return true;
	if (want < 2 * b->cap)
		want = 2 * b->cap;
	if (want < 64)
		want = 64;
	p = realloc(b->p, want);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = want;
	return true;
}

void coll_buf_putn(struct coll_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void coll_buf_puts(struct coll_buf *b, const char *s)
{
	coll_buf_putn(b, s, strlen(s));
}

void coll_buf_printf(struct coll_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *coll_buf_take(struct coll_buf *b)
{
	char *p = b->p;

	if (b->oom || !reserve(b, 0)) {
		coll_buf_free(b);
		return NULL;
	}
	p = b->p;
	memset(b, 0, sizeof(*b));
	return p;
}

void coll_buf_free(struct coll_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- array literals ---------------------------------------------------- */

static void arr_sep(struct coll_arr *a)
{
	coll_buf_puts(&a->b, a->n++ == 0 ? "{" : ",");
}

static void quote_into(struct coll_buf *b, const char *s)
{
	coll_buf_putn(b, "\"", 1);
	for (const char *p = s; *p != '\0'; p++) {
		size_t run = strcspn(p, "\"\\");

		coll_buf_putn(b, p, run);
		p += run;
		if (*p == '\0')
			break;
		coll_buf_putn(b, "\\", 1);
		coll_buf_putn(b, p, 1);
	}
	coll_buf_putn(b, "\"", 1);
}

void coll_arr_str(struct coll_arr *a, const char *s)
{
	arr_sep(a);
	if (s == NULL)
		coll_buf_puts(&a->b, "NULL");
	else
		quote_into(&a->b, s);
}

void coll_buf_u64(struct coll_buf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	coll_buf_putn(b, tmp + i, sizeof(tmp) - i);
}

void coll_buf_i64(struct coll_buf *b, int64_t v)
{
	if (v < 0) {
		coll_buf_putn(b, "-", 1);
		coll_buf_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		coll_buf_u64(b, (uint64_t)v);
	}
}

void coll_arr_u64(struct coll_arr *a, uint64_t v)
{
	arr_sep(a);
	coll_buf_u64(&a->b, v);
}

void coll_arr_i64(struct coll_arr *a, int64_t v)
{
	arr_sep(a);
	coll_buf_i64(&a->b, v);
}

void coll_arr_bool(struct coll_arr *a, bool v)
{
	arr_sep(a);
	coll_buf_puts(&a->b, v ? "t" : "f");
}

void coll_arr_strv(struct coll_arr *a, char *const *v, size_t n)
{
	struct coll_arr inner = { 0 };
	char *lit;

	for (size_t i = 0; i < n; i++)
		coll_arr_str(&inner, v[i] != NULL ? v[i] : "");
	lit = coll_arr_take(&inner);
	if (lit == NULL) {
		a->b.oom = true;
		return;
	}
	coll_arr_str(a, lit);
	free(lit);
}

void coll_arr_cat(struct coll_arr *a, const char *lit, size_t n)
{
	size_t len = strlen(lit);

	if (n == 0)
		return;
	if (len < 3 || lit[0] != '{' || lit[len - 1] != '}') {
		a->b.oom = true;        /* not one of ours: fail, never misalign */
		return;
	}
	coll_buf_puts(&a->b, a->n == 0 ? "{" : ",");
	coll_buf_putn(&a->b, lit + 1, len - 2);
	a->n += n;
}

void coll_arr_repeat(struct coll_arr *a, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		coll_arr_str(a, s);
}

char *coll_arr_take(struct coll_arr *a)
{
	if (a->n == 0)
		coll_buf_puts(&a->b, "{");
	coll_buf_puts(&a->b, "}");
	a->n = 0;
	return coll_buf_take(&a->b);
}

/* ---- JSON -------------------------------------------------------------- */

static void json_key(struct coll_buf *b, const char *key)
{
	if (b->len > 0 && b->p[b->len - 1] != '{')
		coll_buf_putn(b, ",", 1);
	coll_buf_putn(b, "\"", 1);
	coll_buf_puts(b, key);
	coll_buf_putn(b, "\":", 2);
}

/* Escapes for JSON; bytes >= 0x80 pass through (the text is UTF-8, and
 * PostgreSQL rejects the batch if it is not). */
static void json_quote(struct coll_buf *b, const char *s, size_t n)
{
	coll_buf_putn(b, "\"", 1);
	for (size_t i = 0; i < n;) {
		size_t run = 0;
		unsigned char c;

		while (i + run < n && (unsigned char)s[i + run] >= 0x20 &&
		       s[i + run] != '"' && s[i + run] != '\\')
			run++;
		coll_buf_putn(b, s + i, run);
		i += run;
		if (i == n)
			break;
		c = (unsigned char)s[i++];
		if (c == '"' || c == '\\')
			coll_buf_printf(b, "\\%c", c);
		else
			coll_buf_printf(b, "\\u%04x", c);
	}
	coll_buf_putn(b, "\"", 1);
}

void coll_json_begin(struct coll_buf *b)
{
	coll_buf_putn(b, "{", 1);
}

void coll_json_str(struct coll_buf *b, const char *key, const char *val)
{
	if (val == NULL || val[0] == '\0')
		return;
	json_key(b, key);
	json_quote(b, val, strlen(val));
}

void coll_json_bytes(struct coll_buf *b, const char *key, const uint8_t *p,
		     size_t n)
{
	if (n == 0)
		return;
	json_key(b, key);
	/* Arbitrary bytes: printable ASCII as is, the rest as the text
	 * "\xNN", so the value is valid JSON and valid jsonb (which refuses
	 * \u0000) whatever the payload. */
	coll_buf_putn(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			coll_buf_printf(b, "\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] >= 0x7f)
			coll_buf_printf(b, "\\\\x%02x", p[i]);
		else
			coll_buf_putn(b, (const char *)&p[i], 1);
	}
	coll_buf_putn(b, "\"", 1);
}

void coll_json_strv(struct coll_buf *b, const char *key, char *const *v,
		    size_t n)
{
	json_key(b, key);
	coll_buf_putn(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			coll_buf_putn(b, ",", 1);
		json_quote(b, v[i] != NULL ? v[i] : "",
			   v[i] != NULL ? strlen(v[i]) : 0);
	}
	coll_buf_putn(b, "]", 1);
}

void coll_json_u64(struct coll_buf *b, const char *key, uint64_t v)
{
	json_key(b, key);
	coll_buf_u64(b, v);
}

void coll_json_i64(struct coll_buf *b, const char *key, int64_t v)
{
	json_key(b, key);
	coll_buf_i64(b, v);
}

void coll_json_f64(struct coll_buf *b, const char *key, double v)
{
	json_key(b, key);
	if (isfinite(v))
		coll_buf_printf(b, "%.6g", v);
	else
		coll_buf_puts(b, "null");
}

void coll_json_end(struct coll_buf *b)
{
	coll_buf_putn(b, "}", 1);
}
