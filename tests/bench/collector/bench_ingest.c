// SPDX-License-Identifier: Apache-2.0
/*
 * Collector ingest benchmark (not a timed test).  Starts a throwaway
 * PostgreSQL and the parallax-collector binary on it, preloads findings so
 * that every artifact load correlates, then M sources built on px_client
 * stream runtime events at a chosen rate for T seconds.  Batches are packed
 * before the clock starts (px_client_send_packed stamps source and seq), so
 * the load generator's own CPU, on the same two cores, is mostly sending.
 * Reports:
 *
 *   - events/s committed (rows in the events table over first send to last
 *     ack), with correlation on;
 *   - p50/p99 of send-to-ack per batch (acks arrive in order per source; a
 *     poller notes when each seq is acked, 1 ms resolution);
 *   - in the same run, the raw COPY rate of the same rows into the same
 *     table: the rows are dumped, the table emptied, and the dump loaded
 *     back with one COPY in one transaction, once in text and once in
 *     binary format; the faster is the baseline (raw_copy_per_s);
 *   - a verdict per target (met / MISSED): 150k events/s, 0.5x raw COPY,
 *     p99 ack under 500 ms when run with --rate 50000.
 *
 * The cluster runs with the collector's embedded settings (embedded_pg.c),
 * nothing raised for the benchmark.
 *
 *   bench_collector_ingest [--sources M] [--rate EV_PER_S|0] [--seconds T]
 *                          [--batch EVENTS] [--loads PCT] [--life BATCHES]
 *                          [--collector BIN]
 *
 * --rate 0 sends as fast as the collector acks.  Environment:
 * PX_BENCH_COLLECTOR_CONFIG (a collector YAML file), PX_BENCH_DEBUG (debug
 * log), PX_BENCH_LOG (where the collector's log goes).  Each batch holds one short
 * process life: its exec, artifact loads (--loads percent of the events,
 * default 5, at least one), its exit, and network events for the rest.
 * With --life K, the exit in a batch is that of the process started K - 1
 * batches before, so that loads and exits land in different groups and
 * every exit ends loads stored earlier (the cost a long-lived process has).  One
 * load in CORR_EVERY is the log4j jar the preloaded finding names, so it
 * correlates; the others are jars no finding knows, which still cost the
 * correlation lookups.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "embedded_pg.h"
#include "host.h"
#include "log.h"
#include "migrate.h"
#include "transport.h"

#define SHA "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
#define JAR "/srv/app/lib/log4j-core-2.14.1.jar"
#define MAX_SOURCES 64
#define MAX_BATCHES (1u << 20)
#define CORR_EVERY 4            /* one load in this many correlates */
#define N_LIBS 16               /* distinct jars that correlate with nothing */
#define PREPACK_MAX_BYTES (1ull << 30)
#define MAX_RATE_GUESS 400000.0 /* events/s to prepack for with --rate 0 */

struct opts {
	int sources;
	double rate;
	int seconds;
	int batch;
	double load_pct;
	int life;                 /* batches a process lives: 1 = one batch */
	const char *collector;
};

struct source {
	int idx;
	const struct opts *o;
	struct px_client *client;
	char host[32], source_id[32], boot[40];
	uint64_t *sent_ns;        /* by seq */
	uint64_t *acked_ns;
	uint64_t sent;
	uint8_t **packed;         /* batch k, packed without source and seq */
	size_t *packed_len;
	uint64_t n_packed;
	volatile bool done;
};

static uint64_t mono(void)
{
	return px_mono_ns();
}

/* ---- batch template -------------------------------------------------- */

struct tmpl {
	Parallax__V1__Batch b;
	Parallax__V1__Source src;
	Parallax__V1__HostFacts host;
	Parallax__V1__Event **ev;
	Parallax__V1__Event *evs;
	Parallax__V1__ProcessRef ref;
	Parallax__V1__ProcessExec exec;
	Parallax__V1__ArtifactLoaded *load;
	char (*load_path)[80];    /* one file per load: distinct keys */
	Parallax__V1__ProcessExit exit;
	Parallax__V1__ProcessRef exit_ref;      /* the process that exits */
	Parallax__V1__NetworkEvent *net;
	char *argv[2];
	char exec_id[96];
	char exit_exec_id[96];
	int life;
	uint8_t lo[4];
	int n_loads;
};

