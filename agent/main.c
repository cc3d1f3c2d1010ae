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
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"
#include "events.h"
#include "host.h"
#include "jvm.h"
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
	{ "agent.queue_max_events", "0",
	  "events held while the collector is slow; more are dropped and counted (0: what a quarter of agent.memory_max_bytes holds at about 1 KiB each, 12288 at the default cap, 65536 with no cap; a larger value is lowered to that)" },
	{ "agent.hash_max_bytes", "1073741824",
	  "artifacts larger than this are reported without sha256" },
	{ "agent.hash_rate_bytes", "33554432",
	  "I/O budget of hashing, bytes per second (0: none); artifacts over it wait for a later pass" },
	{ "agent.hash_burst_bytes", "67108864", "I/O budget burst, bytes" },
	{ "agent.max_processes", "0",
	  "process table bound; processes past it are counted, not tracked (0: what a quarter of agent.memory_max_bytes holds at about 1 KiB each, 12288 at the default cap, 131072 with no cap; a larger value is lowered to that)" },
	{ "agent.memory_max_bytes", "50331648",
	  "RSS cap: bounds the process table and event queue at start, and past it at a health tick the digest cache is cut (0: none)" },
	{ "agent.hash_cache_entries", "65536",
	  "file versions whose sha256 is remembered" },
	{ "agent.iter_dpath", "true",
	  "artifact paths from bpf_d_path in the kernel (false: from /proc/<pid>/fd)" },
	{ "agent.ringbuf_bytes", "4194304",
	  "kernel ring buffer size (a power of two, at least 4096)" },
	{ "agent.net", "true",
	  "report TCP connects, accepts and listeners from the socket state tracepoint" },
	{ "agent.jvm_watch_classes", AGENT_JVM_DEFAULT_WATCH,
	  "JVM classes reported when loaded (comma-separated binary names)" },
	{ "agent.jvm_libjvm_paths", AGENT_JVM_DEFAULT_LIBJVM,
	  "globs of libjvm.so files whose class probe is attached at start (others when a JVM maps them)" },
	{ "agent.drop_capabilities", "true",
	  "after loading, keep only CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH (and CAP_SYS_ADMIN with agent.jvm_late_attach)" },
	{ "agent.jvm_late_attach", "true",
	  "attach the class probe to a libjvm.so first seen in a running process (container JVMs); needs CAP_SYS_ADMIN kept" },
	{ "agent.watch_exe", "",
	  "watch policy: the process tree of this executable (path as given to execve) has its syscalls in agent.watch_syscalls reported; only then is a syscall tracepoint attached" },
	{ "agent.watch_syscalls", "59,322,42,101,165",
	  "syscall numbers of this architecture reported for the watched tree (x86_64: execve, execveat, connect, ptrace, mount)" },
	{ "agent.ignore_self", "true",
	  "leave the agent's own process out of what it reports" },
	{ "agent.deny_pids", "", "pids not reported (comma-separated)" },
	{ "agent.allow_pids", "",
	  "when set, only these pids (not their children) are reported, with those of agent.allow_cgroups" },
	{ "agent.artifact_suffixes", ".jar,.war,.ear,.zip,.so",
	  "open files whose names end so are artifacts (at most 8, each 2-8 bytes from its dot); .so also matches .so.N versions" },
	{ "agent.deny_cgroups", "",
	  "cgroup v2 directories (or ids) whose subtrees are not reported" },
	{ "agent.allow_cgroups", "",
	  "when set, only the subtrees of these cgroup v2 directories (or ids) are reported" },
	{ "agent.spool_dir", "/var/lib/parallax-agent/spool",
	  "where batches wait while the collector is away (\"\": no spool; flag --spool-dir)" },
	{ "agent.spool_max_bytes", "268435456",
	  "spool bound (keep it far above one batch); past it the oldest batches are dropped and counted" },
	{ "agent.client_max_pending_bytes", "4194304",
	  "unacked batch bytes held in memory before batches go to the spool" },
	{ "log.level", "info", "error, warn, info or debug (flag --log-level)" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *f, const struct px_config *cfg)
{
	fprintf(f,
		"usage: parallax-agent [flags]\n"
		"\n"
		"Streams what runs on this node to the collector: process lifecycle,\n"
		"open artifacts (jar, war, ear, zip, so, so.N: agent.artifact_suffixes),\n"
		"executable mappings, watched JVM class loads (hotspot USDT), TCP\n"
		"connects/accepts/listeners, and its own health.  No syscall is traced\n"
		"unless agent.watch_exe is set.  Batches wait in a bounded spool while\n"
		"the collector is away.\n"
		"\n"
		"Needs root, or CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE (plus\n"
		"CAP_SYS_ADMIN for the JVM probe, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH\n"
		"to read other processes' files), and a kernel with BTF.  After loading it\n"
		"keeps only what agent.drop_capabilities lists.  CAP_SYS_ADMIN stays while\n"
		"agent.jvm_late_attach is true (the default): the kernel refuses the\n"
		"uprobe for a libjvm.so first seen at run time (a JVM in a container)\n"
		"without it; set that key to false to drop it as well.  JVM classes loaded\n"
		"before the probe is attached to that JVM's libjvm.so are not seen.\n"
		"\n"
		"flags:\n"
		"  --collector HOST:PORT  collector address (default 127.0.0.1:50551)\n"
		"  --stdout               print events as JSON lines on stdout, send nothing\n"
		"  --source-id ID         source id (default agent:<host_id>)\n"
		"  --rescan-interval MS   full artifact pass period (default 30000)\n"
		"  --health-interval MS   AgentHealth period (default 10000)\n"
		"  --spool-dir DIR        spool for batches while the collector is away\n"
		"                         (default /var/lib/parallax-agent/spool; \"\": none)\n"
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

/* A file named by config key <key> must be readable (checked before any
 * program is attached). */
static int check_readable(const char *key, const char *path)
{
	if (!path || !*path || access(path, R_OK) == 0)
		return 0;
	fprintf(stderr, "parallax-agent: %s: cannot read %s: %s\n", key, path,
		strerror(errno));
	return -EINVAL;
}

/*
 * Parses the comma-separated <key>: numbers, or (with <paths>) cgroup v2
 * directories, whose inode number is the cgroup id.  At most
 * AGENT_MAX_FILTERS; -EINVAL with a message on a bad item.
 */
static int parse_ids(const struct px_config *cfg, const char *key,
		     bool paths, uint64_t *out, size_t *n)
{
	const char *v = px_config_get(cfg, key);
	char *copy = strdup(v ? v : ""), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ", ", &save); tok && !rc;
	     tok = strtok_r(NULL, ", ", &save)) {
		struct stat st;
		char *end;
		uint64_t id = strtoull(tok, &end, 10);

		if (*n == AGENT_MAX_FILTERS) {
			fprintf(stderr, "parallax-agent: %s: more than %d entries\n",
				key, AGENT_MAX_FILTERS);
			rc = -EINVAL;
		} else if (*end == '\0' && end != tok) {
			out[(*n)++] = id;
		} else if (paths && stat(tok, &st) == 0 && S_ISDIR(st.st_mode)) {
			out[(*n)++] = st.st_ino;
		} else {
			fprintf(stderr, "parallax-agent: %s: %s is not %s\n", key,
				tok, paths ? "a cgroup v2 directory or id" :
					     "a number");
			rc = -EINVAL;
		}
	}
	free(copy);
	return rc;
}

