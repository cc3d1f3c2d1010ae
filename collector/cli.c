// SPDX-License-Identifier: Apache-2.0
/*
 * parallax: the query CLI.  Reads what the collector stored and prints it as
 * an aligned table, or as JSON built by PostgreSQL itself (json_agg over the
 * same query), so the two views never disagree.
 *
 *   parallax [--db DSN | --data-dir DIR] [--host ID] [--json] [--wide] CMD
 *
 * The database is --db, else $PARALLAX_DB, else the DSN the collector wrote
 * to DIR/collector.dsn (DIR defaults to /var/lib/parallax).  Blocking libpq:
 * one connection, one query.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "host.h"

#define DEFAULT_DATA_DIR "/var/lib/parallax"
#define CELL_MAX 64   /* table cells wider than this are cut (--wide: not) */

/* Every query takes $1: a host_id to filter on, or NULL for all hosts.
 * "%s" is where the CVE list aggregate goes (a text list in the table, an
 * array in JSON). */
struct command {
	const char *name;
	const char *help;
	const char *sql;
};

static const struct command commands[] = {
	{ "findings", "what the scanner found at rest, worst first",
	  "SELECT host_id AS host, severity, cve, type, name, version, path, "
	  "inner_path AS inner, sha256, loaded_now, "
	  "date_trunc('second', first_seen) AS first_seen, "
	  "date_trunc('second', last_seen) AS last_seen "
	  "FROM v_findings WHERE ($1::text IS NULL OR host_id = $1::text) "
	  "ORDER BY px_severity_rank(severity) DESC, host_id, path, "
	  "inner_path, name, cve" },
	{ "loaded", "vulnerable artifacts loaded by a live process right now",
	  "SELECT host_id AS host, pid, coalesce(cmdline, exe, '') AS command, "
	  "path, inner_path AS inner, sha256, %s AS cves, "
	  "(array_agg(severity ORDER BY px_severity_rank(severity) DESC))[1] "
	  "AS severity, date_trunc('second', min(loaded_since)) "
	  "AS loaded_since FROM v_loaded_now "
	  "WHERE ($1::text IS NULL OR host_id = $1::text) "
	  "GROUP BY host_id, exec_id, pid, cmdline, exe, path, inner_path, "
	  "sha256 ORDER BY max(px_severity_rank(severity)) DESC, host_id, pid, "
	  "path, inner_path" },
	{ "correlations", "every correlation, past and present",
	  "SELECT host_id AS host, pid, coalesce(cmdline, exe, '') AS command, "
	  "path, inner_path AS inner, sha256, cve, severity, name, version, "
	  "CASE WHEN loaded_now THEN 'loaded' ELSE 'ended' END AS state, "
	  "date_trunc('second', loaded_since) AS loaded_since, "
	  "date_trunc('second', ended_at) AS ended_at, "
	  "date_trunc('second', last_seen) AS last_seen FROM correlations "
	  "WHERE ($1::text IS NULL OR host_id = $1::text) "
	  "ORDER BY first_seen, host_id, pid, path, inner_path, cve" },
};

#define CVES_TEXT "string_agg(DISTINCT nullif(cve, ''), ',' ORDER BY nullif(cve, ''))"
#define CVES_JSON "coalesce(array_agg(DISTINCT cve ORDER BY cve) FILTER (WHERE cve <> ''), '{}')"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: parallax [options] COMMAND\n"
		"\n"
		"Queries what parallax-collector stored.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].help);
	fprintf(out,
		"\n"
		"Options:\n"
		"  --db DSN          libpq connection string\n"
		"  --data-dir DIR    read the DSN from DIR/collector.dsn\n"
		"                    (default " DEFAULT_DATA_DIR ")\n"
		"  --host ID         only this host_id\n"
		"  --json            a JSON array of objects instead of a table\n"
		"  --wide            do not cut long table cells\n"
		"  --help, --version\n"
		"\n"
		"Without --db or --data-dir, $PARALLAX_DB is used when set.\n");
}

/* Reads the DSN the collector wrote; NULL with a message on failure. */
static char *read_dsn(const char *data_dir)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/collector.dsn", data_dir);
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "parallax: cannot read %s: %s; is parallax-collector running with --data-dir %s? (or give --db DSN)\n",
			path, strerror(errno), data_dir);
		return NULL;
	}
	n = getline(&line, &cap, f);
	fclose(f);
	if (n <= 0) {
		fprintf(stderr, "parallax: %s is empty\n", path);
		free(line);
		return NULL;
	}
	line[strcspn(line, "\n")] = '\0';
	return line;
}