static char lib_path[N_LIBS][64], lib_sha[N_LIBS][65];

/* Artifact loads per batch of <n> events: <pct> percent, at least one, and
 * room left for the exec and the exit. */
static int loads_per_batch(int n, double pct)
{
	int k = (int)(n * pct / 100.0 + 0.5);

	if (k < 1)
		k = 1;
	return k > n - 2 ? n - 2 : k;
}

static void libs_init(void)
{
	for (int i = 0; i < N_LIBS; i++) {
		snprintf(lib_path[i], sizeof(lib_path[i]),
			 "/srv/app/lib/dep-%02d-1.0.jar", i);
		for (int k = 0; k < 64; k++)
			lib_sha[i][k] = "0123456789abcdef"[(i * 7 + k) % 16];
		lib_sha[i][64] = '\0';
	}
}

static void tmpl_init(struct tmpl *t, struct source *s, int n, double pct,
		      int life)
{
	memset(t, 0, sizeof(*t));
	parallax__v1__batch__init(&t->b);
	parallax__v1__source__init(&t->src);
	parallax__v1__host_facts__init(&t->host);
	t->host.host_id = s->host;
	t->host.hostname = s->host;
	t->src.source_id = s->source_id;
	t->src.boot_id = s->boot;
	t->src.kind = PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_AGENT;
	t->src.version = "bench";
	t->src.host = &t->host;
	t->b.source = &t->src;
	t->ev = calloc((size_t)n, sizeof(*t->ev));
	t->evs = calloc((size_t)n, sizeof(*t->evs));
	t->net = calloc((size_t)n, sizeof(*t->net));
	t->n_loads = loads_per_batch(n, pct);
	t->load = calloc((size_t)t->n_loads, sizeof(*t->load));
	t->load_path = calloc((size_t)t->n_loads, sizeof(*t->load_path));
	if (t->ev == NULL || t->evs == NULL || t->net == NULL ||
	    t->load == NULL || t->load_path == NULL)
		abort();
	parallax__v1__process_ref__init(&t->ref);
	t->ref.exec_id = t->exec_id;
	parallax__v1__process_exec__init(&t->exec);
	t->exec.proc = &t->ref;
	t->exec.exe = "/usr/bin/java";
	t->argv[0] = "java";
	t->argv[1] = "-jar";
	t->exec.argv = t->argv;
	t->exec.n_argv = 2;
	for (int i = 0; i < t->n_loads; i++) {
		Parallax__V1__ArtifactLoaded *l = &t->load[i];

		parallax__v1__artifact_loaded__init(l);
		l->proc = &t->ref;
		/* The log4j jar is matched by its sha256 wherever it lies. */
		if (i == 0)
			snprintf(t->load_path[i], sizeof(t->load_path[i]),
				 "%s", JAR);
		else if (i % CORR_EVERY == 0)
			snprintf(t->load_path[i], sizeof(t->load_path[i]),
				 "/srv/app/plugins/%d/log4j-core-2.14.1.jar",
				 i);
		else
			snprintf(t->load_path[i], sizeof(t->load_path[i]),
				 "%s.%d", lib_path[i % N_LIBS], i);
		l->path = t->load_path[i];
		l->sha256 = i % CORR_EVERY == 0 ? SHA : lib_sha[i % N_LIBS];
		l->kind = PARALLAX__V1__LOAD_KIND__LOAD_KIND_MAPPED;
	}
	parallax__v1__process_exit__init(&t->exit);
	parallax__v1__process_ref__init(&t->exit_ref);
	t->exit_ref.exec_id = t->exit_exec_id;
	t->exit.proc = &t->exit_ref;
	t->life = life;
	memcpy(t->lo, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	for (int i = 0; i < n; i++) {
		parallax__v1__event__init(&t->evs[i]);
		t->ev[i] = &t->evs[i];
		if (i == 0) {
			t->evs[i].kind_case = PARALLAX__V1__EVENT__KIND_EXEC;
			t->evs[i].exec = &t->exec;
		} else if (i <= t->n_loads) {
			t->evs[i].kind_case = PARALLAX__V1__EVENT__KIND_ARTIFACT;
			t->evs[i].artifact = &t->load[i - 1];
		} else if (i == n - 1) {
			t->evs[i].kind_case = PARALLAX__V1__EVENT__KIND_EXIT;
			t->evs[i].exit = &t->exit;
		} else {
			parallax__v1__network_event__init(&t->net[i]);
			t->net[i].proc = &t->ref;
			t->net[i].kind = PARALLAX__V1__NET_KIND__NET_KIND_CONNECT;
			t->net[i].protocol = 6;
			t->net[i].remote_addr.data = t->lo;
			t->net[i].remote_addr.len = 4;
			t->net[i].remote_port = (uint32_t)(1024 + i);
			t->evs[i].kind_case = PARALLAX__V1__EVENT__KIND_NET;
			t->evs[i].net = &t->net[i];
		}
	}
	t->b.events = t->ev;
	t->b.n_events = (size_t)n;
}

/* The process that batch <k> of <s> starts. */
static void proc_ref(Parallax__V1__ProcessRef *r, char *exec_id,
		     const struct source *s, uint64_t k)
{
	r->pid = (uint32_t)(100000 + k);
	r->start_time_ns = k;
	snprintf(exec_id, 96, "%s:%s:%" PRIu64 ":%" PRIu64, s->host, s->boot,
		 100000 + k, k);
}

/* A new process per batch: its exec and loads; and the exit of the process
 * started life - 1 batches before (with --life 1, the same one).  The
 * first batches of a longer life end processes that never started. */
static void tmpl_next(struct tmpl *t, struct source *s, uint64_t k)
{
	uint64_t now = px_now_ns();
	uint64_t back = (uint64_t)t->life - 1;

	proc_ref(&t->ref, t->exec_id, s, k);
	proc_ref(&t->exit_ref, t->exit_exec_id, s,
		 k >= back ? k - back : MAX_BATCHES + k);
	for (size_t i = 0; i < t->b.n_events; i++)
		t->evs[i].ts_ns = now;
	t->b.sent_ns = 0;       /* px_client_send stamps it when 0 */
}

static void tmpl_free(struct tmpl *t)
{
	free(t->ev);
	free(t->evs);
	free(t->net);
	free(t->load);
	free(t->load_path);
}

/* ---- sources ------------------------------------------------------- */

/* Batches one source can send in the run: paced, what the rate asks
 * (and a margin); unpaced, what MAX_RATE_GUESS would take. */
static uint64_t batches_needed(const struct opts *o)
{
	double rate = o->rate > 0 ? o->rate * 1.05 : MAX_RATE_GUESS;
	double n = rate * o->seconds / o->sources / o->batch + 16;

	return n < MAX_BATCHES - 1 ? (uint64_t)n : MAX_BATCHES - 1;
}

/* Packs the batches of <s> ahead of the run, up to a memory bound; a run
 * that outlasts them packs the rest as it goes. */
static void prepack(struct source *s, struct tmpl *t, uint64_t want,
		    uint64_t max_bytes)
{
	uint64_t bytes = 0;

	s->packed = calloc(want, sizeof(*s->packed));
	s->packed_len = calloc(want, sizeof(*s->packed_len));
	if (s->packed == NULL || s->packed_len == NULL)
		abort();
	for (uint64_t k = 0; k < want && bytes < max_bytes; k++) {
		size_t n;

		tmpl_next(t, s, k);
		t->b.source = NULL;
		t->b.seq = 0;
		t->b.sent_ns = 0;
		n = parallax__v1__batch__get_packed_size(&t->b);
		s->packed[k] = malloc(n);
		if (s->packed[k] == NULL)
			abort();
		parallax__v1__batch__pack(&t->b, s->packed[k]);
		s->packed_len[k] = n;
		s->n_packed = k + 1;
		bytes += n;
	}
}

static void *source_main(void *arg)
{
	struct source *s = arg;
	const struct opts *o = s->o;
	double per_s = o->rate > 0 ? o->rate / o->sources / o->batch : 0;
	uint64_t start = mono(), end = start + (uint64_t)o->seconds * 1000000000u;
	struct tmpl t;

	tmpl_init(&t, s, o->batch, o->load_pct, o->life);
	for (uint64_t k = 0; mono() < end && k + 1 < MAX_BATCHES; k++) {
		uint64_t seq, at;
		int ret;

		if (per_s > 0) {
			uint64_t due = start + (uint64_t)(k / per_s * 1e9);

			while (mono() < due)
				usleep(200);
		}
		if (k >= s->n_packed)
			tmpl_next(&t, s, k);
		/* The send time is taken before the call: the ack may be
		 * noted by the poller before px_client_send returns. */
		for (;;) {
			at = mono();
			ret = k < s->n_packed ?
			      px_client_send_packed(s->client, s->packed[k],
						    s->packed_len[k], &seq) :
			      px_client_send(s->client, &t.b, &seq);
			if (ret != -ENOBUFS)
				break;
			usleep(500);
		}
		if (ret < 0)
			break;
		s->sent_ns[seq] = at;
		s->sent = seq;
	}
	tmpl_free(&t);
	s->done = true;
	return NULL;
}

/* Notes the ack time of every seq as the acked count grows. */
static void *poller_main(void *arg)
{
	struct source *src = arg;
	int n = src[0].o->sources;
	uint64_t last[MAX_SOURCES] = { 0 };
	bool busy = true;

	while (busy) {
		busy = false;
		for (int i = 0; i < n; i++) {
			struct px_client_stats st;
			uint64_t now = mono();

			px_client_get_stats(src[i].client, &st);
			while (last[i] < st.acked + st.rejected)
				src[i].acked_ns[++last[i]] = now;
			if (!src[i].done || last[i] < src[i].sent)
				busy = true;
		}
		usleep(1000);
	}
	return NULL;
}

/* ---- database helpers ------------------------------------------------ */

static PGconn *db_connect(const char *dsn)
{
	PGconn *c = PQconnectdb(dsn);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "bench: cannot connect: %s", PQerrorMessage(c));
		exit(1);
	}
	return c;
}