static int parse_watch(const struct px_config *cfg, struct agent_options *o)
{
	uint64_t nrs[AGENT_MAX_FILTERS];
	size_t n = 0;

	if (o->watch_exe[0] != '/' || strlen(o->watch_exe) >= PX_EXE_LEN) {
		fprintf(stderr, "parallax-agent: agent.watch_exe must be an absolute path shorter than %d bytes\n",
			PX_EXE_LEN);
		return -EINVAL;
	}
	if (parse_ids(cfg, "agent.watch_syscalls", false, nrs, &n) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (nrs[i] >= PX_MAX_SYSCALL) {
			fprintf(stderr, "parallax-agent: agent.watch_syscalls: %llu is not a syscall number\n",
				(unsigned long long)nrs[i]);
			return -EINVAL;
		}
		o->watch_syscalls[o->n_watch_syscalls++] = (uint32_t)nrs[i];
	}
	return 0;
}

/*
 * agent.artifact_suffixes into <o>: each starts with a dot, fits
 * PX_SUFFIX_LEN, and one ending in ".so" also matches versioned names.
 */
static int parse_suffixes(const struct px_config *cfg, struct agent_options *o)
{
	const char *v = px_config_get(cfg, "agent.artifact_suffixes");
	char *copy = strdup(v ? v : ""), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ", ", &save); tok && !rc;
	     tok = strtok_r(NULL, ", ", &save)) {
		size_t n = strlen(tok);
		struct px_suffix *s;

		if (o->n_suffixes == PX_MAX_SUFFIXES) {
			fprintf(stderr, "parallax-agent: agent.artifact_suffixes: more than %d entries\n",
				PX_MAX_SUFFIXES);
			rc = -EINVAL;
			break;
		}
		if (tok[0] != '.' || n < 2 || n > PX_SUFFIX_LEN) {
			fprintf(stderr, "parallax-agent: agent.artifact_suffixes: %s is not a dot and 1-%d bytes\n",
				tok, PX_SUFFIX_LEN - 1);
			rc = -EINVAL;
			break;
		}
		s = &o->suffixes[o->n_suffixes++];
		s->len = (uint8_t)n;
		memcpy(s->s, tok, n);
		if (n >= 3 && !strcmp(tok + n - 3, ".so"))
			s->flags |= PX_SUFFIX_VERSIONED;
	}
	free(copy);
	if (!rc && !o->n_suffixes) {
		fprintf(stderr, "parallax-agent: agent.artifact_suffixes is empty: no open file would be reported\n");
		rc = -EINVAL;
	}
	return rc;
}

