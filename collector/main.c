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

#include <libpq-fe.h>
#include <uv.h>

#include "config.h"
#include "embedded_pg.h"
#include "host.h"
#include "ingest.h"
#include "log.h"
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
	{ "collector.tls_ca", NULL, "CA bundle (PEM) for mutual TLS" },
	{ "collector.tls_cert", NULL, "server certificate (PEM)" },
	{ "collector.tls_key", NULL, "server private key (PEM)" },
	{ "log.level", "info", "error | warn | info | debug" },
	{ NULL, NULL, NULL },
};

struct collector {
	uv_loop_t *loop;
	struct px_server *server;
	struct coll_sink *sink;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	uv_timer_t drain;
	uint64_t drain_deadline;
	bool stopping;
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

static void on_batch(struct px_inbatch *ib, void *arg)
{
	struct collector *c = arg;

	if (coll_sink_submit(c->sink, ib->batch, ib->peer_identity, ib->peer,
			     ack_inbatch, ib) < 0)
		/* Not acked: the source resends it after reconnecting. */
		px_error("collector", "out of memory, batch dropped unacked",
			 "peer=%s seq=%" PRIu64, px_q(ib->peer), ib->batch->seq);
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
	coll_sink_free(c->sink);
	c->sink = NULL;
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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *flag_key[128] = {
		['l'] = "collector.listen", ['d'] = "collector.db",
		['D'] = "collector.data_dir", ['L'] = "log.level",
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

static int serve(struct px_config *cfg, const char *dsn, const char *db_kind)
{
	struct collector c = { 0 };
	struct px_server_config scfg = { 0 };
	struct coll_sink_config kcfg = { 0 };
	char err[512] = "must be a positive number";
	int64_t hw = 256;

	if (px_config_get_i64(cfg, "collector.queue_high_water", &hw, err,
			      sizeof(err)) < 0 || hw <= 0) {
		px_error("collector", "bad collector.queue_high_water", "err=%s",
			 px_q(err));
		return 2;
	}
	c.loop = uv_default_loop();
	kcfg.loop = c.loop;
	kcfg.dsn = dsn;
	kcfg.high_water = (size_t)hw;
	kcfg.on_pressure = on_pressure;
	kcfg.arg = &c;
	c.sink = coll_sink_new(&kcfg);
	if (c.sink == NULL) {
		px_error("collector", "out of memory");
		return 1;
	}
	scfg.listen = px_config_get(cfg, "collector.listen");
	scfg.tls_ca = px_config_get(cfg, "collector.tls_ca");
	scfg.tls_cert = px_config_get(cfg, "collector.tls_cert");
	scfg.tls_key = px_config_get(cfg, "collector.tls_key");
	c.server = px_server_start(c.loop, &scfg, on_batch, &c, err,
				   sizeof(err));
	if (c.server == NULL) {
		px_error("collector", "cannot start the gRPC server",
			 "listen=%s err=%s", px_q(scfg.listen), px_q(err));
		coll_sink_free(c.sink);
		uv_run(c.loop, UV_RUN_DEFAULT);
		return 1;
	}
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
