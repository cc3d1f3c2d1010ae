/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The statements of one ingest transaction (see ingest.c for the order).
 *
 * Parameters of the state statements: one array per column, unnested into
 * rows.  The statements that every agent batch brings (SQL_LOCK_KEYS,
 * SQL_FORK, SQL_EXEC, SQL_ARTIFACT, SQL_EXIT) take the host of each row as
 * their first array, $1, so that the sink runs each of them once for a
 * whole group of batches from many hosts (ingest.c: merge_group).  The
 * others take $1 host_id (findings: $1 host_id, $2 source_id) and then
 * the arrays, and run once per batch.  Every parameter must appear, or its
 * type is unknown.  Events
 * themselves do not pass through here: they go to the events table by COPY
 * on the sink's second connection, with the high-water marks (SQL_HWM_GROUP).
 * Correlation happens here, in SQL, inside
 * the batch's transaction: a load joins the findings about the same bytes
 * (sha256, on any host) or the same file (host_id and path, when the two
 * digests do not disagree); a finding joins the live loads the same way.
 * Only findings worth an alarm correlate: a CVE, or a secret, PII or malware
 * hit (a package without a known CVE does not).
 */
#ifndef COLL_INGEST_SQL_H
#define COLL_INGEST_SQL_H

#define SQL_MATCH(l, f)                                                      \
	"((" l ".sha256 IS NOT NULL AND " f ".sha256 = " l ".sha256) OR ("    \
	f ".host_id = " l ".host_id AND " f ".path = " l ".path AND ("       \
	f ".sha256 IS NULL OR " l ".sha256 IS NULL OR "                      \
	f ".sha256 = " l ".sha256)))"

#define SQL_RELEVANT(f) "(" f ".cve <> '' OR " f ".type <> 'package')"

#define SQL_CORR_INSERT                                                      \
	"INSERT INTO correlations AS c (host_id, exec_id, path, finding_id, " \
	"finding_host_id, pid, exe, cmdline, inner_path, sha256, type, name, " \
	"version, cve, severity, loaded_since, loaded_now, ended_at) "       \
	"SELECT l.host_id, l.exec_id, l.path, f.id, f.host_id, l.pid, "      \
	"p.exe, p.cmdline, f.inner_path, coalesce(l.sha256, f.sha256), "     \
	"f.type, f.name, f.version, f.cve, f.severity, l.first_seen, "       \
	"l.unloaded_at IS NULL, l.unloaded_at "

#define SQL_CORR_UPSERT                                                      \
	" ON CONFLICT (host_id, exec_id, path, finding_id) DO UPDATE SET "   \
	"pid = excluded.pid, exe = coalesce(excluded.exe, c.exe), "          \
	"cmdline = coalesce(excluded.cmdline, c.cmdline), "                  \
	"sha256 = excluded.sha256, severity = excluded.severity, "           \
	"last_seen = now(), loaded_now = excluded.loaded_now, "              \
	"ended_at = excluded.ended_at"

/*
 * Serialises the high-water mark check of the group's (host_id, source_id,
 * boot_id) keys among every collector, new keys included: SQL_HWM_GROUP's
 * FOR UPDATE can only lock rows that exist, so without this two collectors
 * given the same batch of a new boot would both read mark 0 and both COPY
 * it.  A transaction-scoped advisory lock per key, taken in key order (no
 * deadlock between groups) in a statement of its own before SQL_HWM_GROUP,
 * whose fresh snapshot (READ COMMITTED) then sees the mark the other
 * transaction committed.  The "hwm:" prefix keeps these keys apart from
 * SQL_LOCK_KEYS'.
 */
static const char SQL_HWM_LOCK[] =
	"SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM "
	"(SELECT DISTINCT 'hwm:' || h || chr(31) || s || chr(31) || b AS k "
	"FROM unnest($1::text[], $2::text[], $3::text[]) AS u(h, s, b) "
	"ORDER BY k) l";

/*
 * The high-water marks of a group of batches, in the events transaction:
 * one row per (host_id, source_id, boot_id) with the highest seq of the
 * group.  Returns each key's mark as it was before (0 when new); the caller
 * decides from it which batches are duplicates.  Runs after SQL_HWM_LOCK,
 * so a second collector serving the same source waits and then reads the
 * mark this transaction committed; the existing rows are locked as well.
 */
