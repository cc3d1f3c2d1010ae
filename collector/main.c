// SPDX-License-Identifier: Apache-2.0
/*
 * parallax-collector: receives batches from agents and scanners over gRPC,
 * commits them to PostgreSQL (ingest.c) and acks each one only after its
 * commit.  Without --db it runs its own PostgreSQL cluster in the data
 * directory (embedded_pg.c).
 *
 * Start-up (blocking, before the loop): configuration, the embedded cluster
 * if needed, schema migrations, <data-dir>/collector.dsn for the CLI.  Then
 * the libuv loop owns everything: the gRPC server hands batches to the loop,
 * the sink commits them on a non-blocking connection.  SIGINT/SIGTERM: stop
 * reading from the network, let the queue drain (bounded), stop the server,
 * close the database, and stop the embedded cluster.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpc/status.h>
#include <libpq-fe.h>
#include <uv.h>

#include "config.h"
#include "embedded_pg.h"
#include "host.h"
#include "ingest.h"
#include "log.h"
#include "http.h"
#include "maint.h"
#include "metrics.h"
#include "migrate.h"
#include "transport.h"

#define DRAIN_TICK_MS 100
#define DRAIN_MAX_MS 10000

static const struct px_config_key collector_keys[] = {
	{ "collector.listen", "127.0.0.1:50551",
	  "address the gRPC server binds (host:port; port 0 picks one)" },
	{ "collector.db", NULL,
	  "libpq DSN of the database; unset: run the embedded PostgreSQL" },
	{ "collector.data_dir", "/var/lib/parallax",
	  "state directory: embedded cluster (pg/, run/) and collector.dsn" },
	{ "collector.pg_bindir", NULL,
	  "PostgreSQL server binaries for the embedded cluster "
	  "(default: newest /usr/lib/postgresql/<ver>/bin)" },
	{ "collector.queue_high_water", "256",
	  "batches waiting for the database before intake pauses" },
	{ "collector.queue_limit", "0",
	  "batches waiting for the database past which more are refused with "
	  "RESOURCE_EXHAUSTED and their stream ends (0: no bound but memory)" },
	{ "collector.copy_rows", "10000",
	  "events that close an ingest group (one COPY, one transaction)" },
	{ "collector.copy_ms", "20",
	  "milliseconds after which a partial ingest group is closed" },
	{ "collector.retention_days", "30",
	  "days of events kept; older day partitions are dropped (0: keep all)" },
	{ "collector.partitions_ahead", "2",
	  "day partitions of the events table created ahead of today" },
	{ "collector.maint_interval_s", "3600",
	  "seconds between partition maintenance runs" },
	{ "collector.tls_ca", NULL, "CA bundle (PEM) for mutual TLS" },
	{ "collector.tls_cert", NULL, "server certificate (PEM)" },
	{ "collector.tls_key", NULL, "server private key (PEM)" },
	{ "collector.tls_allowed_cns", NULL,
	  "comma-separated client certificate CNs accepted as sources under "
	  "mutual TLS (unset: any certificate the CA signed)" },
	{ "collector.http_listen", NULL,
	  "address of the read-only HTTP API, /metrics and /healthz "
	  "(host:port; unset: off)" },
	{ "log.level", "info", "error | warn | info | debug" },
	{ NULL, NULL, NULL },
};

struct collector {
	uv_loop_t *loop;
	struct px_server *server;
	struct coll_sink *sink;
	struct coll_maint *maint;
	struct coll_metrics *metrics;
	struct coll_http *http;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	uv_timer_t drain;
	uint64_t drain_deadline;
	bool stopping;
	bool tls;                /* mutual TLS: identity from the cert */
	const char *allowed_cns; /* NULL: any CN the CA vouches for */
	uint64_t refused;
};

static void usage(FILE *out, const struct px_config *cfg)
{
	fprintf(out,
		"usage: parallax-collector [options]\n"
		"\n"
		"Receives batches from parallax agents and scanners, correlates\n"
		"them and stores them in PostgreSQL.\n"
		"\n"
		"  --listen ADDR       gRPC address (collector.listen)\n"
		"  --db DSN            use this PostgreSQL (collector.db)\n"
		"  --data-dir DIR      state directory (collector.data_dir)\n"
		"  --http ADDR         HTTP API and /metrics (collector.http_listen)\n"
		"  --retention-days N  days of events kept (collector.retention_days)\n"
		"  --config FILE       YAML configuration file\n"
		"  --log-level LEVEL   error | warn | info | debug (log.level)\n"
		"  --help, --version\n"
		"\n"
		"Without a DSN the collector runs a private PostgreSQL cluster under\n"
		"DIR/pg (needs the server package: apt-get install postgresql) and\n"
		"writes its DSN to DIR/collector.dsn for the parallax CLI.\n"
		"\n"
		"Configuration keys:\n");
	px_config_print_keys(cfg, out);
}

