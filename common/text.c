// SPDX-License-Identifier: Apache-2.0
/*
 * UTF-8 repair and JSON string quoting shared by every binary (text.h).
 */
#include "text.h"

#include <stdlib.h>
#include <string.h>

size_t px_utf8_seq_len(const unsigned char *s)
{
	unsigned int cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

char *px_utf8_fix(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	char *out = malloc(2 * strlen(str) + 1);
	size_t n, o = 0;

	if (out == NULL)
		return NULL;
	while (*s != '\0') {
		n = px_utf8_seq_len(s);
		if (n > 0) {
			memcpy(out + o, s, n);
			o += n;
			s += n;
			continue;
		}
		out[o++] = (char)(0xc0 | (*s >> 6));
		out[o++] = (char)(0x80 | (*s & 0x3f));
		s++;
	}
	out[o] = '\0';
	return out;
}

void px_json_str(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t n;

	fputc('"', out);
	while (*s != '\0') {
		n = px_utf8_seq_len(s);
		if (n > 1) {
			fwrite(s, 1, n, out);
			s += n;
			continue;
		}
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '\t')
			fputs("\\t", out);
		else if (*s == '\r')
			fputs("\\r", out);
		else if (*s < 0x20 || *s == 0x7f || n == 0)
			fprintf(out, "\\u%04x", *s);
		else
			fputc(*s, out);
		s++;
	}
	fputc('"', out);
}