static const char SQL_HWM_GROUP[] =
	"WITH k AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
	"$4::bigint[], $5::text[], $6::text[], $7::text[]) AS k(host_id, "
	"source_id, boot_id, seq, kind, version, peer)), "
	"old AS (SELECT s.host_id, s.source_id, s.boot_id, s.seq "
	"FROM sources s JOIN k ON s.host_id = k.host_id "
	"AND s.source_id = k.source_id AND s.boot_id = k.boot_id "
	"FOR UPDATE OF s), "
	"up AS (INSERT INTO sources AS s (host_id, source_id, boot_id, seq, "
	"kind, version, peer) SELECT host_id, source_id, boot_id, seq, kind, "
	"version, peer FROM k "
	"ON CONFLICT (host_id, source_id, boot_id) DO UPDATE SET "
	"seq = greatest(s.seq, excluded.seq), version = excluded.version, "
	"peer = excluded.peer, last_seen = now()) "
	"SELECT k.host_id, k.source_id, k.boot_id, coalesce(old.seq, 0) "
	"FROM k LEFT JOIN old ON old.host_id = k.host_id "
	"AND old.source_id = k.source_id AND old.boot_id = k.boot_id";

/* The committed marks of the group's keys, for the state stage. */
static const char SQL_HWM_READ[] =
	"SELECT k.host_id, k.source_id, k.boot_id, coalesce(s.seq, 0) "
	"FROM unnest($1::text[], $2::text[], $3::text[]) "
	"AS k(host_id, source_id, boot_id) LEFT JOIN sources s "
	"ON s.host_id = k.host_id AND s.source_id = k.source_id "
	"AND s.boot_id = k.boot_id";

/* Every runtime event, in COPY's binary format (see ingest.c:
 * copy_event), and the COMMIT of the events transaction in the same query
 * string: the server commits as soon as the data ends, without a round
 * trip through the collector's loop.  An error in the COPY skips the rest
 * of the string, so the COMMIT runs only after a COPY that succeeded, and
 * the result the sink sees is the COPY's error or the COMMIT's outcome. */
static const char SQL_COPY_EVENTS[] =
	"COPY events (detail, ts, host_id, kind, exec_id, pid, source_id, "
	"boot_id, seq) FROM STDIN (FORMAT binary); COMMIT";

/* A scanner reports a snapshot's host without kernel facts: keep those
 * an agent reported. */
static const char SQL_HOST[] =
	"INSERT INTO hosts AS h (host_id, hostname, kernel, os, arch, "
	"kernel_boot_id) VALUES ($1::text, $2::text, $3::text, $4::text, "
	"$5::text, $6::text) "
	"ON CONFLICT (host_id) DO UPDATE SET "
	"hostname = coalesce(nullif(excluded.hostname, ''), h.hostname), "
	"kernel = coalesce(nullif(excluded.kernel, ''), h.kernel), "
	"os = coalesce(nullif(excluded.os, ''), h.os), "
	"arch = coalesce(nullif(excluded.arch, ''), h.arch), "
	"kernel_boot_id = coalesce(nullif(excluded.kernel_boot_id, ''), "
	"h.kernel_boot_id), last_seen = now()";

/*
 * Serialises the transactions that could correlate with each other: a load
 * and a finding match by sha256 or by (host_id, path), so each side locks
 * both keys first.  Only matters when several collectors (or several state
 * transactions) write at once; under READ COMMITTED the statement after the
 * lock sees what the other committed.  Locks are taken in key order.
 */
static const char SQL_LOCK_KEYS[] =
	"SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM "
	"(SELECT DISTINCT k FROM (SELECT unnest($2::text[]) UNION ALL "
	"SELECT 'p:' || h || ':' || p FROM unnest($1::text[], $3::text[]) "
	"AS hp(h, p)) u(k) "
	"WHERE k IS NOT NULL AND k <> '' ORDER BY k) s";