static void db_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "bench: %s: %s", sql, PQresultErrorMessage(r));
		exit(1);
	}
	PQclear(r);
}

static long db_long(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	long v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ?
		 strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;

	PQclear(r);
	return v;
}

/* Dumps the events table, empties it, and times loading the dump back
 * with one COPY, in text or binary format; returns rows per second.  The
 * table holds the same rows again afterwards. */
static double raw_copy_rate(PGconn *c, long *rows, bool binary)
{
	const char *out = binary ?
			  "COPY (SELECT * FROM events) TO STDOUT (FORMAT binary)" :
			  "COPY (SELECT * FROM events) TO STDOUT";
	const char *in = binary ? "COPY events FROM STDIN (FORMAT binary)" :
			 "COPY events FROM STDIN";
	size_t cap = 1 << 24, len = 0;
	char *dump = malloc(cap), *chunk;
	PGresult *r;
	uint64_t t0;
	int n;

	r = PQexec(c, out);
	if (PQresultStatus(r) != PGRES_COPY_OUT || dump == NULL) {
		fprintf(stderr, "bench: dump: %s", PQresultErrorMessage(r));
		exit(1);
	}
	PQclear(r);
	while ((n = PQgetCopyData(c, &chunk, 0)) > 0) {
		if (len + (size_t)n > cap) {
			cap *= 2;
			dump = realloc(dump, cap);
			if (dump == NULL)
				exit(1);
		}
		memcpy(dump + len, chunk, (size_t)n);
		len += (size_t)n;
		PQfreemem(chunk);
	}
	PQclear(PQgetResult(c));
	*rows = db_long(c, "SELECT count(*) FROM events");
	db_exec(c, "TRUNCATE events");
	db_exec(c, "CHECKPOINT");

	t0 = mono();
	db_exec(c, "BEGIN");
	r = PQexec(c, in);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		fprintf(stderr, "bench: raw COPY: %s", PQresultErrorMessage(r));
		exit(1);
	}
	PQclear(r);
	for (size_t off = 0; off < len; off += 65536)
		if (PQputCopyData(c, dump + off, (int)(len - off < 65536 ?
						       len - off : 65536)) != 1)
			exit(1);
	PQputCopyEnd(c, NULL);
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "bench: raw COPY: %s", PQresultErrorMessage(r));
		exit(1);
	}
	PQclear(r);
	PQclear(PQgetResult(c));
	db_exec(c, "COMMIT");
	free(dump);
	return *rows / ((mono() - t0) / 1e9);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One line per target of the issue: met or MISSED, with the figure. */