static void ack_inbatch(void *ctx, Parallax__V1__AckStatus status,
			const char *detail)
{
	px_inbatch_ack(ctx, status, detail);
}

/* True when <cn> is one of the comma-separated <list>. */
static bool cn_listed(const char *list, const char *cn)
{
	size_t n = strlen(cn);

	while (*list != '\0') {
		size_t len;

		while (*list == ' ' || *list == ',')
			list++;
		len = strcspn(list, ",");
		while (len > 0 && list[len - 1] == ' ')
			len--;
		if (len == n && len > 0 && strncmp(list, cn, n) == 0)
			return true;
		list += strcspn(list, ",");
	}
	return false;
}

/*
 * Under mutual TLS the source is who its certificate says; a batch without
 * an identity, or from a CN not allowed, is refused whatever its payload
 * claims.  The stream ends with PERMISSION_DENIED and the source keeps its
 * batch, so allowing its CN later loses nothing.
 */
static bool source_known(struct collector *c, const struct px_inbatch *ib)
{
	if (!c->tls)
		return true;
	if (ib->peer_identity != NULL &&
	    (c->allowed_cns == NULL || cn_listed(c->allowed_cns,
						 ib->peer_identity)))
		return true;
	c->refused++;
	px_warn("collector", "batch from an unknown source refused",
		"peer=%s identity=%s claimed=%s seq=%" PRIu64, px_q(ib->peer),
		px_q(ib->peer_identity ? ib->peer_identity : "-"),
		px_q(ib->batch->source && ib->batch->source->source_id ?
		     ib->batch->source->source_id : "-"), ib->batch->seq);
	return false;
}

/* True when the certificate's host bindings cover <host_id>. */
static bool host_bound(const char *const *hosts, const char *host_id)
{
	for (; hosts != NULL && *hosts != NULL; hosts++)
		if (strcmp(*hosts, "*") == 0 || strcmp(*hosts, host_id) == 0)
			return true;
	return false;
}

/*
 * Under mutual TLS the host a batch speaks for must be one its certificate
 * is bound to (SAN URIs PX_TLS_HOST_URI<host_id>), or a certificate for
 * host A could write rows for host B: every row takes its host_id from the
 * batch's host facts.  Refused like an unknown source.
 */
static bool host_allowed(struct collector *c, const struct px_inbatch *ib)
{
	const char *host_id = ib->batch->source->host->host_id;

	if (!c->tls || host_bound(ib->peer_hosts, host_id))
		return true;
	c->refused++;
	px_warn("collector", "batch for a host its certificate does not cover refused",
		"peer=%s identity=%s host=%s seq=%" PRIu64, px_q(ib->peer),
		px_q(ib->peer_identity), px_q(host_id), ib->batch->seq);
	return false;
}

static void on_batch(struct px_inbatch *ib, void *arg)
{
	struct collector *c = arg;
	int ret;

	if (!source_known(c, ib)) {
		px_inbatch_fail(ib, GRPC_STATUS_PERMISSION_DENIED,
				"unknown source: client certificate not allowed");
		return;
	}
	if (!host_allowed(c, ib)) {
		px_inbatch_fail(ib, GRPC_STATUS_PERMISSION_DENIED,
				"host not covered by the client certificate");
		return;
	}

	ret = coll_sink_submit(c->sink, ib->batch, ib->peer_identity, ib->peer,
			       ack_inbatch, ib);
	if (ret < 0) {
		/*
		 * Refused unacked, and its stream ends: the transport refuses
		 * the stream's later batches too, so none of them commits and
		 * raises the source's mark past this one; the source replays
		 * from its last ack after reconnecting.
		 */
		px_warn("collector", "batch refused, stream ended",
			"peer=%s seq=%" PRIu64 " reason=%s", px_q(ib->peer),
			ib->batch->seq, ret == -ENOBUFS ? "queue_full" :
			"out_of_memory");
		px_inbatch_fail(ib, GRPC_STATUS_RESOURCE_EXHAUSTED,
				ret == -ENOBUFS ? "collector queue full" :
				"collector out of memory");
	}
}