static const char SQL_EXEC[] =
	"WITH t AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], "
	"$4::int[], $5::bigint[], $6::int[], $7::text[], $8::text[], "
	"$9::text[], $10::bool[], $11::text[], $12::bigint[], $13::bigint[], "
	"$14::bigint[], $15::numeric[], $16::text[], $17::numeric[], "
	"$18::numeric[], $19::bool[]) AS t(host_id, ts_ns, exec_id, pid, "
	"start_ns, "
	"ppid, parent_exec_id, exe, argv, argv_truncated, comm, uid, euid, "
	"loginuid, cgroup_id, container_id, mnt_ns, pid_ns, from_snapshot)) "
	"INSERT INTO processes AS p (host_id, exec_id, pid, ppid, "
	"parent_exec_id, start_time_ns, exe, argv, cmdline, argv_truncated, "
	"comm, uid, euid, loginuid, cgroup_id, container_id, mnt_ns, pid_ns, "
	"from_snapshot, started_at, last_seen) "
	"SELECT DISTINCT ON (host_id, exec_id) host_id, exec_id, pid, ppid, "
	"nullif(parent_exec_id, ''), start_ns, exe, argv::text[], "
	"array_to_string(argv::text[], ' '), argv_truncated, comm, uid, euid, "
	"loginuid, cgroup_id, nullif(container_id, ''), mnt_ns, pid_ns, "
	"from_snapshot, coalesce(px_ts(ts_ns), now()), now() "
	"FROM t ORDER BY host_id, exec_id, ts_ns DESC "
	"ON CONFLICT (host_id, exec_id) DO UPDATE SET pid = excluded.pid, "
	"ppid = excluded.ppid, "
	"parent_exec_id = coalesce(excluded.parent_exec_id, p.parent_exec_id), "
	"exe = excluded.exe, argv = excluded.argv, cmdline = excluded.cmdline, "
	"argv_truncated = excluded.argv_truncated, comm = excluded.comm, "
	"uid = excluded.uid, euid = excluded.euid, "
	"loginuid = excluded.loginuid, cgroup_id = excluded.cgroup_id, "
	"container_id = excluded.container_id, mnt_ns = excluded.mnt_ns, "
	"pid_ns = excluded.pid_ns, from_snapshot = excluded.from_snapshot, "
	"started_at = coalesce(p.started_at, excluded.started_at), "
	"last_seen = now()";

/* A forked child runs its parent's image until it execs. */
static const char SQL_FORK[] =
	"WITH t AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], "
	"$4::int[], $5::bigint[], $6::text[], $7::int[]) AS t(host_id, ts_ns, "
	"exec_id, pid, start_ns, parent_exec_id, ppid)) "
	"INSERT INTO processes (host_id, exec_id, pid, ppid, parent_exec_id, "
	"start_time_ns, exe, argv, cmdline, comm, uid, euid, loginuid, "
	"cgroup_id, container_id, mnt_ns, pid_ns, started_at, last_seen) "
	"SELECT DISTINCT ON (t.host_id, t.exec_id) t.host_id, t.exec_id, "
	"t.pid, t.ppid, "
	"nullif(t.parent_exec_id, ''), t.start_ns, pp.exe, pp.argv, "
	"pp.cmdline, pp.comm, pp.uid, pp.euid, pp.loginuid, pp.cgroup_id, "
	"pp.container_id, pp.mnt_ns, pp.pid_ns, "
	"coalesce(px_ts(t.ts_ns), now()), now() "
	"FROM t LEFT JOIN processes pp ON pp.host_id = t.host_id "
	"AND pp.exec_id = t.parent_exec_id ORDER BY t.host_id, t.exec_id "
	"ON CONFLICT (host_id, exec_id) DO NOTHING";

/* Loads of a process already known to have exited are stored as history,
 * unloaded at its exit, and so are their correlations: a group applies
 * its exits before its loads (ingest.c: enum step), so a process whose
 * loads and exit arrive together has each load and correlation written
 * once, already ended, instead of written live and then updated. */
