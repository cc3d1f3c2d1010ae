// SPDX-License-Identifier: Apache-2.0
/*
 * parallax-scan: the agentless scanner.  Reads directory snapshots (a
 * mounted disk snapshot, an unpacked image) without executing anything in
 * them, and reports what it finds at rest: Java packages, log4j with its
 * CVEs.  Findings go to the collector as batches (the default) or to stdout
 * as JSON lines (--format jsonl).
 *
 * Exit status: 0 when the scan ran and found nothing at or above --fail-on;
 * 1 when it did, or when the collector did not acknowledge every batch;
 * 2 on a usage or configuration error, or when a scan root is unreadable.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <unistd.h>

#include "config.h"
#include "host.h"
#include "log.h"
#include "malware.h"
#include "osvmatch.h"
#include "output.h"
#include "secrets.h"
#include "snapshot.h"
#include "yara_rules.h"
#include "scan.h"
#include "transport.h"

#define EXIT_FINDINGS 1
#define EXIT_USAGE 2
/* the scan could not deliver its result: output or collector failed */
#define EXIT_ERROR 2

static const struct px_config_key config_keys[] = {
	{ "scanner.format", "", "output: empty for batches to the collector; jsonl, sarif (2.1.0) or cyclonedx (1.5 JSON) on stdout" },
	{ "scanner.checks", "packages,secrets,pii,malware", "what to look for: packages,secrets,pii,malware (malware needs scanner.malware_sigs)" },
	{ "scanner.advisories", NULL, "OSV advisories (directory of JSON files, or a zip of them) matched offline against every package" },
	{ "scanner.malware_sigs", NULL, "ClamAV hash signatures: .hdb/.hsb files or directories, comma-separated" },
	{ "scanner.yara_rules", NULL, "YARA rules file matched against every file (malware check; needs a build with libyara)" },
	{ "scanner.secret_key_file", NULL, "key for the HMAC-SHA256 of secrets and PII (default: random per run, so hashes do not compare across runs)" },
	{ "scanner.threads", "0", "scanning threads (0: one per core)" },
	{ "scanner.progress", "auto", "progress bar on stderr: auto (when a terminal), always, never" },
	{ "scanner.collector", "127.0.0.1:50551", "collector address (host:port)" },
	{ "scanner.tls_ca", NULL, "CA certificate (PEM) for mutual TLS" },
	{ "scanner.tls_cert", NULL, "client certificate (PEM) for mutual TLS" },
	{ "scanner.tls_key", NULL, "client key (PEM) for mutual TLS" },
	{ "scanner.host_id", NULL, "host the snapshot belongs to (default: this host's id)" },
	{ "scanner.source_id", NULL, "source id on the wire (default: scanner:<hostname>)" },
	{ "scanner.flush_timeout_s", "30", "seconds to wait for the collector's acks at the end" },
	{ "scanner.batch_size", "500", "findings per batch" },
	{ "scanner.snapshot_root", "false", "each PATH is a host's root filesystem: report paths as the host sees them (/opt/a.jar)" },
	{ "scanner.fail_on", "none", "exit 1 on a finding at or above: none|low|medium|high|critical" },
	{ "scanner.max_depth", "16", "archive nesting depth read (the file itself is 1)" },
	{ "scanner.max_entry_bytes", "256M", "inflated bytes read from one archive entry (k/M/G suffixes)" },
	{ "scanner.max_archive_bytes", "2G", "inflated bytes read per file on disk, nested archives included" },
	{ "scanner.max_entries", "1000000", "archive entries read per file on disk, nested archives included" },
	{ "scanner.max_ratio", "1000", "inflated/compressed ratio above which an archive entry is a bomb, not read" },
	{ "scanner.max_file_ms", "60000", "wall time per file on disk before the rest of it is skipped (0: none)" },
	{ "log.level", "info", "error|warn|info|debug" },
	{ NULL, NULL, NULL },
};