static void verdicts(const struct opts *o, double evs, double ratio,
		     double p99_ms)
{
	bool paced50k = o->rate >= 45000 && o->rate <= 55000;

	printf("target events_per_s>=150000: %s (%.0f%s)\n",
	       evs >= 150000 ? "met" : "MISSED", evs,
	       o->rate > 0 && o->rate < 150000 ? ", paced below it" : "");
	printf("target ratio>=0.50: %s (%.2f)\n",
	       ratio >= 0.5 ? "met" : "MISSED", ratio);
	if (!paced50k)
		printf("target ack_p99<500ms at 50k/s: not measured (run with --rate 50000)\n");
	else
		printf("target ack_p99<500ms at 50k/s: %s (%.1f ms, sustained %.0f of %.0f events/s)\n",
		       p99_ms >= 0 && p99_ms < 500 && evs >= 0.95 * o->rate ?
		       "met" : "MISSED", p99_ms, evs, o->rate);
}

/* ---- main ------------------------------------------------------------ */

/* What an early exit must not leave running. */
static struct coll_epg *cleanup_epg;
static pid_t cleanup_pid;

static void cleanup(void)
{
	char err[256];

	if (cleanup_pid > 0) {
		kill(cleanup_pid, SIGKILL);
		waitpid(cleanup_pid, NULL, 0);
	}
	if (cleanup_epg != NULL)
		coll_epg_stop(cleanup_epg, err, sizeof(err));
}