static int parse_filters(const struct px_config *cfg, struct agent_options *o)
{
	uint64_t pids[AGENT_MAX_FILTERS], allow[AGENT_MAX_FILTERS];
	char err[256] = "";
	bool self;
	int rc;

	rc = parse_ids(cfg, "agent.deny_pids", false, pids, &o->n_deny_pids);
	if (!rc)
		rc = parse_ids(cfg, "agent.deny_cgroups", true, o->deny_cgroups,
			       &o->n_deny_cgroups);
	if (!rc)
		rc = parse_ids(cfg, "agent.allow_cgroups", true,
			       o->allow_cgroups, &o->n_allow_cgroups);
	if (!rc)
		rc = parse_ids(cfg, "agent.allow_pids", false, allow,
			       &o->n_allow_pids);
	if (!rc)
		rc = parse_suffixes(cfg, o);
	if (rc)
		return rc;
	for (size_t i = 0; i < o->n_deny_pids; i++)
		o->deny_pids[i] = (uint32_t)pids[i];
	for (size_t i = 0; i < o->n_allow_pids; i++)
		o->allow_pids[i] = (uint32_t)allow[i];
	if (px_config_get_bool(cfg, "agent.ignore_self", &self, err,
			       sizeof(err)) < 0) {
		fprintf(stderr, "parallax-agent: %s\n", err);
		return -EINVAL;
	}
	if (self && o->n_deny_pids < AGENT_MAX_FILTERS)
		o->deny_pids[o->n_deny_pids++] = (uint32_t)getpid();
	return 0;
}