static const char SQL_ARTIFACT[] =
	"WITH t AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], "
	"$4::int[], $5::text[], $6::numeric[], $7::numeric[], $8::bigint[], "
	"$9::bigint[], $10::text[], $11::text[], $12::text[], $13::text[]) "
	"AS t(host_id, ts_ns, exec_id, pid, path, dev, inode, size, mtime_ns, "
	"sha256, load_kind, error, class_name)), "
	"l AS (INSERT INTO artifacts_loaded AS a (host_id, exec_id, pid, path, "
	"sha256, dev, inode, size, mtime, load_kind, hash_error, first_seen, "
	"last_seen, unloaded_at) "
	"SELECT DISTINCT ON (t.host_id, t.exec_id, t.path) t.host_id, "
	"t.exec_id, t.pid, "
	"t.path, nullif(t.sha256, ''), t.dev, t.inode, t.size, "
	"px_ts(t.mtime_ns), t.load_kind, nullif(t.error, ''), "
	"coalesce(px_ts(t.ts_ns), now()), coalesce(px_ts(t.ts_ns), now()), "
	"(SELECT p.exited_at FROM processes p WHERE p.host_id = t.host_id "
	"AND p.exec_id = t.exec_id) FROM t "
	"ORDER BY t.host_id, t.exec_id, t.path, (t.sha256 = ''), t.ts_ns "
	"ON CONFLICT (host_id, exec_id, path) DO UPDATE SET pid = excluded.pid, "
	"sha256 = coalesce(excluded.sha256, a.sha256), dev = excluded.dev, "
	"inode = excluded.inode, size = excluded.size, mtime = excluded.mtime, "
	"hash_error = excluded.hash_error, "
	"last_seen = greatest(a.last_seen, excluded.last_seen), "
	"unloaded_at = excluded.unloaded_at RETURNING a.*) "
	SQL_CORR_INSERT
	"FROM l JOIN findings f ON " SQL_MATCH("l", "f") " "
	"LEFT JOIN processes p ON p.host_id = l.host_id "
	"AND p.exec_id = l.exec_id "
	"WHERE " SQL_RELEVANT("f") SQL_CORR_UPSERT;

static const char SQL_FINDING[] =
	"WITH t AS (SELECT * FROM unnest($3::text[], $4::text[], $5::text[], "
	"$6::text[], $7::text[], $8::text[], $9::text[], $10::text[], "
	"$11::text[], $12::text[], $13::text[], $14::text[], $15::text[]) "
	"AS t(type, path, inner_path, sha256, layer_digest, ecosystem, name, "
	"version, purl, cve, severity, evidence, fingerprint)), "
	"f AS (INSERT INTO findings AS f (host_id, path, inner_path, type, "
	"ecosystem, name, version, cve, fingerprint, sha256, layer_digest, "
	"purl, severity, evidence, source_id) "
	"SELECT DISTINCT ON (path, inner_path, type, ecosystem, name, version, "
	"cve, fingerprint) $1::text, path, inner_path, type, ecosystem, name, "
	"version, cve, fingerprint, nullif(sha256, ''), "
	"nullif(layer_digest, ''), nullif(purl, ''), severity, evidence, "
	"$2::text FROM t ORDER BY path, inner_path, type, ecosystem, name, "
	"version, cve, fingerprint "
	"ON CONFLICT (host_id, path, inner_path, type, ecosystem, name, "
	"version, cve, fingerprint) DO UPDATE SET sha256 = excluded.sha256, "
	"layer_digest = excluded.layer_digest, purl = excluded.purl, "
	"severity = excluded.severity, evidence = excluded.evidence, "
	"source_id = excluded.source_id, last_seen = now() RETURNING f.*) "
	SQL_CORR_INSERT
	"FROM f JOIN artifacts_loaded l ON " SQL_MATCH("l", "f") " "
	"AND l.unloaded_at IS NULL "
	"LEFT JOIN processes p ON p.host_id = l.host_id "
	"AND p.exec_id = l.exec_id "
	"WHERE " SQL_RELEVANT("f") SQL_CORR_UPSERT;

/* An exit ends the process's loads and correlations; they stay as
 * history with their end time. */