static void on_commit(void *arg, const struct coll_commit_info *ci)
{
	struct collector *c = arg;

	if (c->metrics != NULL)
		coll_metrics_on_commit(c->metrics, ci);
}

static int start_http(struct collector *c, struct px_config *cfg,
		      const char *dsn)
{
	struct coll_http_config hcfg = { 0 };
	char err[256];

	hcfg.listen = px_config_get(cfg, "collector.http_listen");
	if (hcfg.listen == NULL || hcfg.listen[0] == '\0')
		return 0;
	hcfg.loop = c->loop;
	hcfg.dsn = dsn;
	hcfg.metrics = c->metrics;
	c->http = coll_http_start(&hcfg, err, sizeof(err));
	if (c->http == NULL) {
		px_error("collector", "cannot start the HTTP API", "listen=%s err=%s",
			 px_q(hcfg.listen), px_q(err));
		return -EINVAL;
	}
	px_info("collector", "HTTP API ready", "listen=%s http_port=%d",
		px_q(hcfg.listen), coll_http_port(c->http));
	return 0;
}

static void on_pressure(void *arg, bool high)
{
	struct collector *c = arg;

	if (c->server != NULL && !c->stopping)
		px_server_set_paused(c->server, high);
}

static void close_all(struct collector *c)
{
	struct coll_sink_stats st;

	coll_sink_get_stats(c->sink, &st);
	if (st.queued > 0)
		px_warn("collector", "stopping with batches not committed; their sources will resend them",
			"queued=%zu", st.queued);
	coll_http_stop(c->http);
	c->http = NULL;
	coll_metrics_free(c->metrics);
	c->metrics = NULL;
	coll_sink_free(c->sink);
	c->sink = NULL;
	coll_maint_free(c->maint);
	c->maint = NULL;
	px_server_stop(c->server);
	c->server = NULL;
	uv_close((uv_handle_t *)&c->sigint, NULL);
	uv_close((uv_handle_t *)&c->sigterm, NULL);
	uv_close((uv_handle_t *)&c->drain, NULL);
	px_info("collector", "stopped", "committed=%" PRIu64
		" duplicates=%" PRIu64 " rejected=%" PRIu64,
		st.committed, st.duplicates, st.rejected);
}

static void on_drain_tick(uv_timer_t *t)
{
	struct collector *c = t->data;
	struct coll_sink_stats st;

	coll_sink_get_stats(c->sink, &st);
	if (st.queued == 0 || uv_now(c->loop) >= c->drain_deadline) {
		uv_timer_stop(t);
		close_all(c);
	}
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct collector *c = h->data;

	if (c->stopping) {
		px_warn("collector", "second signal, stopping now", "signal=%d",
			signum);
		c->drain_deadline = 0;
		return;
	}
	c->stopping = true;
	px_info("collector", "stopping: draining the queue", "signal=%d",
		signum);
	px_server_set_paused(c->server, true);
	c->drain_deadline = uv_now(c->loop) + DRAIN_MAX_MS;
	uv_timer_start(&c->drain, on_drain_tick, 0, DRAIN_TICK_MS);
}

/* Applies the migrations over a short-lived blocking connection. */
static int migrate_db(const char *dsn)
{
	char err[512];
	PGconn *conn = PQconnectdb(dsn);
	int n;

	if (PQstatus(conn) != CONNECTION_OK) {
		px_error("collector", "cannot reach the database", "dsn=%s err=%s",
			 px_q(dsn), px_q(PQerrorMessage(conn)));
		PQfinish(conn);
		return -EIO;
	}
	n = coll_migrate(conn, err, sizeof(err));
	PQfinish(conn);
	if (n < 0) {
		px_error("collector", "schema migration failed", "err=%s",
			 px_q(err));
		return n;
	}
	px_info("collector", "schema up to date", "applied=%d known=%zu", n,
		coll_n_migrations);
	return 0;
}