/* Long flags and the config key each one sets. */
static const struct {
	const char *flag;
	const char *key;
} flag_keys[] = {
	{ "format", "scanner.format" },
	{ "checks", "scanner.checks" },
	{ "advisories", "scanner.advisories" },
	{ "malware-sigs", "scanner.malware_sigs" },
	{ "yara-rules", "scanner.yara_rules" },
	{ "secret-key-file", "scanner.secret_key_file" },
	{ "threads", "scanner.threads" },
	{ "progress", "scanner.progress" },
	{ "max-entries", "scanner.max_entries" },
	{ "max-ratio", "scanner.max_ratio" },
	{ "max-file-ms", "scanner.max_file_ms" },
	{ "collector", "scanner.collector" },
	{ "tls-ca", "scanner.tls_ca" },
	{ "tls-cert", "scanner.tls_cert" },
	{ "tls-key", "scanner.tls_key" },
	{ "host-id", "scanner.host_id" },
	{ "source-id", "scanner.source_id" },
	{ "flush-timeout", "scanner.flush_timeout_s" },
	{ "batch-size", "scanner.batch_size" },
	{ "fail-on", "scanner.fail_on" },
	{ "max-depth", "scanner.max_depth" },
	{ "max-entry-bytes", "scanner.max_entry_bytes" },
	{ "max-archive-bytes", "scanner.max_archive_bytes" },
	{ "log-level", "log.level" },
};

#define N_FLAG_KEYS (sizeof(flag_keys) / sizeof(flag_keys[0]))

/* Settings after config file and flags are merged. */
struct opts {
	enum scan_format format;
	bool snapshot_root;
	unsigned int checks;
	const char *advisories;
	const char *malware_sigs;
	const char *yara_rules;
	const char *secret_key_file;
	int64_t threads;
	bool progress;
	const char *collector;
	const char *tls_ca, *tls_cert, *tls_key;
	const char *host_id;
	const char *source_id;
	int64_t flush_timeout_s;
	int64_t batch_size;
	enum scan_severity fail_on;
	struct scan_limits limits;
};

