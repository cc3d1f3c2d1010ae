-- SPDX-License-Identifier: Apache-2.0
--
-- 008_release_matching_indexes: what the collector needs to match OS
-- advisories per distribution release, and indexes for the process tree
-- and the vulnerable view.
--
-- An advisory for Debian:12 covers the packages of Debian 12 hosts only
-- (common/osv: px_osv_applies).  A match is therefore decided per package
-- version and per place it was found: the purl's distro qualifier as the
-- scanner wrote it ("debian-12", '' when none) and, when that says
-- nothing, the host's os (PRETTY_NAME, '' when unknown).  Rows stored
-- before this migration carry '' for both: the next `parallax advisories
-- evaluate` replaces them, and drops the CVE findings they no longer
-- support.
ALTER TABLE advisory_matches
	ADD COLUMN distro text NOT NULL DEFAULT '',
	ADD COLUMN host_os text NOT NULL DEFAULT '';
ALTER TABLE advisory_matches DROP CONSTRAINT advisory_matches_pkey;
ALTER TABLE advisory_matches
	ADD PRIMARY KEY (advisory_id, ecosystem, name, version, distro, host_os);

-- px_process_tree walks down by (host_id, parent_exec_id): without this,
-- each level of the recursion reads every process of the host.
CREATE INDEX processes_parent ON processes (host_id, parent_exec_id);

-- v_vulnerable's EXISTS asks, per finding, whether a live correlation
-- names it; correlations' key leads with the process's host and exec, so
-- it cannot answer that without a scan.
CREATE INDEX correlations_finding_live
	ON correlations (finding_host_id, finding_id) WHERE loaded_now;
