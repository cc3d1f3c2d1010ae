// SPDX-License-Identifier: Apache-2.0
/*
 * YARA rules through libyara (optional at build time: without libyara,
 * --yara-rules is refused with a message saying so).  Rules are compiled
 * once from one file; every regular file is matched through its
 * descriptor, and each matching rule becomes a malware finding whose
 * signature is the rule's name and whose hash_kind is "yara".
 */
#include "yara_rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#ifdef PX_HAVE_YARA

#include <yara.h>

#define YARA_TIMEOUT_S 60

struct scan_yara {
	YR_RULES *rules;
	char *db;               /* the rules file's name */
	int count;
};

struct compile_err {
	char *buf;
	size_t len;
};

static void on_compile(int level, const char *file, int line,
		       const YR_RULE *rule, const char *msg, void *arg)
{
	struct compile_err *ce = arg;

	(void)rule;
	if (level == YARA_ERROR_LEVEL_ERROR && !ce->buf[0])
		snprintf(ce->buf, ce->len, "%s:%d: %s", file ? file : "?", line,
			 msg);
}

struct scan_yara *scan_yara_load(const char *path, char *err, size_t errlen)
{
	struct scan_yara *y = calloc(1, sizeof(*y));
	struct compile_err ce = { err, errlen };
	YR_COMPILER *c = NULL;
	FILE *f = NULL;
	const YR_RULE *r;

	err[0] = '\0';
	if (!y || yr_initialize() != ERROR_SUCCESS) {
		snprintf(err, errlen, "libyara could not start");
		free(y);
		return NULL;
	}
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "yara rules %s: %s", path, strerror(errno));
		goto err_free;
	}
	if (yr_compiler_create(&c) != ERROR_SUCCESS)
		goto err_free;
	yr_compiler_set_callback(c, on_compile, &ce);
	if (yr_compiler_add_file(c, f, NULL, path) != 0 ||
	    yr_compiler_get_rules(c, &y->rules) != ERROR_SUCCESS) {
		if (!err[0])
			snprintf(err, errlen, "yara rules %s do not compile", path);
		goto err_free;
	}
	yr_compiler_destroy(c);
	fclose(f);
	y->db = strdup(strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	yr_rules_foreach(y->rules, r)
		y->count++;
	return y;
err_free:
	if (c)
		yr_compiler_destroy(c);
	if (f)
		fclose(f);
	free(y);
	yr_finalize();
	return NULL;
}

void scan_yara_free(struct scan_yara *y)
{
	if (!y)
		return;
	yr_rules_destroy(y->rules);
	free(y->db);
	free(y);
	yr_finalize();
}

int scan_yara_count(const struct scan_yara *y)
{
	return y ? y->count : 0;
}

struct yara_emit {
	struct scan_level lvl;
	const char *db;
};

static int on_scan(YR_SCAN_CONTEXT *ctx, int msg, void *data, void *arg)
{
	struct yara_emit *ye = arg;
	const YR_RULE *rule = data;
	struct scan_finding f = { 0 };

	(void)ctx;
	if (msg != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE;
	f.type = SCAN_FINDING_MALWARE;
	f.ecosystem = "";
	f.name = rule->identifier;
	f.version = "";
	f.purl = "";
	f.evidence = "yara";
	f.rule = rule->identifier;
	f.database = ye->db;
	f.hash_kind = "yara";
	f.severity = SCAN_SEV_CRITICAL;
	scan_emit(&ye->lvl, &f);
	return CALLBACK_CONTINUE;
}

void yara_scan_file(struct scan_ctx *ctx, struct scan_file *file)
{
	struct yara_emit ye = { { ctx, file, "", NULL, NULL }, ctx->yara->db };
	int r;

	r = yr_rules_scan_fd(ctx->yara->rules, file->fd, SCAN_FLAGS_FAST_MODE,
			     on_scan, &ye, YARA_TIMEOUT_S);
	if (r == ERROR_SCAN_TIMEOUT) {
		ctx->stats.limit_hits++;
		scan_event(ctx, "limit", "yara scan timeout", file->path, "",
			   file->layer_digest);
	} else if (r != ERROR_SUCCESS) {
		ctx->stats.errors++;
		px_warn("scan", "yara scan failed", "path=%s err=%d",
			px_q(file->path), r);
	}
}

#else  /* !PX_HAVE_YARA */

struct scan_yara *scan_yara_load(const char *path, char *err, size_t errlen)
{
	snprintf(err, errlen, "--yara-rules %s: parallax-scan was built without libyara (install libyara-dev and rebuild)",
		 path);
	return NULL;
}

void scan_yara_free(struct scan_yara *y)
{
	(void)y;
}

int scan_yara_count(const struct scan_yara *y)
{
	(void)y;
	return 0;
}

void yara_scan_file(struct scan_ctx *ctx, struct scan_file *file)
{
	(void)ctx;
	(void)file;
}

#endif