static const char SQL_EXIT[] =
	"WITH t AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], "
	"$4::int[], $5::bigint[], $6::int[]) AS t(host_id, ts_ns, exec_id, "
	"pid, start_ns, exit_code)), "
	"p AS (INSERT INTO processes AS p (host_id, exec_id, pid, "
	"start_time_ns, exited_at, exit_code, last_seen) "
	"SELECT DISTINCT ON (host_id, exec_id) host_id, exec_id, pid, "
	"start_ns, coalesce(px_ts(ts_ns), now()), exit_code, now() FROM t "
	"ORDER BY host_id, exec_id, ts_ns "
	"ON CONFLICT (host_id, exec_id) DO UPDATE SET "
	"exited_at = excluded.exited_at, exit_code = excluded.exit_code, "
	"last_seen = now() RETURNING p.host_id, p.exec_id, p.exited_at), "
	"a AS (UPDATE artifacts_loaded a SET unloaded_at = p.exited_at FROM p "
	"WHERE a.host_id = p.host_id AND a.exec_id = p.exec_id "
	"AND a.unloaded_at IS NULL) "
	"UPDATE correlations c SET loaded_now = false, ended_at = p.exited_at, "
	"last_seen = now() FROM p WHERE c.host_id = p.host_id "
	"AND c.exec_id = p.exec_id AND c.ended_at IS NULL";

/*
 * Where a package finding was installed, as advisory matching reads it
 * (coll_adv_row_matches): the purl's distro qualifier ("debian-12"), ''
 * when it has none; and the host's os (SQL_HOST_OS), '' when unknown.
 * advisory_matches keys on both, so a match decided for Debian 12 never
 * reaches a package of another release.
 */
#define SQL_PURL_DISTRO(purl)                                                \
	"coalesce(substring(" purl " from '[?&]distro=([^&#]*)'), '')"
#define SQL_HOST_OS(host_id)                                                 \
	"coalesce((SELECT h.os FROM hosts h WHERE h.host_id = " host_id      \
	"), '')"

/*
 * Turns (advisory, package version, distro, host os) matches, $1..$4 and
 * $6, $7 as arrays, into findings with the advisory's CVE on every host
 * holding the version where it was decided (or only on host $5 when it is
 * not NULL), and correlates those with the live loads.  Returns the counts of findings and correlations written.  Run by
 * `parallax advisories import/evaluate` for every host, and by the ingest
 * state transaction for the host of a batch that brings package findings
 * (SQL_ADV_CANDIDATES, then this).
 */
#define SQL_ADV_APPLY_CTES                                                   \
	"m AS (SELECT DISTINCT * FROM unnest($1::text[], $2::text[], " \
	"$3::text[], $4::text[], $6::text[], $7::text[]) AS m(advisory_id, " \
	"ecosystem, name, version, distro, host_os)), " \
	"src AS (SELECT DISTINCT ON (f.host_id, f.path, f.inner_path, " \
	"f.ecosystem, f.name, f.version, a.cve) f.host_id, f.path, " \
	"f.inner_path, f.ecosystem, f.name, f.version, f.sha256, " \
	"f.layer_digest, f.purl, a.id AS advisory_id, a.cve, a.severity " \
	"FROM findings f JOIN m ON f.type = 'package' " \
	"AND f.ecosystem = m.ecosystem AND f.name = m.name " \
	"AND f.version = m.version " \
	"AND " SQL_PURL_DISTRO("f.purl") " = m.distro " \
	"AND " SQL_HOST_OS("f.host_id") " = m.host_os " \
	"AND ($5::text IS NULL OR f.host_id = $5::text) " \
	"JOIN advisories a ON a.id = m.advisory_id " \
	"ORDER BY f.host_id, f.path, f.inner_path, f.ecosystem, f.name, " \
	"f.version, a.cve, a.id), " \
	"f AS (INSERT INTO findings AS f (host_id, path, inner_path, type, " \
	"ecosystem, name, version, cve, fingerprint, sha256, layer_digest, " \
	"purl, severity, evidence, source_id) SELECT host_id, path, " \
	"inner_path, 'package', ecosystem, name, version, cve, '', sha256, " \
	"layer_digest, purl, severity, 'advisory ' || advisory_id || " \
	"' (imported)', 'advisories' FROM src " \
	"ON CONFLICT (host_id, path, inner_path, type, ecosystem, name, " \
	"version, cve, fingerprint) DO UPDATE SET last_seen = now(), " \
	"severity = CASE WHEN f.source_id = 'advisories' " \
	"THEN excluded.severity ELSE f.severity END RETURNING f.*), " \
	"c AS (" SQL_CORR_INSERT \
	"FROM f JOIN artifacts_loaded l ON " SQL_MATCH("l", "f") " " \
	"AND l.unloaded_at IS NULL " \
	"LEFT JOIN processes p ON p.host_id = l.host_id " \
	"AND p.exec_id = l.exec_id " \
	"WHERE " SQL_RELEVANT("f") SQL_CORR_UPSERT " RETURNING 1) " \
	"SELECT (SELECT count(*) FROM f), (SELECT count(*) FROM c)"