/* Writes <data-dir>/collector.dsn (mode 0600) atomically. */
static int write_dsn(const char *data_dir, const char *dsn)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int fd, ret = 0;
	size_t n = strlen(dsn);

	snprintf(path, sizeof(path), "%s/collector.dsn", data_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (mkdir(data_dir, 0755) != 0 && errno != EEXIST)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, dsn, n) != (ssize_t)n || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0)
		ret = -EIO;
	if (close(fd) != 0 && ret == 0)
		ret = -EIO;
	if (ret == 0 && rename(tmp, path) != 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* Parses the command line into <cfg>.  Returns 0, 1 when the program
 * should exit 0 (--help, --version), or -EINVAL (usage error). */
static int parse_args(int argc, char **argv, struct px_config *cfg)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "data-dir", required_argument, NULL, 'D' },
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "retention-days", required_argument, NULL, 'R' },
		{ "http", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *flag_key[128] = {
		['l'] = "collector.listen", ['d'] = "collector.db",
		['D'] = "collector.data_dir", ['L'] = "log.level",
		['R'] = "collector.retention_days", ['H'] = "collector.http_listen",
	};
	const char *flag_val[128] = { 0 };
	const char *config_file = NULL;
	char err[512];
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			usage(stdout, cfg);
			return 1;
		case 'V':
			printf("parallax-collector %s\n", PX_VERSION);
			return 1;
		case 'c':
			config_file = optarg;
			break;
		case 'l':
		case 'd':
		case 'D':
		case 'L':
		case 'R':
		case 'H':
			flag_val[o] = optarg;
			break;
		default:
			fprintf(stderr, "parallax-collector: see --help\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "parallax-collector: unexpected argument '%s'; see --help\n",
			argv[optind]);
		return -EINVAL;
	}
	if (config_file != NULL &&
	    px_config_load_file(cfg, config_file, err, sizeof(err)) < 0) {
		fprintf(stderr, "parallax-collector: %s\n", err);
		return -EINVAL;
	}
	/* Flags override the file. */
	for (int k = 0; k < 128; k++)
		if (flag_key[k] != NULL && flag_val[k] != NULL &&
		    px_config_set(cfg, flag_key[k], flag_val[k], err,
				  sizeof(err)) < 0) {
			fprintf(stderr, "parallax-collector: %s\n", err);
			return -EINVAL;
		}
	if (px_log_set_level(px_config_get(cfg, "log.level")) < 0) {
		fprintf(stderr, "parallax-collector: log level '%s' is not one of error, warn, info, debug\n",
			px_config_get(cfg, "log.level"));
		return -EINVAL;
	}
	return 0;
}

/* A non-negative integer key; -EINVAL (logged) otherwise. */
static int get_count(struct px_config *cfg, const char *key, int64_t *out)
{
	char err[256] = "must not be negative";

	if (px_config_get_i64(cfg, key, out, err, sizeof(err)) < 0 ||
	    *out < 0) {
		px_error("collector", "bad configuration value", "key=%s err=%s",
			 key, px_q(err));
		return -EINVAL;
	}
	return 0;
}

static int start_maint(struct collector *c, struct px_config *cfg,
		       const char *dsn)
{
	struct coll_maint_config mcfg = { 0 };
	int64_t ret, ahead, every;

	if (get_count(cfg, "collector.retention_days", &ret) < 0 ||
	    get_count(cfg, "collector.partitions_ahead", &ahead) < 0 ||
	    get_count(cfg, "collector.maint_interval_s", &every) < 0)
		return -EINVAL;
	mcfg.loop = c->loop;
	mcfg.dsn = dsn;
	mcfg.retention_days = (int)ret;
	mcfg.ahead_days = (int)ahead;
	mcfg.interval_ms = (uint64_t)every * 1000u;
	c->maint = coll_maint_new(&mcfg);
	return c->maint != NULL ? 0 : -ENOMEM;
}