static void usage(FILE *out, const struct px_config *cfg)
{
	fprintf(out,
		"usage: parallax-scan [options] PATH...\n"
		"Scans snapshots at rest without running anything in them: a directory\n"
		"(a mounted disk snapshot), a container image (docker-save tar or OCI\n"
		"image layout, layers applied with whiteouts), a raw ext2/3/4 image, or a\n"
		"single file.  Finds OS packages (dpkg, apk, rpm sqlite), Java archives\n"
		"(nested, log4j judged from its classes), Python and npm packages, secrets\n"
		"and PII (reported as a keyed hash and masked preview, never the value),\n"
		"and malware by ClamAV hash signatures.  Symlinks are followed only\n"
		"inside the snapshot.\n\n"
		"  --format FMT            jsonl, sarif or cyclonedx on stdout instead of\n"
		"                          sending to the collector\n"
		"  --checks LIST           packages,secrets,pii,malware (default: all)\n"
		"  --advisories DIR|ZIP    OSV advisories matched offline\n"
		"  --malware-sigs LIST     ClamAV .hdb/.hsb files or directories\n"
		"  --yara-rules FILE       YARA rules (malware check)\n"
		"  --secret-key-file FILE  key of the secrets' keyed hash (default: random)\n"
		"  --threads N             scanning threads (default: one per core)\n"
		"  --progress WHEN         auto|always|never: a progress bar on stderr\n"
		"                          (auto: when stderr is a terminal); never on stdout\n"
		"  --collector HOST:PORT   collector address\n"
		"  --tls-ca/--tls-cert/--tls-key FILE  mutual TLS to the collector\n"
		"  --host-id ID            host the snapshot belongs to\n"
		"  --snapshot-root         each PATH is that host's root filesystem\n"
		"  --source-id ID          source id on the wire\n"
		"  --flush-timeout S       seconds to wait for acks at the end\n"
		"  --batch-size N          findings per batch\n"
		"  --fail-on SEVERITY      exit 1 on findings at or above it\n"
		"  --max-depth N           archive nesting depth\n"
		"  --max-entry-bytes N     inflated bytes per entry (k/M/G)\n"
		"  --max-archive-bytes N   inflated bytes per file on disk (k/M/G)\n"
		"  --max-entries N         archive entries per file on disk\n"
		"  --max-ratio N           compression ratio above which an entry is a bomb\n"
		"  --max-file-ms N         time per file on disk (0: unlimited)\n"
		"  --config FILE           YAML configuration\n"
		"  --log-level LEVEL       error|warn|info|debug\n"
		"  --help, --version\n\n"
		"Configuration keys (flags override them):\n");
	px_config_print_keys(cfg, out);
	fprintf(out,
		"\nExit status: 0 nothing at or above --fail-on, 1 findings at or above\n"
		"it, 2 error: usage, an unreadable scan root, output that could not be\n"
		"written, or batches the collector did not acknowledge.\n"
		"\nLimits: every limit hit (depth, bytes, ratio, entries, time, zip bombs,\n"
		"recursive archives) is an event in the output (jsonl \"type\":\"event\",\n"
		"SARIF notifications) and a log line; with the collector it rides on the\n"
		"scan report (at most 1000, the rest counted in events_dropped) and is\n"
		"counted in its errors.  Only the sqlite rpmdb is read (not\n"
		"Berkeley DB or ndb).  log4j 1.x CVEs are reported when the vulnerable\n"
		"class is present, whatever the configuration.  Secrets and PII are looked\n"
		"for in files on disk, in image files, and (with packages checked too) in\n"
		"configuration entries of archives (.properties, .yml, .xml, ...).  Symlinks\n"
		"in directories, images (across layers) and ext images are resolved\n"
		"inside the snapshot only (an absolute target starts at the snapshot's\n"
		"root): one naming a regular file there is scanned under its own path,\n"
		"once per target; one leaving the snapshot or looping is a \"symlink\"\n"
		"event, so nothing outside the snapshot is read.  --threads\n"
		"scans the files of directories, images and ext images in parallel (the\n"
		"same output as one thread, in another order).  ELF packages\n"
		"are shared objects named lib*.so* with a DT_SONAME.  Debian and Alpine\n"
		"advisories naming a release match only packages of that release when\n"
		"base-files or alpine-base says which; otherwise any release.\n"
		"\nProgress: images show the layer bytes read, ext images the used\n"
		"inodes visited, a directory that is a mount point the bytes scanned\n"
		"against its filesystem's used bytes (an estimate); any other directory\n"
		"shows a spinner and counts.\n"
		"\nSARIF: locations are relative to each PATH (uriBaseId SRCROOT, then\n"
		"SRCROOT2, ..., mapped to file:// URIs in originalUriBaseIds); a single\n"
		"file is located in its directory, a file in an image from the image's\n"
		"root, and a member of a nested archive at its outermost file, the inner\n"
		"path in the message and the \"inner\" property.\n");
}

/* Parses "123", "64k", "256M", "2G" (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long n;
	unsigned int shift = 0;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		shift = 10;
	else if (*end == 'm' || *end == 'M')
		shift = 20;
	else if (*end == 'g' || *end == 'G')
		shift = 30;
	if (shift)
		end++;
	if (*end || n > (UINT64_MAX >> shift) || n == 0)
		return -EINVAL;
	*out = (uint64_t)n << shift;
	return 0;
}

static int get_size(const struct px_config *cfg, const char *key,
		    uint64_t *out)
{
	const char *v = px_config_get(cfg, key);

	if (!v || parse_size(v, out)) {
		fprintf(stderr, "parallax-scan: %s: '%s' is not a size (e.g. 512M)\n",
			key, v ? v : "");
		return -EINVAL;
	}
	return 0;
}

static int get_int(const struct px_config *cfg, const char *key,
		   int64_t min, int64_t max, int64_t *out)
{
	char err[256] = "";

	if (px_config_get_i64(cfg, key, out, err, sizeof(err)) ||
	    *out < min || *out > max) {
		fprintf(stderr, "parallax-scan: %s must be an integer from %" PRId64 " to %" PRId64 " %s\n",
			key, min, max, err);
		return -EINVAL;
	}
	return 0;
}

/* Parses the comma-separated --checks list. */
static int parse_checks(const char *list, unsigned int *out)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} names[] = {
		{ "packages", SCAN_CHECK_PACKAGES },
		{ "secrets", SCAN_CHECK_SECRETS },
		{ "pii", SCAN_CHECK_PII },
		{ "malware", SCAN_CHECK_MALWARE },
	};
	const char *p = list ? list : "";
	size_t i, n;

	*out = 0;
	while (*p) {
		n = strcspn(p, ",");
		for (i = 0; i < 4; i++)
			if (strlen(names[i].name) == n &&
			    !strncmp(p, names[i].name, n))
				break;
		if (i == 4) {
			fprintf(stderr, "parallax-scan: unknown check '%.*s' in --checks (packages,secrets,pii,malware)\n",
				(int)n, p);
			return -EINVAL;
		}
		*out |= names[i].bit;
		p += n + (p[n] == ',');
	}
	if (!*out) {
		fprintf(stderr, "parallax-scan: --checks names nothing to look for\n");
		return -EINVAL;
	}
	return 0;
}