static const char SQL_ADV_APPLY[] = "WITH " SQL_ADV_APPLY_CTES;

/*
 * The stored advisories' affected entries that may cover the package
 * findings of a batch ($1 ecosystems, $2 names, $3 versions, $4 purls as
 * arrays; $5 its host), in the columns coll_adv_row_matches() reads:
 * advisory, our ecosystem, name and version, theirs, ranges and versions
 * as JSON, the purl's distro qualifier and the host's os.  SQL_HOST has
 * run before in the same transaction, so the os is the batch's own when
 * it brings host facts.  The ingest sink decides in C and, for the hits,
 * runs SQL_ADV_INGEST for the batch's host.
 */
static const char SQL_ADV_CANDIDATES[] =
	"SELECT a.advisory_id, f.ecosystem, f.name, f.version, "
	"a.ecosystem, a.ranges::text, array_to_json(a.versions)::text, "
	"f.distro, " SQL_HOST_OS("$5::text") " "
	"FROM (SELECT DISTINCT ecosystem, name, version, "
	SQL_PURL_DISTRO("purl") " AS distro FROM unnest($1::text[], "
	"$2::text[], $3::text[], $4::text[]) AS f(ecosystem, name, version, "
	"purl) WHERE version <> '') f "
	"JOIN advisory_affected a ON lower(a.name) = lower(f.name)";

/* SQL_ADV_APPLY for one host, from the ingest: the matches are also kept
 * with those of the last evaluation. */
static const char SQL_ADV_INGEST[] =
	"WITH am AS (INSERT INTO advisory_matches (advisory_id, ecosystem, "
	"name, version, distro, host_os) SELECT DISTINCT * FROM unnest("
	"$1::text[], $2::text[], $3::text[], $4::text[], $6::text[], "
	"$7::text[]) ON CONFLICT DO NOTHING), " SQL_ADV_APPLY_CTES;

/* XXX: the report is stored, but findings of earlier scans of the same root
 * that this scan did not repeat are not yet marked resolved. */
static const char SQL_SCAN[] =
	"INSERT INTO scans AS s (host_id, source_id, scan_id, root, "
	"snapshot_kind, started_at, finished_at, files, bytes, findings, "
	"errors, events_dropped) VALUES ($1::text, $2::text, $3::text, "
	"$4::text, $5::text, px_ts($6::bigint), px_ts($7::bigint), $8::bigint, "
	"$9::bigint, $10::bigint, $11::bigint, $12::bigint) "
	"ON CONFLICT (host_id, scan_id) DO UPDATE SET root = excluded.root, "
	"snapshot_kind = excluded.snapshot_kind, "
	"started_at = excluded.started_at, finished_at = excluded.finished_at, "
	"files = excluded.files, bytes = excluded.bytes, "
	"findings = excluded.findings, errors = excluded.errors, "
	"events_dropped = excluded.events_dropped";

/* The report's events ($1 host_id, $2 scan_id, $3 the scan's end in ns,
 * then one array per column), numbered in list order; a replayed report
 * rewrites the same rows. */
static const char SQL_SCAN_EVENTS[] =
	"INSERT INTO scan_events AS e (host_id, scan_id, n, kind, path, "
	"inner_path, detail, layer_digest, ts) "
	"SELECT $1::text, $2::text, t.n, t.kind, t.path, t.inner_path, "
	"t.detail, nullif(t.layer_digest, ''), "
	"coalesce(px_ts(nullif($3::bigint, 0)), now()) "
	"FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], "
	"$8::text[]) WITH ORDINALITY AS t(kind, path, inner_path, detail, "
	"layer_digest, n) "
	"ON CONFLICT (host_id, scan_id, n) DO UPDATE SET kind = excluded.kind, "
	"path = excluded.path, inner_path = excluded.inner_path, "
	"detail = excluded.detail, layer_digest = excluded.layer_digest, "
	"ts = excluded.ts";

#endif
