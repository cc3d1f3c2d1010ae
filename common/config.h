/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration: a YAML file read with libyaml, flattened to dotted keys
 * ("collector.listen", "agent.scan_interval_ms"), then overridden by command
 * line flags.  Every binary declares the keys it knows; an unknown key is an
 * error, so a typo in a config file stops the program before it does
 * anything.
 */
#ifndef PX_CONFIG_H
#define PX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct px_config;

/* A key a program accepts, with its default (NULL: unset) and a line of
 * help text that --help prints. */
struct px_config_key {
	const char *key;
	const char *def;
	const char *help;
};

/*
 * Creates a configuration holding the defaults of <keys> (terminated by an
 * entry whose key is NULL; the array is borrowed for the config's lifetime).
 * Returns NULL only when out of memory.
 */
struct px_config *px_config_new(const struct px_config_key *keys);
void px_config_free(struct px_config *cfg);

/*
 * Merges the YAML mapping in <path> into <cfg>.  Nested mappings become dotted
 * keys; scalars are stored as strings; a sequence becomes one comma-joined
 * string.  Returns 0, or -errno / -EINVAL with a message naming the file, line
 * and key in <err>.
 */
int px_config_load_file(struct px_config *cfg, const char *path, char *err,
			size_t errlen);

/* Sets <key> to <value> (copied).  -ENOENT with a message in <err> when the
 * key is not one the program declared. */
int px_config_set(struct px_config *cfg, const char *key, const char *value,
		  char *err, size_t errlen);

/* The value of <key>, or NULL when unset.  Borrowed until the next set. */
const char *px_config_get(const struct px_config *cfg, const char *key);

/* Parses the value as an integer/bool; <out> is left alone and -EINVAL
 * returned (message in <err>) when it is not one.  Unset keys return
 * -ENOENT. */
int px_config_get_i64(const struct px_config *cfg, const char *key,
		      int64_t *out, char *err, size_t errlen);
int px_config_get_bool(const struct px_config *cfg, const char *key, bool *out,
		       char *err, size_t errlen);

/* Prints the declared keys with their defaults and help, for --help. */
void px_config_print_keys(const struct px_config *cfg, void *stdio_file);

#endif