/* Reads the merged configuration into <o>; -EINVAL with a message. */
static int read_opts(const struct px_config *cfg, struct opts *o)
{
	const char *fmt = px_config_get(cfg, "scanner.format");
	const char *fail_on = px_config_get(cfg, "scanner.fail_on");
	char err[256] = "";
	int64_t depth;

	const char *prog = px_config_get(cfg, "scanner.progress");
	int64_t entries, ratio, file_ms;

	if (scan_format_parse(fmt ? fmt : "", &o->format)) {
		fprintf(stderr, "parallax-scan: unknown --format '%s' (jsonl, sarif, cyclonedx, or none for the collector)\n",
			fmt);
		return -EINVAL;
	}
	if (parse_checks(px_config_get(cfg, "scanner.checks"), &o->checks))
		return -EINVAL;
	if (!prog || (strcmp(prog, "auto") && strcmp(prog, "always") &&
		      strcmp(prog, "never"))) {
		fprintf(stderr, "parallax-scan: --progress takes auto|always|never\n");
		return -EINVAL;
	}
	o->progress = !strcmp(prog, "always") ||
		      (!strcmp(prog, "auto") && isatty(STDERR_FILENO));
	o->advisories = px_config_get(cfg, "scanner.advisories");
	o->malware_sigs = px_config_get(cfg, "scanner.malware_sigs");
	o->yara_rules = px_config_get(cfg, "scanner.yara_rules");
	o->secret_key_file = px_config_get(cfg, "scanner.secret_key_file");
	if (!fail_on || scan_severity_parse(fail_on, &o->fail_on)) {
		fprintf(stderr, "parallax-scan: --fail-on takes none|low|medium|high|critical\n");
		return -EINVAL;
	}
	if (px_config_get_bool(cfg, "scanner.snapshot_root", &o->snapshot_root,
			       err, sizeof(err))) {
		fprintf(stderr, "parallax-scan: %s\n", err);
		return -EINVAL;
	}
	o->collector = px_config_get(cfg, "scanner.collector");
	o->tls_ca = px_config_get(cfg, "scanner.tls_ca");
	o->tls_cert = px_config_get(cfg, "scanner.tls_cert");
	o->tls_key = px_config_get(cfg, "scanner.tls_key");
	o->host_id = px_config_get(cfg, "scanner.host_id");
	o->source_id = px_config_get(cfg, "scanner.source_id");
	if (get_int(cfg, "scanner.flush_timeout_s", 0, 86400,
		    &o->flush_timeout_s) ||
	    get_int(cfg, "scanner.batch_size", 1, 100000, &o->batch_size) ||
	    get_int(cfg, "scanner.max_depth", 1, 1000, &depth) ||
	    get_size(cfg, "scanner.max_entry_bytes",
		     &o->limits.max_entry_bytes) ||
	    get_size(cfg, "scanner.max_archive_bytes",
		     &o->limits.max_archive_bytes) ||
	    get_int(cfg, "scanner.max_entries", 1, INT64_MAX, &entries) ||
	    get_int(cfg, "scanner.max_ratio", 1, 1000000000, &ratio) ||
	    get_int(cfg, "scanner.max_file_ms", 0, 86400000, &file_ms) ||
	    get_int(cfg, "scanner.threads", 0, 1024, &o->threads))
		return -EINVAL;
	o->limits.max_depth = (int)depth;
	o->limits.max_entries = (uint64_t)entries;
	o->limits.max_ratio = (unsigned int)ratio;
	o->limits.max_file_ms = (unsigned int)file_ms;
	if (o->threads == 0)
		o->threads = sysconf(_SC_NPROCESSORS_ONLN) > 0 ?
			     sysconf(_SC_NPROCESSORS_ONLN) : 1;
	if (px_log_set_level(px_config_get(cfg, "log.level"))) {
		fprintf(stderr, "parallax-scan: --log-level takes error|warn|info|debug\n");
		return -EINVAL;
	}
	return 0;
}

