// SPDX-License-Identifier: Apache-2.0
/*
 * parallax-agent: the eBPF runtime agent of one node.  This file only turns
 * flags and the config file into agent options; agent.c runs the agent.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "config.h"
#include "host.h"
#include "log.h"

static const struct px_config_key keys[] = {
	{ "agent.collector", "127.0.0.1:50551",
	  "collector address HOST:PORT (flag --collector)" },
	{ "agent.source_id", NULL,
	  "source id on the wire (default agent:<host_id>)" },
	{ "agent.stdout", "false",
	  "print events as JSON lines on stdout instead of sending (flag --stdout)" },
	{ "agent.tls_ca", NULL, "CA bundle (PEM) for mutual TLS" },
	{ "agent.tls_cert", NULL, "client certificate (PEM) for mutual TLS" },
	{ "agent.tls_key", NULL, "client key (PEM) for mutual TLS" },
	{ "agent.rescan_interval_ms", "30000",
	  "period of the full pass over all processes' open artifacts" },
	{ "agent.health_interval_ms", "10000", "period of AgentHealth events" },
	{ "agent.batch_max_events", "256", "events per batch at most" },
	{ "agent.batch_delay_ms", "200", "a partial batch is sent after this" },
	{ "agent.queue_max_events", "65536",
	  "events held while the collector is slow; more are dropped and counted" },
	{ "agent.hash_max_bytes", "1073741824",
	  "artifacts larger than this are reported without sha256" },
	{ "agent.hash_cache_entries", "65536",
	  "file versions whose sha256 is remembered" },
	{ "agent.iter_dpath", "true",
	  "artifact paths from bpf_d_path in the kernel (false: from /proc/<pid>/fd)" },
	{ "agent.ringbuf_bytes", "4194304",
	  "kernel ring buffer size (a power of two, at least 4096)" },
	{ "log.level", "info", "error, warn, info or debug (flag --log-level)" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *f, const struct px_config *cfg)
{
	fprintf(f,
		"usage: parallax-agent [flags]\n"
		"\n"
		"Streams process lifecycle and loaded artifacts (jar, war, ear, zip, so)\n"
		"of this node to the collector.  Needs root, or CAP_BPF, CAP_PERFMON and\n"
		"CAP_SYS_RESOURCE, and a kernel with BTF (/sys/kernel/btf/vmlinux).\n"
		"\n"
		"flags:\n"
		"  --collector HOST:PORT  collector address (default 127.0.0.1:50551)\n"
		"  --stdout               print events as JSON lines on stdout, send nothing\n"
		"  --source-id ID         source id (default agent:<host_id>)\n"
		"  --rescan-interval MS   full artifact pass period (default 30000)\n"
		"  --health-interval MS   AgentHealth period (default 10000)\n"
		"  --config FILE          YAML config; flags override its keys\n"
		"  --log-level LEVEL      error, warn, info or debug\n"
		"  --version              print the version and exit\n"
		"  --help                 this text\n"
		"\n"
		"config keys:\n");
	px_config_print_keys(cfg, f);
}

/* Reads the integer <key> into <out>; -EINVAL with a message when bad. */
static int get_u64(const struct px_config *cfg, const char *key, uint64_t min,
		   uint64_t *out)
{
	char err[256];
	int64_t v;

	if (px_config_get_i64(cfg, key, &v, err, sizeof(err)) < 0 ||
	    v < (int64_t)min) {
		fprintf(stderr, "parallax-agent: %s must be an integer >= %" PRIu64 "%s%s\n",
			key, min, err[0] ? ": " : "", err);
		return -EINVAL;
	}
	*out = (uint64_t)v;
	return 0;
}

