// SPDX-License-Identifier: Apache-2.0
/*
 * The embedded PostgreSQL cluster (see embedded_pg.h).  The server tools
 * write their output to <data-dir>/pg-tools.log, whose tail goes into the
 * error message when one of them fails.
 */
#include "embedded_pg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "log.h"

#define PG_ROOT "/usr/lib/postgresql"
#define PG_PORT "5432"
#define PG_CTL_TIMEOUT "60"

static bool has_tools(const char *dir)
{
	static const char *const tools[] = { "initdb", "pg_ctl", "postgres" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, tools[i]);
		if (access(path, X_OK) != 0)
			return false;
	}
	return true;
}

int coll_epg_find_bindir(const char *override, char *out, size_t outlen,
			 char *err, size_t errlen)
{
	struct dirent *de;
	long best = -1;
	DIR *d;

	if (override != NULL && override[0] != '\0') {
		if (!has_tools(override)) {
			snprintf(err, errlen, "%s lacks initdb, pg_ctl or postgres; install the PostgreSQL server (apt-get install postgresql) or point collector.pg_bindir at its bin directory",
				 override);
			return -ENOENT;
		}
		snprintf(out, outlen, "%s", override);
		return 0;
	}
	d = opendir(PG_ROOT);
	while (d != NULL && (de = readdir(d)) != NULL) {
		char dir[PATH_MAX], *end;
		long ver = strtol(de->d_name, &end, 10);

		if (end == de->d_name || *end != '\0' || ver <= best)
			continue;
		snprintf(dir, sizeof(dir), PG_ROOT "/%s/bin", de->d_name);
		if (!has_tools(dir))
			continue;
		best = ver;
		snprintf(out, outlen, "%s", dir);
	}
	if (d != NULL)
		closedir(d);
	if (best < 0) {
		snprintf(err, errlen, "no PostgreSQL server binaries (initdb, pg_ctl, postgres) under " PG_ROOT "/<version>/bin; install them with: apt-get install postgresql (or give --db DSN to use an existing database)");
		return -ENOENT;
	}
	return 0;
}

/* Copies the last line(s) of the tools log into <err> after <what>. */
static void log_tail(const struct coll_epg *e, const char *what, char *err,
		     size_t errlen)
{
	char path[PATH_MAX], buf[400];
	ssize_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/pg-tools.log", e->data_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		off_t end = lseek(fd, 0, SEEK_END);
		off_t from = end > (off_t)sizeof(buf) - 1 ?
			     end - (off_t)sizeof(buf) + 1 : 0;

		n = pread(fd, buf, sizeof(buf) - 1, from);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	snprintf(err, errlen, "%s (see %s): ...%s", what, path,
		 n > 200 ? buf + n - 200 : buf);
}

/*
 * Runs <argv> (argv[0] a path under bindir) as the cluster's user, output
 * appended to the tools log, and waits.  Returns the exit status, or -errno
 * when it could not be started.
 */