/* Every watched class name must fit the kernel's key. */
static int check_classes(const char *csv)
{
	char *copy = strdup(csv ? csv : ""), *save = NULL, *tok;
	char internal[PX_CLASS_LEN];
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ", ", &save); tok && !rc;
	     tok = strtok_r(NULL, ", ", &save)) {
		rc = agent_jvm_internal_name(tok, internal, sizeof(internal));
		if (rc < 0)
			fprintf(stderr, "parallax-agent: agent.jvm_watch_classes: class name longer than %d bytes: %s\n",
				PX_CLASS_LEN - 1, tok);
	}
	free(copy);
	return rc;
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
	if (px_config_get_bool(cfg, "agent.net", &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "parallax-agent: %s\n", err);
		return -EINVAL;
	}
	o->net = b;
	if (px_config_get_bool(cfg, "agent.drop_capabilities", &b, err,
			       sizeof(err)) < 0) {
		fprintf(stderr, "parallax-agent: %s\n", err);
		return -EINVAL;
	}
	o->drop_caps = b;
	if (px_config_get_bool(cfg, "agent.jvm_late_attach", &b, err,
			       sizeof(err)) < 0) {
		fprintf(stderr, "parallax-agent: %s\n", err);
		return -EINVAL;
	}
	o->jvm_late_attach = b;
	if (check_readable("agent.tls_ca", o->tls_ca) ||
	    check_readable("agent.tls_cert", o->tls_cert) ||
	    check_readable("agent.tls_key", o->tls_key))
		return -EINVAL;
	if (!o->to_stdout && (!o->collector || !*o->collector)) {
		fprintf(stderr, "parallax-agent: agent.collector is empty; give --collector HOST:PORT or --stdout\n");
		return -EINVAL;
	}
	if (get_u64(cfg, "agent.rescan_interval_ms", 100, &o->rescan_ms) ||
	    get_u64(cfg, "agent.health_interval_ms", 100, &o->health_ms) ||
	    get_u64(cfg, "agent.batch_max_events", 1, &o->batch_max_events) ||
	    get_u64(cfg, "agent.batch_delay_ms", 1, &o->batch_delay_ms) ||
	    get_u64(cfg, "agent.queue_max_events", 0, &o->queue_max_events) ||
	    get_u64(cfg, "agent.hash_max_bytes", 0, &o->hash_max_bytes) ||
	    get_u64(cfg, "agent.hash_cache_entries", 1, &o->hash_cache_entries) ||
	    get_u64(cfg, "agent.hash_rate_bytes", 0, &o->hash_rate_bytes) ||
	    get_u64(cfg, "agent.max_processes", 0, &o->max_processes) ||
	    get_u64(cfg, "agent.memory_max_bytes", 0, &o->memory_max_bytes) ||
	    get_u64(cfg, "agent.hash_burst_bytes", 0, &o->hash_burst_bytes) ||
	    get_u64(cfg, "agent.ringbuf_bytes", 4096, &o->ringbuf_bytes))
		return -EINVAL;
	o->spool_dir = px_config_get(cfg, "agent.spool_dir");
	if (get_u64(cfg, "agent.spool_max_bytes", 65536, &o->spool_max_bytes) ||
	    get_u64(cfg, "agent.client_max_pending_bytes", 1,
		    &o->client_max_pending_bytes))
		return -EINVAL;
	if (parse_filters(cfg, o) < 0)
		return -EINVAL;
	o->watch_exe = px_config_get(cfg, "agent.watch_exe");
	if (o->watch_exe && *o->watch_exe && parse_watch(cfg, o) < 0)
		return -EINVAL;
	o->jvm_watch = px_config_get(cfg, "agent.jvm_watch_classes");
	o->jvm_libjvm = px_config_get(cfg, "agent.jvm_libjvm_paths");
	if (check_classes(o->jvm_watch) < 0)
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
	OPT_CONFIG, OPT_LOG_LEVEL, OPT_VERSION, OPT_HELP, OPT_SPOOL_DIR,
};

static const struct option long_opts[] = {
	{ "collector", required_argument, NULL, OPT_COLLECTOR },
	{ "stdout", no_argument, NULL, OPT_STDOUT },
	{ "source-id", required_argument, NULL, OPT_SOURCE_ID },
	{ "rescan-interval", required_argument, NULL, OPT_RESCAN },
	{ "health-interval", required_argument, NULL, OPT_HEALTH },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "spool-dir", required_argument, NULL, OPT_SPOOL_DIR },
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
	case OPT_SPOOL_DIR: return "agent.spool_dir";
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