static pid_t spawn_collector(const char *bin, const char *dsn,
			     const char *dir, char *listen)
{
	char log[PATH_MAX], buf[8192];
	pid_t pid;

	snprintf(log, sizeof(log), "%s", getenv("PX_BENCH_LOG") ?
		 getenv("PX_BENCH_LOG") : "");
	if (log[0] == '\0')
		snprintf(log, sizeof(log), "%s/collector.log", dir);
	/* A log left by an earlier run would show its "collector ready"
	 * line, with its port, before this collector writes its own. */
	if (unlink(log) < 0 && errno != ENOENT) {
		fprintf(stderr, "bench: cannot remove %s: %s\n", log,
			strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid == 0) {
		FILE *f = freopen(log, "w", stderr);

		(void)f;
		const char *conf = getenv("PX_BENCH_COLLECTOR_CONFIG");

		execl(bin, "parallax-collector", "--db", dsn, "--data-dir", dir,
		      "--listen", "127.0.0.1:0", "--log-level",
		      getenv("PX_BENCH_DEBUG") ? "debug" : "info",
		      conf != NULL ? "--config" : NULL, conf, (char *)NULL);
		_exit(127);
	}
	cleanup_pid = pid;
	for (int i = 0; i < 300; i++) {
		FILE *f = fopen(log, "r");
		size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		char *p;

		if (f != NULL)
			fclose(f);
		buf[n] = '\0';
		p = strstr(buf, "collector ready");
		if (p != NULL && (p = strstr(p, " port=")) != NULL) {
			snprintf(listen, 64, "127.0.0.1:%d", atoi(p + 6));
			return pid;
		}
		usleep(100000);
	}
	fprintf(stderr, "bench: collector did not start (see %s)\n", log);
	exit(1);
}

static void preload_findings(const char *target)
{
	struct px_client_config cfg = { 0 };
	Parallax__V1__Batch b = PARALLAX__V1__BATCH__INIT;
	Parallax__V1__Source src = PARALLAX__V1__SOURCE__INIT;
	Parallax__V1__HostFacts host = PARALLAX__V1__HOST_FACTS__INIT;
	Parallax__V1__Finding f[MAX_SOURCES], *fp[1];
	Parallax__V1__PackageFinding p = PARALLAX__V1__PACKAGE_FINDING__INIT;
	Parallax__V1__CveEvidence cve = PARALLAX__V1__CVE_EVIDENCE__INIT;
	Parallax__V1__CveEvidence *cves[1] = { &cve };
	struct px_client *c;
	char err[256];

	host.host_id = "bench-host-0";
	src.source_id = "bench-scanner";
	src.boot_id = "scan";
	src.kind = PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_SCANNER;
	src.host = &host;
	cfg.target = target;
	cfg.source = &src;
	c = px_client_start(&cfg, err, sizeof(err));
	if (c == NULL)
		exit(1);
	p.ecosystem = "maven";
	p.name = "org.apache.logging.log4j:log4j-core";
	p.version = "2.14.1";
	cve.id = "CVE-2021-44228";
	cve.severity = PARALLAX__V1__SEVERITY__SEVERITY_CRITICAL;
	p.cves = cves;
	p.n_cves = 1;
	parallax__v1__finding__init(&f[0]);
	f[0].type = PARALLAX__V1__FINDING_TYPE__FINDING_TYPE_PACKAGE;
	f[0].path = JAR;
	f[0].sha256 = SHA;
	f[0].detail_case = PARALLAX__V1__FINDING__DETAIL_PACKAGE;
	f[0].package = &p;
	fp[0] = &f[0];
	b.findings = fp;
	b.n_findings = 1;
	b.source = &src;
	if (px_client_send(c, &b, NULL) < 0 || px_client_flush(c, 60000) < 0)
		exit(1);
	px_client_stop(c);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "sources", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 't' },
		{ "batch", required_argument, NULL, 'b' },
		{ "collector", required_argument, NULL, 'c' },
		{ "loads", required_argument, NULL, 'l' },
		{ "life", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->sources = 4;
	o->rate = 0;
	o->seconds = 10;
	o->batch = 500;
	o->load_pct = 5;
	o->life = 1;
	o->collector = getenv("PX_COLLECTOR_BIN");
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm': o->sources = atoi(optarg); break;
		case 'r': o->rate = atof(optarg); break;
		case 't': o->seconds = atoi(optarg); break;
		case 'b': o->batch = atoi(optarg); break;
		case 'c': o->collector = optarg; break;
		case 'l': o->load_pct = atof(optarg); break;
		case 'L': o->life = atoi(optarg); break;
		default:
			printf("usage: bench_collector_ingest [--sources M] [--rate EV/S|0] [--seconds T] [--batch N] [--loads PCT] [--life BATCHES] [--collector BIN]\n");
			exit(c == 'h' ? 0 : 2);
		}
	}
	if (o->sources < 1 || o->sources > MAX_SOURCES || o->batch < 3 ||
	    o->seconds < 1 || o->collector == NULL || o->load_pct < 0 ||
	    o->load_pct > 100 || o->life < 1 || o->life > 1000000) {
		fprintf(stderr, "bench: bad options (sources 1..%d, batch >= 3, life 1..1000000, --collector or $PX_COLLECTOR_BIN)\n",
			MAX_SOURCES);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	static struct source src[MAX_SOURCES];
	char dir[] = "/tmp/pxbench.XXXXXX", err[1024], dsn[PATH_MAX + 200];
	char listen[64];
	struct coll_epg epg = { 0 };
	pthread_t th[MAX_SOURCES], poller;
	uint64_t t0, t1, *lat, nlat = 0;
	double raw, raw_text;
	long rows, copied;
	uint64_t prepacked = 0, sent = 0;
	double evs, ratio;
	int loads;
	struct opts o;
	PGconn *db;
	pid_t pid;
	int status;

	parse(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	px_log_set_level("error");
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0 ||
	    coll_epg_start(&epg, dir, getenv("PX_PG_BINDIR"), err,
			   sizeof(err)) < 0) {
		fprintf(stderr, "bench: cannot start PostgreSQL: %s\n", err);
		return 1;
	}
	cleanup_epg = &epg;
	atexit(cleanup);
	libs_init();
	snprintf(dsn, sizeof(dsn), "%s", epg.dsn);
	db = db_connect(dsn);
	if (coll_migrate(db, err, sizeof(err)) < 0)
		return 1;

	pid = spawn_collector(o.collector, dsn, dir, listen);
	preload_findings(listen);
	for (int i = 0; i < o.sources; i++) {
		struct px_client_config cfg = { 0 };
		Parallax__V1__Source s = PARALLAX__V1__SOURCE__INIT;
		Parallax__V1__HostFacts h = PARALLAX__V1__HOST_FACTS__INIT;

		src[i].idx = i;
		src[i].o = &o;
		snprintf(src[i].host, sizeof(src[i].host), "bench-host-%d", i);
		snprintf(src[i].source_id, sizeof(src[i].source_id), "agent-%d", i);
		px_uuid4(src[i].boot);
		h.host_id = src[i].host;
		s.source_id = src[i].source_id;
		s.boot_id = src[i].boot;
		s.kind = PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_AGENT;
		s.host = &h;
		cfg.target = listen;
		cfg.source = &s;
		/* Unpaced, the sources run ahead only this far of the acks. */
		cfg.max_pending_bytes = o.rate > 0 ? 256u << 20 : 8u << 20;
		src[i].client = px_client_start(&cfg, err, sizeof(err));
		src[i].sent_ns = calloc(MAX_BATCHES, sizeof(uint64_t));
		src[i].acked_ns = calloc(MAX_BATCHES, sizeof(uint64_t));
		if (src[i].client == NULL || !src[i].sent_ns || !src[i].acked_ns)
			return 1;
	}
	for (int i = 0; i < o.sources; i++) {
		struct tmpl t;

		tmpl_init(&t, &src[i], o.batch, o.load_pct, o.life);
		prepack(&src[i], &t, batches_needed(&o),
			PREPACK_MAX_BYTES / (uint64_t)o.sources);
		tmpl_free(&t);
		prepacked += src[i].n_packed;
	}
	t0 = mono();
	for (int i = 0; i < o.sources; i++)
		pthread_create(&th[i], NULL, source_main, &src[i]);
	pthread_create(&poller, NULL, poller_main, src);
	for (int i = 0; i < o.sources; i++)
		pthread_join(th[i], NULL);
	pthread_join(poller, NULL);
	t1 = 0;
	for (int i = 0; i < o.sources; i++) {
		if (src[i].acked_ns[src[i].sent] > t1)
			t1 = src[i].acked_ns[src[i].sent];
		px_client_stop(src[i].client);
	}

	lat = calloc(MAX_BATCHES * (size_t)o.sources, sizeof(*lat));
	for (int i = 0; i < o.sources && lat; i++)
		for (uint64_t k = 1; k <= src[i].sent; k++)
			lat[nlat++] = src[i].acked_ns[k] - src[i].sent_ns[k];
	qsort(lat, nlat, sizeof(*lat), cmp_u64);

	for (int i = 0; i < o.sources; i++)
		sent += src[i].sent;
	rows = db_long(db, "SELECT count(*) FROM events");
	evs = rows / ((t1 - t0) / 1e9);
	loads = loads_per_batch(o.batch, o.load_pct);
	printf("sources=%d batch=%d rate=%s%.0f seconds=%d life=%d\n",
	       o.sources, o.batch, o.rate > 0 ? "" : "max:", o.rate, o.seconds,
	       o.life);
	printf("loads_per_batch=%d correlating_per_batch=%d load_share=%.1f%% "
	       "(1 load in %d matches a stored finding)\n", loads,
	       (loads + CORR_EVERY - 1) / CORR_EVERY, 100.0 * loads / o.batch,
	       CORR_EVERY);
	printf("prepacked_batches=%" PRIu64 " sent_batches=%" PRIu64 "%s\n",
	       prepacked, sent, sent > prepacked ?
	       " (the rest packed during the run)" : "");
	printf("committed_events=%ld correlations=%ld elapsed_s=%.2f "
	       "events_per_s=%.0f\n", rows,
	       db_long(db, "SELECT count(*) FROM correlations"),
	       (t1 - t0) / 1e9, evs);
	if (nlat > 0)
		printf("batches=%" PRIu64 " ack_ms_p50=%.1f ack_ms_p99=%.1f "
		       "ack_ms_max=%.1f\n", nlat, lat[nlat / 2] / 1e6,
		       lat[nlat * 99 / 100] / 1e6, lat[nlat - 1] / 1e6);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	cleanup_pid = 0;
	/* The baseline is the faster of the two formats (the collector sends
	 * binary). */
	raw_text = raw_copy_rate(db, &copied, false);
	raw = raw_copy_rate(db, &copied, true);
	if (raw_text > raw)
		raw = raw_text;
	ratio = evs / raw;
	printf("raw_copy_rows=%ld raw_copy_text_per_s=%.0f "
	       "raw_copy_per_s=%.0f ratio=%.2f\n", copied, raw_text, raw,
	       ratio);
	verdicts(&o, evs, ratio, nlat > 0 ? lat[nlat * 99 / 100] / 1e6 : -1);
	PQfinish(db);
	free(lat);
	coll_epg_stop(&epg, err, sizeof(err));
	cleanup_epg = NULL;
	fflush(stdout);
	execlp("rm", "rm", "-rf", dir, (char *)NULL);
	return 0;
}
