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
#include "advisories.h"
#include "queries.h"

#define TEXTOID 25   /* pg_type.oid of text */
#define QOPT 256     /* getopt values of the query parameters */

#define DEFAULT_DATA_DIR "/var/lib/parallax"
#define CELL_MAX 64   /* table cells wider than this are cut (--wide: not) */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: parallax [options] COMMAND\n"
		"\n"
		"Queries what parallax-collector stored.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < coll_n_queries; i++)
		fprintf(out, "  %-15s %s\n", coll_queries[i].name,
			coll_queries[i].help);
	fprintf(out,
		"  advisories import ZIP|DIR|FILE\n"
		"                  load OSV advisories (as downloaded from osv.dev)\n"
		"                  and re-evaluate the stored inventory\n"
		"  advisories evaluate\n"
		"                  re-evaluate the inventory against stored advisories\n"
		"\n"
		"Options:\n"
		"  --db DSN          libpq connection string\n"
		"  --data-dir DIR    read the DSN from DIR/collector.dsn\n"
		"                    (default " DEFAULT_DATA_DIR ")\n"
		"  --host ID         only this host (a host_id or a hostname)\n"
		"  --exec ID         the process (exec_id) of tree, artifacts, connections\n"
		"  --sha256 HEX      the artifact of where-loaded\n"
		"  --package NAME    the package of where-loaded\n"
		"  --since TIME      window start (timestamptz, e.g. 2026-12-03T10:00Z)\n"
		"  --until TIME      window end\n"
		"  --limit N         rows of the event queries (default %d, at most %d:\n"
		"                    a larger N is cut to it; narrow --since/--until)\n"
		"  --cve ID          the advisory of advisory-hosts\n"
		"  --json            a JSON array of objects instead of a table\n"
		"  --wide            do not cut long table cells\n"
		"  --help, --version\n"
		"\n"
		"Without --db or --data-dir, $PARALLAX_DB is used when set.\n",
		COLL_Q_LIMIT_DEFAULT, COLL_Q_LIMIT_MAX);
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

static int run(const char *dsn, const struct coll_query *q,
	       const char *const *params, bool json, bool wide)
{
	Oid types[COLL_Q_NPARAMS];
	char sql[8192];
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
	if (coll_query_sql(q, json, sql, sizeof(sql)) < 0) {
		fprintf(stderr, "parallax: %s: query too long\n", q->name);
		PQfinish(conn);
		return 1;
	}
	for (int i = 0; i < COLL_Q_NPARAMS; i++)
		types[i] = TEXTOID;
	res = PQexecParams(conn, sql, COLL_Q_NPARAMS, types, params, NULL,
			   NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char *msg = PQresultErrorMessage(res);

		msg[strcspn(msg, "\n")] = '\0';
		fprintf(stderr, "parallax: %s query failed: %s%s\n", q->name,
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

static PGconn *connect_db(const char *dsn)
{
	PGconn *conn = PQconnectdb(dsn);

	if (PQstatus(conn) != CONNECTION_OK) {
		char *msg = PQerrorMessage(conn);

		msg[strcspn(msg, "\n")] = '\0';
		fprintf(stderr, "parallax: cannot reach the database at %s: %s; is parallax-collector running?\n",
			dsn, msg);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* parallax advisories import PATH | evaluate */
static int advisories(const char *dsn, int argc, char **argv, bool json)
{
	struct coll_adv_result r = { 0 };
	char err[1024];
	PGconn *conn;
	int ret;

	if (!((argc == 2 && strcmp(argv[0], "import") == 0) ||
	      (argc == 1 && strcmp(argv[0], "evaluate") == 0))) {
		fprintf(stderr, "parallax: usage: advisories import ZIP|DIR|FILE, or advisories evaluate\n");
		return 2;
	}
	conn = connect_db(dsn);
	if (conn == NULL)
		return 1;
	if (argc == 2)
		ret = coll_adv_import(conn, argv[1], &r, err, sizeof(err));
	else
		ret = coll_adv_evaluate(conn, &r, err, sizeof(err));
	PQfinish(conn);
	if (ret < 0) {
		fprintf(stderr, "parallax: advisories %s failed: %s\n", argv[0],
			err);
		return 1;
	}
	printf(json ? "{\"files\":%zu,\"skipped\":%zu,\"advisories\":%zu,"
		      "\"matches\":%zu,\"findings\":%ld,\"correlations\":%ld}\n" :
		      "files=%zu skipped=%zu advisories=%zu matches=%zu "
		      "findings=%ld correlations=%ld\n",
	       r.files, r.skipped, r.advisories, r.matches, r.findings,
	       r.correlations);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "data-dir", required_argument, NULL, 'D' },
		{ "host", required_argument, NULL, QOPT + COLL_Q_HOST },
		{ "exec", required_argument, NULL, QOPT + COLL_Q_EXEC },
		{ "sha256", required_argument, NULL, QOPT + COLL_Q_SHA256 },
		{ "package", required_argument, NULL, QOPT + COLL_Q_PACKAGE },
		{ "since", required_argument, NULL, QOPT + COLL_Q_SINCE },
		{ "until", required_argument, NULL, QOPT + COLL_Q_UNTIL },
		{ "limit", required_argument, NULL, QOPT + COLL_Q_LIMIT },
		{ "cve", required_argument, NULL, QOPT + COLL_Q_CVE },
		{ "json", no_argument, NULL, 'j' },
		{ "wide", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL, *data_dir = NULL;
	const char *params[COLL_Q_NPARAMS] = { 0 };
	const struct coll_query *cmd = NULL;
	const char *why;
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
		case QOPT + COLL_Q_HOST:
		case QOPT + COLL_Q_EXEC:
		case QOPT + COLL_Q_SHA256:
		case QOPT + COLL_Q_PACKAGE:
		case QOPT + COLL_Q_SINCE:
		case QOPT + COLL_Q_UNTIL:
		case QOPT + COLL_Q_LIMIT:
		case QOPT + COLL_Q_CVE:
			params[o - QOPT] = optarg;
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
	if (optind < argc && strcmp(argv[optind], "advisories") == 0) {
		if (db == NULL && data_dir == NULL)
			db = getenv("PARALLAX_DB");
		if (db == NULL || db[0] == '\0') {
			dsn_file = read_dsn(data_dir != NULL ? data_dir :
					    DEFAULT_DATA_DIR);
			if (dsn_file == NULL)
				return 1;
			db = dsn_file;
		}
		ret = advisories(db, argc - optind - 1, argv + optind + 1, json);
		free(dsn_file);
		return ret;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "parallax: expected one command (findings, loaded, exposure, ...); see --help\n");
		return 2;
	}
	cmd = coll_query_find(argv[optind]);
	if (cmd == NULL) {
		fprintf(stderr, "parallax: unknown command '%s'; see --help\n",
			argv[optind]);
		return 2;
	}
	why = coll_query_missing(cmd, params);
	if (why != NULL) {
		fprintf(stderr, "parallax: %s\n", why);
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
	ret = run(db, cmd, params, json, wide);
	free(dsn_file);
	return ret;
}
