/* SPDX-License-Identifier: Apache-2.0 */
/*
 * YARA rules as an optional malware check (--yara-rules FILE); see yara.c.
 */
#ifndef PX_SCAN_YARA_RULES_H
#define PX_SCAN_YARA_RULES_H

#include <stddef.h>

#include "scan.h"

struct scan_yara;

/* Compiles the rules in <path>; NULL with the reason in <err>, also when
 * built without libyara. */
struct scan_yara *scan_yara_load(const char *path, char *err, size_t errlen);
void scan_yara_free(struct scan_yara *y);
int scan_yara_count(const struct scan_yara *y);

/* Matches <file> against the rules and reports each matching rule. */
void yara_scan_file(struct scan_ctx *ctx, struct scan_file *file);

#endif
