/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Growing text buffers for building statement parameters: PostgreSQL array
 * literals ({"a","b",NULL}) that a statement unnests into rows, and small
 * JSON objects for the detail column of events.  Allocation failures are
 * sticky: the buffer remembers them and coll_buf_take() returns NULL.
 */
#ifndef COLL_SQLBUF_H
#define COLL_SQLBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct coll_buf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
};

void coll_buf_putn(struct coll_buf *b, const char *s, size_t n);
void coll_buf_puts(struct coll_buf *b, const char *s);
void coll_buf_printf(struct coll_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Decimal integers, without printf. */
void coll_buf_u64(struct coll_buf *b, uint64_t v);
void coll_buf_i64(struct coll_buf *b, int64_t v);
/* Returns the NUL-terminated text (the caller frees it) and resets <b>;
 * NULL when an allocation failed along the way. */
char *coll_buf_take(struct coll_buf *b);
void coll_buf_free(struct coll_buf *b);

/* An array literal under construction. */
struct coll_arr {
	struct coll_buf b;
	size_t n;
};

void coll_arr_str(struct coll_arr *a, const char *s);   /* NULL: SQL NULL */
void coll_arr_u64(struct coll_arr *a, uint64_t v);
void coll_arr_i64(struct coll_arr *a, int64_t v);
void coll_arr_bool(struct coll_arr *a, bool v);
/* Array literal of the strings <v>, as one text value (for text[][]-like
 * nesting: the outer array holds it as an element). */
void coll_arr_strv(struct coll_arr *a, char *const *v, size_t n);
/* Appends the <n> elements of the array literal <lit> ("{...}", as
 * coll_arr_take returns it), so that the literals of several batches make
 * one.  A <lit> that is not such a literal of at least one element makes
 * the array fail like an allocation (coll_arr_take returns NULL). */
void coll_arr_cat(struct coll_arr *a, const char *lit, size_t n);
/* Appends <s> <n> times. */
void coll_arr_repeat(struct coll_arr *a, const char *s, size_t n);
char *coll_arr_take(struct coll_arr *a);

/* JSON object writer: coll_json_begin, fields, coll_json_end. */
void coll_json_begin(struct coll_buf *b);
void coll_json_str(struct coll_buf *b, const char *key, const char *val);
void coll_json_bytes(struct coll_buf *b, const char *key, const uint8_t *p,
		     size_t n);
/* A JSON array of strings (NULL elements become ""). */
void coll_json_strv(struct coll_buf *b, const char *key, char *const *v,
		    size_t n);
void coll_json_u64(struct coll_buf *b, const char *key, uint64_t v);
void coll_json_i64(struct coll_buf *b, const char *key, int64_t v);
void coll_json_f64(struct coll_buf *b, const char *key, double v);
void coll_json_end(struct coll_buf *b);

#endif
