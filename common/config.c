// SPDX-License-Identifier: Apache-2.0
/*
 * Configuration store: declared keys with defaults, merged from one YAML
 * file (parsed with libyaml's event API and flattened to dotted keys), then
 * from command-line flags.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

struct px_config {
	const struct px_config_key *keys;
	size_t n;
	char **values;		/* values[i] for keys[i]; NULL: unset */
};

#define MAX_DEPTH 8

struct px_config *px_config_new(const struct px_config_key *keys)
{
	struct px_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	cfg->keys = keys;
	while (keys[cfg->n].key != NULL)
		cfg->n++;
	cfg->values = calloc(cfg->n + 1, sizeof(char *));
	if (cfg->values == NULL) {
		free(cfg);
		return NULL;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		if (keys[i].def == NULL)
			continue;
		cfg->values[i] = strdup(keys[i].def);
		if (cfg->values[i] == NULL) {
			px_config_free(cfg);
			return NULL;
		}
	}
	return cfg;
}

void px_config_free(struct px_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n; i++)
		free(cfg->values[i]);
	free(cfg->values);
	free(cfg);
}

static long find_key(const struct px_config *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (strcmp(cfg->keys[i].key, key) == 0)
			return (long)i;
	return -1;
}

int px_config_set(struct px_config *cfg, const char *key, const char *value,
		  char *err, size_t errlen)
{
	long i = find_key(cfg, key);
	char *copy;

	if (i < 0) {
		snprintf(err, errlen, "unknown configuration key '%s'", key);
		return -ENOENT;
	}
	copy = value != NULL ? strdup(value) : NULL;
	if (value != NULL && copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	free(cfg->values[i]);
	cfg->values[i] = copy;
	return 0;
}

const char *px_config_get(const struct px_config *cfg, const char *key)
{
	long i = find_key(cfg, key);

	return i < 0 ? NULL : cfg->values[i];
}

int px_config_get_i64(const struct px_config *cfg, const char *key,
		      int64_t *out, char *err, size_t errlen)
{
	const char *v = px_config_get(cfg, key);
	char *end;
	long long n;

	if (v == NULL || *v == '\0')
		return -ENOENT;
	errno = 0;
	n = strtoll(v, &end, 0);
	if (errno != 0 || *end != '\0') {
		snprintf(err, errlen, "%s: '%s' is not an integer", key, v);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

int px_config_get_bool(const struct px_config *cfg, const char *key, bool *out,
		       char *err, size_t errlen)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	const char *v = px_config_get(cfg, key);

	if (v == NULL || *v == '\0')
		return -ENOENT;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	snprintf(err, errlen, "%s: '%s' is not a boolean", key, v);
	return -EINVAL;
}

void px_config_print_keys(const struct px_config *cfg, void *stdio_file)
{
	FILE *f = stdio_file;

	for (size_t i = 0; i < cfg->n; i++) {
		const struct px_config_key *k = &cfg->keys[i];

		fprintf(f, "  %-28s %s", k->key, k->help ? k->help : "");
		if (k->def != NULL && k->def[0] != '\0')
			fprintf(f, " (default: %s)", k->def);
		fputc('\n', f);
	}
}

/*
 * YAML flattening.  The parser state is a stack of mapping levels; at each
 * level we remember the key we are under, and whether the next scalar is a
 * key or a value.  A sequence of scalars is joined with commas.
 */
struct flat {
	struct px_config *cfg;
	const char *path;
	char *err;
	size_t errlen;
	char prefix[MAX_DEPTH][128];	/* key of each open mapping level */
	int depth;			/* open mappings */
	bool want_key;			/* next scalar at this level is a key */
	char seq[1024];			/* sequence being joined */
	bool in_seq;
};

static int full_key(struct flat *fl, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (int i = 1; i <= fl->depth; i++) {
		int r = snprintf(out + o, cap - o, "%s%s", o ? "." : "",
				 fl->prefix[i]);

		if (r < 0 || (size_t)r >= cap - o)
			return -ENAMETOOLONG;
		o += (size_t)r;
	}
	return 0;
}

static int store(struct flat *fl, const char *value, size_t line)
{
	char key[512], msg[256];
	int err = full_key(fl, key, sizeof(key));

	if (err == 0)
		err = px_config_set(fl->cfg, key, value, msg, sizeof(msg));
	if (err < 0)
		snprintf(fl->err, fl->errlen, "%s:%zu: %s", fl->path, line,
			 err == -ENAMETOOLONG ? "key too long" : msg);
	return err;
}

static int on_scalar(struct flat *fl, const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t line = ev->start_mark.line + 1;

	if (fl->in_seq) {
		size_t o = strlen(fl->seq);

		snprintf(fl->seq + o, sizeof(fl->seq) - o, "%s%s",
			 o ? "," : "", v);
		return 0;
	}
	if (fl->depth == 0) {
		snprintf(fl->err, fl->errlen,
			 "%s:%zu: the top level must be a mapping", fl->path,
			 line);
		return -EINVAL;
	}
	if (fl->want_key) {
		snprintf(fl->prefix[fl->depth], sizeof(fl->prefix[0]), "%s",
			 v);
		fl->want_key = false;
		return 0;
	}
	fl->want_key = true;
	return store(fl, v, line);
}

static int on_event(struct flat *fl, const yaml_event_t *ev)
{
	size_t line = ev->start_mark.line + 1;

	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
		if (fl->in_seq || fl->depth + 1 >= MAX_DEPTH) {
			snprintf(fl->err, fl->errlen,
				 "%s:%zu: mapping nested too deep or inside a list",
				 fl->path, line);
			return -EINVAL;
		}
		fl->depth++;
		fl->want_key = true;
		return 0;
	case YAML_MAPPING_END_EVENT:
		fl->depth--;
		fl->want_key = true;
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		if (fl->in_seq || fl->depth == 0) {
			snprintf(fl->err, fl->errlen,
				 "%s:%zu: only lists of scalars are supported",
				 fl->path, line);
			return -EINVAL;
		}
		fl->in_seq = true;
		fl->seq[0] = '\0';
		return 0;
	case YAML_SEQUENCE_END_EVENT:
		fl->in_seq = false;
		fl->want_key = true;
		return store(fl, fl->seq, line);
	case YAML_SCALAR_EVENT:
		return on_scalar(fl, ev);
	case YAML_ALIAS_EVENT:
		snprintf(fl->err, fl->errlen, "%s:%zu: aliases are not supported",
			 fl->path, line);
		return -EINVAL;
	default:
		return 0;
	}
}

int px_config_load_file(struct px_config *cfg, const char *path, char *err,
			size_t errlen)
{
	struct flat fl = { .cfg = cfg, .path = path, .err = err,
			   .errlen = errlen };
	yaml_parser_t parser;
	int rc = 0;
	FILE *f;

	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "cannot open config file %s: %s", path,
			 strerror(errno));
		return rc;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, f);
	for (;;) {
		yaml_event_t ev;
		bool done;

		if (!yaml_parser_parse(&parser, &ev)) {
			snprintf(err, errlen, "%s:%zu: %s", path,
				 parser.problem_mark.line + 1,
				 parser.problem ? parser.problem : "parse error");
			rc = -EINVAL;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(&fl, &ev);
		yaml_event_delete(&ev);
		if (rc < 0 || done)
			break;
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}