/* Display width of a UTF-8 string: one column per code point. */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Prints <s> cut to <max> columns (with "..." when cut), padded to <pad>. */
static void print_cell(const char *s, size_t max, size_t pad)
{
	size_t w = width(s), cols = 0;

	if (w > max) {
		for (const char *p = s; *p != '\0'; p++) {
			if (((unsigned char)*p & 0xc0) != 0x80 &&
			    ++cols > max - 3)
				break;
			putchar(iscntrl((unsigned char)*p) ? ' ' : *p);
		}
		fputs("...", stdout);
		w = max;
	} else {
		/* A tab or newline in a command line must not break the row. */
		for (const char *p = s; *p != '\0'; p++)
			putchar(iscntrl((unsigned char)*p) ? ' ' : *p);
	}
	for (; w < pad; w++)
		putchar(' ');
}

#define BOOLOID 16   /* pg_type.oid of boolean, fixed since forever */

static const char *cell(const PGresult *res, int r, int c)
{
	if (PQgetisnull(res, r, c))
		return "-";
	if (PQftype(res, c) == BOOLOID)
		return PQgetvalue(res, r, c)[0] == 't' ? "yes" : "no";
	return PQgetvalue(res, r, c);
}

static void print_table(const PGresult *res, bool wide)
{
	int rows = PQntuples(res), cols = PQnfields(res);
	size_t max = wide ? (size_t)-1 : CELL_MAX;
	size_t *w = calloc((size_t)cols, sizeof(*w));

	if (w == NULL)
		return;
	for (int c = 0; c < cols; c++) {
		w[c] = width(PQfname(res, c));
		for (int r = 0; r < rows; r++) {
			size_t cw = width(cell(res, r, c));

			if (cw > w[c])
				w[c] = cw > max ? max : cw;
		}
	}
	for (int c = 0; c < cols; c++) {
		char name[64];
		size_t i;

		for (i = 0; PQfname(res, c)[i] != '\0' && i < sizeof(name) - 1; i++)
			name[i] = (char)toupper((unsigned char)PQfname(res, c)[i]);
		name[i] = '\0';
		print_cell(name, max, c + 1 < cols ? w[c] + 2 : 0);
	}
	putchar('\n');
	for (int r = 0; r < rows; r++) {
		for (int c = 0; c < cols; c++)
			print_cell(cell(res, r, c), max,
				   c + 1 < cols ? w[c] + 2 : 0);
		putchar('\n');
	}
	free(w);
}

static int run(const char *dsn, const struct command *cmd, const char *host,
	       bool json, bool wide)
{
	char inner[4096], sql[4400];
	const char *params[1] = { host };
	PGresult *res;
	PGconn *conn;
	int ret = 0;

	conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK) {
		char *msg = PQerrorMessage(conn);

		msg[strcspn(msg, "\n")] = '\0';
		fprintf(stderr, "parallax: cannot reach the database at %s: %s; is parallax-collector running?\n",
			dsn, msg);
		PQfinish(conn);
		return 1;
	}
	PQclear(PQexec(conn, "SET TimeZone = 'UTC'"));
	snprintf(inner, sizeof(inner), cmd->sql, json ? CVES_JSON : CVES_TEXT);
	if (json)
		snprintf(sql, sizeof(sql), "SELECT coalesce(json_agg(t), '[]'::json) "
			 "FROM (%s) t", inner);
	else
		snprintf(sql, sizeof(sql), "%s", inner);
	res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char *msg = PQresultErrorMessage(res);

		msg[strcspn(msg, "\n")] = '\0';
		fprintf(stderr, "parallax: %s query failed: %s%s\n", cmd->name,
			msg, strstr(msg, "does not exist") ?
			" (has parallax-collector created the schema?)" : "");
		ret = 1;
	} else if (json) {
		printf("%s\n", PQgetvalue(res, 0, 0));
	} else {
		print_table(res, wide);
	}
	PQclear(res);
	PQfinish(conn);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "data-dir", required_argument, NULL, 'D' },
		{ "host", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "wide", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL, *data_dir = NULL, *host = NULL;
	const struct command *cmd = NULL;
	bool json = false, wide = false;
	char *dsn_file = NULL;
	int o, ret;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			db = optarg;
			break;
		case 'D':
			data_dir = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'w':
			wide = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("parallax %s\n", PX_VERSION);
			return 0;
		default:
			fprintf(stderr, "parallax: see --help\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "parallax: expected one command (findings, loaded, correlations); see --help\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		fprintf(stderr, "parallax: unknown command '%s'; see --help\n",
			argv[optind]);
		return 2;
	}
	if (db == NULL && data_dir == NULL)
		db = getenv("PARALLAX_DB");
	if (db == NULL || db[0] == '\0') {
		dsn_file = read_dsn(data_dir != NULL ? data_dir : DEFAULT_DATA_DIR);
		if (dsn_file == NULL)
			return 1;
		db = dsn_file;
	}
	ret = run(db, cmd, host, json, wide);
	free(dsn_file);
	return ret;
}
