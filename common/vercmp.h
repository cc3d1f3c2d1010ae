/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Version comparison per ecosystem, one implementation for the scanner's
 * offline advisory matching and the collector's: Debian (dpkg), rpm
 * (rpmvercmp with epoch and release), Alpine apk, semver (npm), PEP 440
 * (PyPI) and Maven.  Each takes two version strings as the ecosystem
 * writes them and returns <0, 0 or >0 like strcmp; malformed input is
 * compared as well as it can be, never rejected.
 */
#ifndef PX_VERCMP_H
#define PX_VERCMP_H

enum px_ver_scheme {
	PX_VER_DEB,
	PX_VER_RPM,
	PX_VER_APK,
	PX_VER_SEMVER,
	PX_VER_PEP440,
	PX_VER_MAVEN,
};

int px_vercmp_deb(const char *a, const char *b);
int px_vercmp_rpm(const char *a, const char *b);
int px_vercmp_apk(const char *a, const char *b);
int px_vercmp_semver(const char *a, const char *b);
int px_vercmp_pep440(const char *a, const char *b);
int px_vercmp_maven(const char *a, const char *b);

int px_vercmp(enum px_ver_scheme s, const char *a, const char *b);

/*
 * The scheme of an ecosystem, by our names (deb, rpm, apk, npm, pypi,
 * maven) or OSV's ("Debian:12", "Ubuntu", "Alpine:v3.18", "Red Hat",
 * "Rocky Linux", "AlmaLinux", "npm", "PyPI", "Maven").  -1 when unknown.
 */
int px_ver_scheme_of(const char *ecosystem);

#endif