/* Flags given on the command line, applied after the config file. */
struct flag_set {
	const char *key[N_FLAG_KEYS + 1];
	const char *val[N_FLAG_KEYS + 1];
	size_t n;
	const char *config;
};

/*
 * Parses argv into <fs>.  Returns -1 to continue, or the exit status when
 * the run ends here (--help, --version, a bad flag).
 */
static int parse_flags(int argc, char **argv, struct flag_set *fs,
		       const struct px_config *cfg)
{
	struct option longopts[N_FLAG_KEYS + 5];
	size_t i;
	int c, idx;

	for (i = 0; i < N_FLAG_KEYS; i++)
		longopts[i] = (struct option){ flag_keys[i].flag,
					       required_argument, NULL, 0 };
	longopts[i++] = (struct option){ "config", required_argument, NULL, 'c' };
	longopts[i++] = (struct option){ "snapshot-root", no_argument, NULL, 's' };
	longopts[i++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[i++] = (struct option){ "version", no_argument, NULL, 'V' };
	longopts[i] = (struct option){ NULL, 0, NULL, 0 };
	while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout, cfg);
			return 0;
		}
		if (c == 'V') {
			printf("parallax-scan %s\n", PX_VERSION);
			return 0;
		}
		if (c == 'c') {
			fs->config = optarg;
		} else if (c == 's' && fs->n < N_FLAG_KEYS + 1) {
			fs->key[fs->n] = "scanner.snapshot_root";
			fs->val[fs->n++] = "true";
		} else if (c == 0 && fs->n < N_FLAG_KEYS + 1) {
			fs->key[fs->n] = flag_keys[idx].key;
			fs->val[fs->n++] = optarg;
		} else {
			fprintf(stderr, "Try 'parallax-scan --help'.\n");
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* Loads the config file, then applies the flags over it. */
static int apply_config(struct px_config *cfg, const struct flag_set *fs)
{
	char err[512] = "";
	size_t i;

	if (fs->config &&
	    px_config_load_file(cfg, fs->config, err, sizeof(err))) {
		fprintf(stderr, "parallax-scan: %s\n", err);
		return -EINVAL;
	}
	for (i = 0; i < fs->n; i++) {
		if (px_config_set(cfg, fs->key[i], fs->val[i], err,
				  sizeof(err))) {
			fprintf(stderr, "parallax-scan: %s\n", err);
			return -EINVAL;
		}
	}
	return 0;
}

/* Everything the collector path needs to live for the whole run. */
struct uplink {
	struct px_host host;
	Parallax__V1__HostFacts facts;
	Parallax__V1__Source source;
	char source_id[300];
	char boot_id[37];
	struct px_client *client;
	struct scan_batcher batcher;
};

/*
 * Identity: the snapshot's host is this host unless --host-id names
 * another, in which case no facts of this host are claimed for it.
 */
static int uplink_start(struct uplink *u, const struct opts *o)
{
	struct px_client_config cc = { 0 };
	char err[512] = "";

	px_host_probe(&u->host);
	snprintf(u->source_id, sizeof(u->source_id), "scanner:%s",
		 u->host.hostname);
	px_uuid4(u->boot_id);
	parallax__v1__host_facts__init(&u->facts);
	parallax__v1__source__init(&u->source);
	if (o->host_id && o->host_id[0]) {
		u->facts.host_id = (char *)o->host_id;
	} else {
		px_host_to_pb(&u->host, &u->facts);
	}
	u->source.source_id = (char *)(o->source_id && o->source_id[0] ?
				       o->source_id : u->source_id);
	u->source.boot_id = u->boot_id;
	u->source.kind = PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_SCANNER;
	u->source.host = &u->facts;
	u->source.version = (char *)PX_VERSION;
	cc.target = o->collector;
	cc.tls_ca = o->tls_ca;
	cc.tls_cert = o->tls_cert;
	cc.tls_key = o->tls_key;
	cc.source = &u->source;
	u->client = px_client_start(&cc, err, sizeof(err));
	if (!u->client) {
		fprintf(stderr, "parallax-scan: cannot start the collector client: %s\n",
			err);
		return -EINVAL;
	}
	if (scan_batcher_init(&u->batcher, u->client, (size_t)o->batch_size,
			      (int)o->flush_timeout_s * 1000)) {
		px_client_stop(u->client);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Waits for the collector's acks.  Returns 0 when every batch was
 * committed, else 1 after saying what is missing.
 */
static int uplink_finish(struct uplink *u, const struct opts *o)
{
	struct px_client_stats st;
	int err, ret = 0;

	err = px_client_flush(u->client, (int)o->flush_timeout_s * 1000);
	px_client_get_stats(u->client, &st);
	if (err) {
		fprintf(stderr, "parallax-scan: collector at %s did not acknowledge %" PRIu64 " batches (is parallax-collector running and reachable?)\n",
			o->collector, st.pending);
		ret = 1;
	} else if (st.rejected) {
		fprintf(stderr, "parallax-scan: collector at %s rejected %" PRIu64 " batches (see its log)\n",
			o->collector, st.rejected);
		ret = 1;
	} else if (u->batcher.send_errors) {
		fprintf(stderr, "parallax-scan: %" PRIu64 " batches could not be queued for %s\n",
			u->batcher.send_errors, o->collector);
		ret = 1;
	}
	scan_batcher_destroy(&u->batcher);
	px_client_stop(u->client);
	return ret;
}

/*
 * Scans one root; in collector mode closes it with a ScanReport.  The kind
 * of snapshot is recognised by content: a directory (or an OCI image
 * layout), a docker-save tar, an ext2/3/4 image, or any other single file.
 * Paths are absolute, or as the snapshot's host sees them with
 * --snapshot-root; in images they are paths inside the image.  Returns 0,
 * or -errno when the root could not be read.
 */
static int scan_one(struct scan_ctx *ctx, struct uplink *u,
		    struct scan_doc *doc, const struct opts *o,
		    const char *root)
{
	Parallax__V1__ScanReport rep = PARALLAX__V1__SCAN_REPORT__INIT;
	struct scan_stats before = ctx->stats;
	char scan_id[37], *real = realpath(root, NULL);
	enum scan_snapshot kind;
	const char *display;
	int err;

	if (!real) {
		err = -errno;
		px_error("scan", "scan root unreadable", "path=%s err=%s",
			 px_q(root), px_q(strerror(-err)));
		return err;
	}
	kind = scan_snapshot_detect(real);
	if (o->snapshot_root && kind != SCAN_SNAP_DIR) {
		px_error("scan", "a snapshot root must be a directory",
			 "path=%s", px_q(root));
		err = -ENOTDIR;
		goto out_free;
	}
	display = o->snapshot_root ? "/" : real;
	/* out of memory here only costs the relative locations */
	if (doc)
		scan_doc_root(doc, display, kind == SCAN_SNAP_DIR ? SCAN_DOC_DIR :
			      kind == SCAN_SNAP_FILE ? SCAN_DOC_FILE :
			      SCAN_DOC_IMAGE);
	rep.started_ns = px_now_ns();
	err = scan_snapshot(ctx, kind, real, display);
	scan_progress_done(ctx);
	if (err)
		goto out_free;
	px_uuid4(scan_id);
	rep.scan_id = scan_id;
	rep.root = (char *)display;
	rep.snapshot_kind = (char *)scan_snapshot_name(kind);
	rep.finished_ns = px_now_ns();
	rep.files = ctx->stats.files - before.files;
	rep.bytes = ctx->stats.bytes - before.bytes;
	rep.findings = ctx->stats.findings - before.findings;
	rep.errors = ctx->stats.errors - before.errors;
	px_info("scan", "scan finished",
		"root=%s kind=%s files=%" PRIu64 " archives=%" PRIu64 " findings=%" PRIu64 " errors=%" PRIu64 " events=%" PRIu64,
		px_q(real), rep.snapshot_kind, rep.files,
		ctx->stats.archives - before.archives, rep.findings,
		rep.errors, ctx->stats.events - before.events);
	if (u)
		scan_batcher_flush(&u->batcher, &rep); /* failures counted */
out_free:
	free(real);
	return err;
}

/* Reads a key file for the keyed hashes: its bytes, at most 1 KiB. */
static int read_key(const char *path, uint8_t *key, size_t *len)
{
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "parallax-scan: secret key file %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	*len = fread(key, 1, 1024, f);
	fclose(f);
	if (*len < 16) {
		fprintf(stderr, "parallax-scan: secret key file %s holds fewer than 16 bytes\n",
			path);
		return -EINVAL;
	}
	return 0;
}

/* The databases a run loads before scanning: advisories, malware
 * signatures, secret rules.  Returns 0 or -EINVAL after saying why. */
struct engines {
	struct osv_db *osv;
	struct scan_malware *malware;
	struct scan_yara *yara;
	struct scan_secrets *secrets;
};

static int engines_load(struct engines *en, const struct opts *o)
{
	char err[512] = "";
	uint8_t key[1024];
	size_t klen = 0;

	if (o->advisories && o->advisories[0]) {
		en->osv = osv_db_load(o->advisories, err, sizeof(err));
		if (!en->osv)
			goto err_say;
		px_info("scan", "advisories loaded", "path=%s advisories=%zu",
			px_q(o->advisories), osv_db_count(en->osv));
	}
	if ((o->checks & SCAN_CHECK_MALWARE) && o->malware_sigs &&
	    o->malware_sigs[0]) {
		en->malware = scan_malware_load(o->malware_sigs, err,
						sizeof(err));
		if (!en->malware)
			goto err_say;
		px_info("scan", "malware signatures loaded", "path=%s signatures=%zu",
			px_q(o->malware_sigs), scan_malware_count(en->malware));
	}
	if ((o->checks & SCAN_CHECK_MALWARE) && o->yara_rules &&
	    o->yara_rules[0]) {
		en->yara = scan_yara_load(o->yara_rules, err, sizeof(err));
		if (!en->yara)
			goto err_say;
		px_info("scan", "yara rules loaded", "path=%s rules=%d",
			px_q(o->yara_rules), scan_yara_count(en->yara));
	}
	if (o->checks & (SCAN_CHECK_SECRETS | SCAN_CHECK_PII)) {
		if (o->secret_key_file && o->secret_key_file[0] &&
		    read_key(o->secret_key_file, key, &klen))
			return -EINVAL;
		en->secrets = scan_secrets_new(klen ? key : NULL, klen, err,
					       sizeof(err));
		if (!en->secrets)
			goto err_say;
	}
	return 0;
err_say:
	fprintf(stderr, "parallax-scan: %s\n", err);
	return -EINVAL;
}

static void engines_free(struct engines *en)
{
	osv_db_free(en->osv);
	scan_malware_free(en->malware);
	scan_yara_free(en->yara);
	scan_secrets_free(en->secrets);
}

/* Scans every root; returns the exit status. */
static int run(const struct opts *o, char **roots, int n_roots)
{
	struct scan_sink sink = { scan_jsonl_emit, stdout };
	struct engines en = { 0 };
	struct scan_doc *doc = NULL;
	struct uplink *u = NULL;
	struct scan_ctx ctx;
	int i, status = 0;

	if (engines_load(&en, o))
		return EXIT_USAGE;
	if (o->format == SCAN_FMT_COLLECTOR) {
		u = calloc(1, sizeof(*u));
		if (!u || uplink_start(u, o)) {
			free(u);
			engines_free(&en);
			return EXIT_USAGE;
		}
		sink = (struct scan_sink){ scan_batcher_emit, &u->batcher };
	} else if (o->format != SCAN_FMT_JSONL) {
		doc = scan_doc_begin(stdout, o->format);
		if (!doc) {
			engines_free(&en);
			return 1;
		}
		sink = (struct scan_sink){ scan_doc_emit, doc };
	}
	scan_ctx_init(&ctx, &sink);
	ctx.limits = o->limits;
	ctx.checks = o->checks;
	ctx.advisories = en.osv;
	ctx.malware = en.malware;
	ctx.yara = en.yara;
	ctx.secrets = en.secrets;
	ctx.threads = (int)o->threads;
	/* no bar is a cosmetic loss, not a reason to stop */
	ctx.bar = o->progress ? scan_bar_new(&ctx.stats) : NULL;
	if (u)
		ctx.events = (struct scan_event_sink){ scan_batcher_event,
						       &u->batcher };
	else if (o->format == SCAN_FMT_JSONL)
		ctx.events = (struct scan_event_sink){ scan_jsonl_event, stdout };
	else if (doc)
		ctx.events = (struct scan_event_sink){ scan_doc_event, doc };
	for (i = 0; i < n_roots; i++)
		if (scan_one(&ctx, u, doc, o, roots[i]))
			status = EXIT_USAGE;
	/* a result that did not reach its reader is an error, never the
	 * "findings" status a CI gate would read as a verdict */
	if (doc && scan_doc_end(doc))
		status = EXIT_ERROR;
	if (!u && (fflush(stdout) || ferror(stdout))) {
		px_error("scan", "output write failed", "err=%s",
			 px_q(strerror(errno ? errno : EIO)));
		status = EXIT_ERROR;
	}
	if (u && uplink_finish(u, o))
		status = EXIT_ERROR;
	free(u);
	engines_free(&en);
	scan_bar_free(ctx.bar);
	if (!status && o->fail_on != SCAN_SEV_NONE && ctx.worst >= o->fail_on) {
		px_warn("scan", "findings at or above the fail-on severity",
			"fail_on=%s worst=%s", scan_severity_name(o->fail_on),
			scan_severity_name(ctx.worst));
		status = EXIT_FINDINGS;
	}
	return status;
}

int main(int argc, char **argv)
{
	struct flag_set fs = { 0 };
	struct px_config *cfg = px_config_new(config_keys);
	struct opts o = { 0 };
	int status;

	if (!cfg) {
		fprintf(stderr, "parallax-scan: out of memory\n");
		return EXIT_USAGE;
	}
	/* Zip entry names are UTF-8: in a UTF-8 locale libarchive passes them
	 * through instead of opening an iconv converter per archive. */
	setlocale(LC_CTYPE, "C.UTF-8");
	/* With TZ unset, glibc stats /etc/localtime on every mktime(), which
	 * libarchive calls per zip entry: naming the same file stops that. */
	if (!getenv("TZ"))
		setenv("TZ", ":/etc/localtime", 0);
	status = parse_flags(argc, argv, &fs, cfg);
	if (status >= 0)
		goto out;
	status = EXIT_USAGE;
	if (apply_config(cfg, &fs) || read_opts(cfg, &o))
		goto out;
	if (optind >= argc) {
		fprintf(stderr, "parallax-scan: no PATH to scan given; try --help\n");
		goto out;
	}
	status = run(&o, argv + optind, argc - optind);
out:
	px_config_free(cfg);
	return status;
}
