/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text that leaves a program: protobuf and JSON strings must be UTF-8, but
 * paths, command lines and archive entry names may hold any bytes but NUL.
 * Every byte that does not belong to a valid UTF-8 sequence is written as
 * the code point of the same value (0xfe becomes U+00FE), so the agent, the
 * scanner and the collector agree, and a consumer that needs the raw bytes
 * back can map U+0080..U+00FF to single bytes.  A name that really holds
 * those characters, validly encoded, reads the same: a known ambiguity.
 */
#ifndef PX_TEXT_H
#define PX_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* The length of the valid UTF-8 sequence at <s>, or 0 when the byte there
 * starts none (overlong forms, surrogates and code points past U+10FFFF
 * are invalid).  A NUL ends any sequence. */
size_t px_utf8_seq_len(const unsigned char *s);

/* A malloc'd copy of <s> that is valid UTF-8 as described above; NULL when
 * out of memory. */
char *px_utf8_fix(const char *s);

/* Writes <s> as a quoted JSON string, invalid bytes as "\u00XX". */
void px_json_str(FILE *out, const char *s);

#endif