static int serve(struct px_config *cfg, const char *dsn, const char *db_kind)
{
	struct collector c = { 0 };
	struct px_server_config scfg = { 0 };
	struct coll_sink_config kcfg = { 0 };
	char err[512] = "must be a positive number";
	int64_t hw = 256, rows, ms, limit;

	if (px_config_get_i64(cfg, "collector.queue_high_water", &hw, err,
			      sizeof(err)) < 0 || hw <= 0) {
		px_error("collector", "bad collector.queue_high_water", "err=%s",
			 px_q(err));
		return 2;
	}
	if (get_count(cfg, "collector.copy_rows", &rows) < 0 ||
	    get_count(cfg, "collector.copy_ms", &ms) < 0 ||
	    get_count(cfg, "collector.queue_limit", &limit) < 0)
		return 2;
	c.loop = uv_default_loop();
	kcfg.loop = c.loop;
	kcfg.dsn = dsn;
	kcfg.high_water = (size_t)hw;
	kcfg.flush_rows = (size_t)rows;
	kcfg.flush_ms = (unsigned int)ms;
	kcfg.max_queued = (size_t)limit;
	kcfg.on_pressure = on_pressure;
	kcfg.on_commit = on_commit;
	kcfg.arg = &c;
	c.sink = coll_sink_new(&kcfg);
	if (c.sink == NULL) {
		px_error("collector", "out of memory");
		return 1;
	}
	c.metrics = coll_metrics_new(c.loop, c.sink);
	if (c.metrics == NULL || start_maint(&c, cfg, dsn) < 0 ||
	    start_http(&c, cfg, dsn) < 0) {
		coll_metrics_free(c.metrics);
		coll_maint_free(c.maint);
		coll_sink_free(c.sink);
		uv_run(c.loop, UV_RUN_DEFAULT);
		return 2;
	}
	scfg.listen = px_config_get(cfg, "collector.listen");
	scfg.tls_ca = px_config_get(cfg, "collector.tls_ca");
	scfg.tls_cert = px_config_get(cfg, "collector.tls_cert");
	scfg.tls_key = px_config_get(cfg, "collector.tls_key");
	c.tls = scfg.tls_cert != NULL && scfg.tls_cert[0] != '\0';
	c.allowed_cns = px_config_get(cfg, "collector.tls_allowed_cns");
	if (c.allowed_cns != NULL && c.allowed_cns[0] == '\0')
		c.allowed_cns = NULL;
	c.server = px_server_start(c.loop, &scfg, on_batch, &c, err,
				   sizeof(err));
	if (c.server == NULL) {
		px_error("collector", "cannot start the gRPC server",
			 "listen=%s err=%s", px_q(scfg.listen), px_q(err));
		coll_http_stop(c.http);
		coll_metrics_free(c.metrics);
		coll_sink_free(c.sink);
		coll_maint_free(c.maint);
		uv_run(c.loop, UV_RUN_DEFAULT);
		return 1;
	}
	coll_metrics_set_server(c.metrics, c.server);
	uv_signal_init(c.loop, &c.sigint);
	uv_signal_init(c.loop, &c.sigterm);
	uv_timer_init(c.loop, &c.drain);
	c.sigint.data = c.sigterm.data = c.drain.data = &c;
	uv_signal_start(&c.sigint, on_signal, SIGINT);
	uv_signal_start(&c.sigterm, on_signal, SIGTERM);

	px_info("collector", "collector ready", "listen=%s port=%d tls=%s db=%s dsn=%s",
		px_q(scfg.listen), px_server_port(c.server),
		scfg.tls_cert != NULL ? "mutual" : "off", db_kind, px_q(dsn));
	uv_run(c.loop, UV_RUN_DEFAULT);
	uv_loop_close(c.loop);
	return 0;
}

int main(int argc, char **argv)
{
	struct px_config *cfg = px_config_new(collector_keys);
	struct coll_epg epg = { 0 };
	const char *dsn, *data_dir;
	bool embedded;
	char err[1024];
	int ret;

	if (cfg == NULL)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	ret = parse_args(argc, argv, cfg);
	if (ret != 0) {
		px_config_free(cfg);
		return ret > 0 ? 0 : 2;
	}
	data_dir = px_config_get(cfg, "collector.data_dir");
	dsn = px_config_get(cfg, "collector.db");
	embedded = dsn == NULL || dsn[0] == '\0';
	if (embedded) {
		if (coll_epg_start(&epg, data_dir,
				   px_config_get(cfg, "collector.pg_bindir"),
				   err, sizeof(err)) < 0) {
			px_error("collector", "cannot run the embedded PostgreSQL",
				 "data_dir=%s err=%s", px_q(data_dir), px_q(err));
			ret = 1;
			goto out_stop_pg;
		}
		dsn = epg.dsn;
	}
	if (migrate_db(dsn) < 0) {
		ret = 1;
		goto out_stop_pg;
	}
	ret = write_dsn(data_dir, dsn);
	if (ret < 0)
		px_warn("collector", "cannot write collector.dsn; the CLI will need --db",
			"data_dir=%s err=%s", px_q(data_dir), strerror(-ret));
	ret = serve(cfg, dsn, embedded ? "embedded" : "external");

out_stop_pg:
	if (embedded && coll_epg_stop(&epg, err, sizeof(err)) < 0) {
		px_error("collector", "cannot stop the embedded PostgreSQL",
			 "err=%s", px_q(err));
		ret = 1;
	}
	px_config_free(cfg);
	return ret;
}