static int run_tool(const struct coll_epg *e, char *const argv[])
{
	char logp[PATH_MAX];
	int status, fd;
	pid_t pid;

	snprintf(logp, sizeof(logp), "%s/pg-tools.log", e->data_dir);
	fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	px_debug("embedded-pg", "running", "tool=%s", argv[0]);
	pid = fork();
	if (pid < 0) {
		close(fd);
		return -errno;
	}
	if (pid == 0) {
		/* Child: no allocation, only async-signal-safe calls. */
		if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(126);
		if (e->drop_privileges &&
		    (setgroups(1, &e->gid) != 0 || setgid(e->gid) != 0 ||
		     setuid(e->uid) != 0))
			_exit(126);
		/* The server must not inherit our sockets and pipes. */
		close_range(3, ~0U, 0);
		/* The tools insist on a current directory they can read. */
		if (chdir(e->pgdata) != 0 && chdir("/") != 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Makes <dir> (mode 0700) and gives it to the cluster's user. */
static int own_dir(const struct coll_epg *e, const char *dir, char *err,
		   size_t errlen)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir,
			 strerror(errno));
		return -errno;
	}
	if (e->drop_privileges && chown(dir, e->uid, e->gid) != 0) {
		snprintf(err, errlen, "cannot give %s to the postgres user: %s",
			 dir, strerror(errno));
		return -errno;
	}
	if (chmod(dir, 0700) != 0) {
		snprintf(err, errlen, "cannot chmod %s: %s", dir,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

/* Sets up the paths and the user the server runs as. */
static int prepare(struct coll_epg *e, const char *data_dir, char *err,
		   size_t errlen)
{
	struct passwd *pw;
	struct stat st;

	snprintf(e->data_dir, sizeof(e->data_dir), "%s", data_dir);
	snprintf(e->pgdata, sizeof(e->pgdata), "%s/pg", data_dir);
	snprintf(e->rundir, sizeof(e->rundir), "%s/run", data_dir);
	snprintf(e->log_path, sizeof(e->log_path), "%s/postgres.log",
		 e->pgdata);
	if (strlen(e->rundir) + sizeof("/.s.PGSQL." PG_PORT) >
	    sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "data directory path too long for a unix socket: %s",
			 e->rundir);
		return -ENAMETOOLONG;
	}
	e->drop_privileges = geteuid() == 0;
	if (e->drop_privileges) {
		pw = getpwnam("postgres");
		if (pw == NULL) {
			snprintf(err, errlen, "PostgreSQL refuses to run as root and there is no 'postgres' user; install the server (apt-get install postgresql), run the collector as an unprivileged user, or give --db DSN");
			return -ENOENT;
		}
		e->uid = pw->pw_uid;
		e->gid = pw->pw_gid;
	}
	if (mkdir(data_dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create data directory %s: %s",
			 data_dir, strerror(errno));
		return -errno;
	}
	if (stat(data_dir, &st) != 0) {
		snprintf(err, errlen, "cannot stat %s: %s", data_dir,
			 strerror(errno));
		return -errno;
	}
	/* The server's user must be able to pass through the data dir. */
	if (e->drop_privileges && !(st.st_mode & S_IXOTH) &&
	    chmod(data_dir, (st.st_mode & 07777) | S_IXOTH) != 0) {
		snprintf(err, errlen, "cannot make %s searchable for the postgres user: %s",
			 data_dir, strerror(errno));
		return -errno;
	}
	if (own_dir(e, e->pgdata, err, errlen) < 0 ||
	    own_dir(e, e->rundir, err, errlen) < 0)
		return -EACCES;
	return 0;
}

/* Writes the settings that depend on where the cluster lives; included
 * from postgresql.conf (see init_cluster). */
static int write_settings(const struct coll_epg *e, char *err, size_t errlen)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/parallax.conf", e->pgdata);
	f = fopen(path, "w");
	if (f == NULL) {
		snprintf(err, errlen, "cannot write %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	/* wal_init_zero: a new WAL segment is created by writing its last
	 * byte rather than 16 MB of zeros, which otherwise lands inside the
	 * COMMIT that needs the segment (under steady ingest, one in every
	 * few group commits).  Durability is unchanged: WAL is still flushed
	 * before a commit returns; what is given up is learning about a full
	 * disk at segment creation rather than at the first write.
	 * max_wal_size: steady ingest writes tens of MB of WAL a second, so
	 * the 1 GB default checkpoints every half minute or so, and after
	 * each checkpoint the first change to every page logs a full page
	 * image.  The cluster is the collector's own; the cost is up to
	 * 4 GB of WAL on its disk.  shared_buffers stays at the default:
	 * the collector does not know the host's memory. */
	fputs("# Written by parallax-collector at every start.\n"
	      "wal_init_zero = off\n"
	      "max_wal_size = 4GB\n"
	      "listen_addresses = ''\n"
	      "unix_socket_permissions = 0700\n"
	      "unix_socket_directories = '", f);
	for (const char *p = e->rundir; *p != '\0'; p++) {
		if (*p == '\'')
			fputc('\'', f);
		fputc(*p, f);
	}
	fputs("'\n", f);
	if (fclose(f) != 0) {
		snprintf(err, errlen, "cannot write %s", path);
		return -EIO;
	}
	if (e->drop_privileges && chown(path, e->uid, e->gid) != 0) {
		snprintf(err, errlen, "cannot chown %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

static int init_cluster(struct coll_epg *e, char *err, size_t errlen)
{
	char initdb[PATH_MAX], pgconf[PATH_MAX], version[PATH_MAX];
	char *argv[] = { initdb, "-D", e->pgdata, "-U", COLL_EPG_USER,
			 "--auth=trust", "-E", "UTF8", "--locale=C", NULL };
	FILE *f;
	int rc;

	snprintf(version, sizeof(version), "%s/PG_VERSION", e->pgdata);
	if (access(version, F_OK) == 0)
		return 0;
	px_info("embedded-pg", "creating database cluster", "pgdata=%s",
		px_q(e->pgdata));
	snprintf(initdb, sizeof(initdb), "%s/initdb", e->bindir);
	rc = run_tool(e, argv);
	if (rc != 0) {
		log_tail(e, "initdb failed", err, errlen);
		return -EIO;
	}
	snprintf(pgconf, sizeof(pgconf), "%s/postgresql.conf", e->pgdata);
	f = fopen(pgconf, "a");
	if (f == NULL) {
		snprintf(err, errlen, "cannot append to %s: %s", pgconf,
			 strerror(errno));
		return -errno;
	}
	fputs("\n# parallax: socket and listening settings\n"
	      "include_if_exists = 'parallax.conf'\n", f);
	if (fclose(f) != 0) {
		snprintf(err, errlen, "cannot write %s", pgconf);
		return -EIO;
	}
	return 0;
}

/* Runs "pg_ctl <verb>" on the cluster; on failure puts <what> and the
 * log tail into <err> (when <what> is not NULL).  Returns the exit code. */
static int pg_ctl(struct coll_epg *e, const char *verb, const char *what,
		  char *err, size_t errlen)
{
	bool starts = strcmp(verb, "start") == 0 || strcmp(verb, "restart") == 0;
	bool stops = strcmp(verb, "stop") == 0 || strcmp(verb, "restart") == 0;
	char tool[PATH_MAX];
	char *argv[16];
	int n = 0, rc;

	snprintf(tool, sizeof(tool), "%s/pg_ctl", e->bindir);
	argv[n++] = tool;
	argv[n++] = (char *)verb;
	argv[n++] = "-D";
	argv[n++] = e->pgdata;
	if (starts || stops) {
		argv[n++] = "-w";
		argv[n++] = "-t";
		argv[n++] = PG_CTL_TIMEOUT;
	}
	if (starts) {
		argv[n++] = "-l";
		argv[n++] = e->log_path;
	}
	if (stops) {
		argv[n++] = "-m";
		argv[n++] = "fast";
	}
	argv[n] = NULL;
	rc = run_tool(e, argv);
	if (rc != 0 && what != NULL)
		log_tail(e, what, err, errlen);
	return rc;
}

/* Creates the parallax database when missing. */
static int create_db(struct coll_epg *e, char *err, size_t errlen)
{
	char dsn[sizeof(e->dsn)];
	PGresult *res;
	PGconn *c;
	int ret = 0;

	snprintf(dsn, sizeof(dsn), "host=%s port=" PG_PORT " user=" COLL_EPG_USER
		 " dbname=postgres", e->rundir);
	c = PQconnectdb(dsn);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "cannot reach the embedded PostgreSQL at %s: %s",
			 e->rundir, PQerrorMessage(c));
		ret = -EIO;
		goto out;
	}
	res = PQexec(c, "SELECT 1 FROM pg_database WHERE datname = '"
		     COLL_EPG_DBNAME "'");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 0) {
		PQclear(res);
		res = PQexec(c, "CREATE DATABASE " COLL_EPG_DBNAME);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			snprintf(err, errlen, "cannot create database " COLL_EPG_DBNAME ": %s",
				 PQresultErrorMessage(res));
			ret = -EIO;
		}
	}
	PQclear(res);
out:
	PQfinish(c);
	err[strcspn(err, "\n")] = '\0';
	return ret;
}

int coll_epg_start(struct coll_epg *e, const char *data_dir,
		   const char *bindir_override, char *err, size_t errlen)
{
	int ret;

	memset(e, 0, sizeof(*e));
	err[0] = '\0';
	ret = coll_epg_find_bindir(bindir_override, e->bindir,
				   sizeof(e->bindir), err, errlen);
	if (ret < 0)
		return ret;
	ret = prepare(e, data_dir, err, errlen);
	if (ret < 0)
		return ret;
	ret = init_cluster(e, err, errlen);
	if (ret < 0)
		return ret;
	ret = write_settings(e, err, errlen);
	if (ret < 0)
		return ret;

	if (pg_ctl(e, "status", NULL, err, errlen) == 0) {
		px_info("embedded-pg", "adopting the server already running",
			"pgdata=%s", px_q(e->pgdata));
	} else if (pg_ctl(e, "start", "PostgreSQL did not start", err,
			  errlen) != 0) {
		return -EIO;
	}
	e->running = true;
	ret = create_db(e, err, errlen);
	if (ret < 0)
		return ret;
	snprintf(e->dsn, sizeof(e->dsn), "host=%s port=" PG_PORT " user="
		 COLL_EPG_USER " dbname=" COLL_EPG_DBNAME, e->rundir);
	px_info("embedded-pg", "embedded PostgreSQL running", "bindir=%s pgdata=%s socket_dir=%s",
		px_q(e->bindir), px_q(e->pgdata), px_q(e->rundir));
	return 0;
}

int coll_epg_restart(struct coll_epg *e, char *err, size_t errlen)
{
	if (pg_ctl(e, "restart", "PostgreSQL did not restart", err,
		   errlen) != 0)
		return -EIO;
	e->running = true;
	return 0;
}

int coll_epg_stop(struct coll_epg *e, char *err, size_t errlen)
{
	if (!e->running)
		return 0;
	if (pg_ctl(e, "stop", "PostgreSQL did not stop", err, errlen) != 0)
		return -EIO;
	e->running = false;
	px_info("embedded-pg", "embedded PostgreSQL stopped", "pgdata=%s",
		px_q(e->pgdata));
	return 0;
}