static int to_options(const struct px_config *cfg, struct agent_options *o)
{
	char err[256] = "";
	bool b;

	o->collector = px_config_get(cfg, "agent.collector");
	o->source_id = px_config_get(cfg, "agent.source_id");
	o->tls_ca = px_config_get(cfg, "agent.tls_ca");
	o->tls_cert = px_config_get(cfg, "agent.tls_cert");
	o->tls_key = px_config_get(cfg, "agent.tls_key");
	if (px_config_get_bool(cfg, "agent.stdout", &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "parallax-agent: %s\n", err);
		return -EINVAL;
	}
	o->to_stdout = b;
	if (px_config_get_bool(cfg, "agent.iter_dpath", &b, err,
			       sizeof(err)) < 0) {
		fprintf(stderr, "parallax-agent: %s\n", err);
		return -EINVAL;
	}
	o->iter_dpath = b;
	if (!o->to_stdout && (!o->collector || !*o->collector)) {
		fprintf(stderr, "parallax-agent: agent.collector is empty; give --collector HOST:PORT or --stdout\n");
		return -EINVAL;
	}
	if (get_u64(cfg, "agent.rescan_interval_ms", 100, &o->rescan_ms) ||
	    get_u64(cfg, "agent.health_interval_ms", 100, &o->health_ms) ||
	    get_u64(cfg, "agent.batch_max_events", 1, &o->batch_max_events) ||
	    get_u64(cfg, "agent.batch_delay_ms", 1, &o->batch_delay_ms) ||
	    get_u64(cfg, "agent.queue_max_events", 1, &o->queue_max_events) ||
	    get_u64(cfg, "agent.hash_max_bytes", 0, &o->hash_max_bytes) ||
	    get_u64(cfg, "agent.hash_cache_entries", 1, &o->hash_cache_entries) ||
	    get_u64(cfg, "agent.ringbuf_bytes", 4096, &o->ringbuf_bytes))
		return -EINVAL;
	if (o->ringbuf_bytes & (o->ringbuf_bytes - 1) ||
	    o->ringbuf_bytes > (1ull << 30)) {
		fprintf(stderr, "parallax-agent: agent.ringbuf_bytes must be a power of two between 4096 and 1073741824\n");
		return -EINVAL;
	}
	return 0;
}

enum {
	OPT_COLLECTOR = 256, OPT_STDOUT, OPT_SOURCE_ID, OPT_RESCAN, OPT_HEALTH,
	OPT_CONFIG, OPT_LOG_LEVEL, OPT_VERSION, OPT_HELP,
};

static const struct option long_opts[] = {
	{ "collector", required_argument, NULL, OPT_COLLECTOR },
	{ "stdout", no_argument, NULL, OPT_STDOUT },
	{ "source-id", required_argument, NULL, OPT_SOURCE_ID },
	{ "rescan-interval", required_argument, NULL, OPT_RESCAN },
	{ "health-interval", required_argument, NULL, OPT_HEALTH },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char *flag_key(int opt)
{
	switch (opt) {
	case OPT_COLLECTOR: return "agent.collector";
	case OPT_STDOUT: return "agent.stdout";
	case OPT_SOURCE_ID: return "agent.source_id";
	case OPT_RESCAN: return "agent.rescan_interval_ms";
	case OPT_HEALTH: return "agent.health_interval_ms";
	case OPT_LOG_LEVEL: return "log.level";
	default: return NULL;
	}
}

/*
 * Two passes over argv: the first finds --config (and --help/--version) so
 * the file is loaded before the other flags override its keys.
 */
static int parse_args(int argc, char **argv, struct px_config *cfg)
{
	char err[256];
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (opt == OPT_HELP) {
			usage(stdout, cfg);
			exit(0);
		}
		if (opt == OPT_VERSION) {
			printf("parallax-agent %s\n", PX_VERSION);
			exit(0);
		}
		if (opt == '?') {
			fprintf(stderr, "parallax-agent: unknown flag or missing value: %s (see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
		if (opt == OPT_CONFIG &&
		    px_config_load_file(cfg, optarg, err, sizeof(err)) < 0) {
			fprintf(stderr, "parallax-agent: %s\n", err);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "parallax-agent: unexpected argument %s (see --help)\n",
			argv[optind]);
		return -EINVAL;
	}

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		const char *key = flag_key(opt);

		if (!key)
			continue;
		if (px_config_set(cfg, key, opt == OPT_STDOUT ? "true" : optarg,
				  err, sizeof(err)) < 0) {
			fprintf(stderr, "parallax-agent: %s\n", err);
			return -EINVAL;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct agent_options o = { 0 };
	struct px_config *cfg;
	int ret = 2;

	cfg = px_config_new(keys);
	if (!cfg) {
		fprintf(stderr, "parallax-agent: out of memory\n");
		return 1;
	}
	if (parse_args(argc, argv, cfg) < 0)
		goto out_free_cfg;
	if (px_log_set_level(px_config_get(cfg, "log.level")) < 0) {
		fprintf(stderr, "parallax-agent: log level must be error, warn, info or debug\n");
		goto out_free_cfg;
	}
	if (to_options(cfg, &o) < 0)
		goto out_free_cfg;
	ret = agent_run(&o);
out_free_cfg:
	px_config_free(cfg);
	return ret;
}
