-- SPDX-License-Identifier: Apache-2.0
--
-- 004_advisories: OSV advisories imported by hand (parallax advisories
-- import) and what they matched in the stored inventory.  These are
-- reference tables, the same on every host: on Citus they are reference
-- tables, not distributed ones.

CREATE TABLE advisories (
	id text PRIMARY KEY,          -- OSV id (GHSA-..., CVE-..., DSA-...)
	cve text NOT NULL,            -- the CVE alias when there is one, else id
	summary text NOT NULL DEFAULT '',
	severity text NOT NULL DEFAULT 'unknown',
	aliases text[] NOT NULL DEFAULT '{}',
	modified timestamptz,
	imported_at timestamptz NOT NULL DEFAULT now()
);

-- One row per affected[] entry of an advisory, its ranges kept as OSV
-- wrote them; collector/advisories.c evaluates them with common/vercmp.
CREATE TABLE advisory_affected (
	advisory_id text NOT NULL REFERENCES advisories ON DELETE CASCADE,
	ecosystem text NOT NULL,
	name text NOT NULL,
	ranges jsonb NOT NULL DEFAULT '[]',
	versions text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX advisory_affected_name ON advisory_affected (lower(name));

-- Package versions of the inventory that an advisory covers, as last
-- evaluated.
CREATE TABLE advisory_matches (
	advisory_id text NOT NULL REFERENCES advisories ON DELETE CASCADE,
	ecosystem text NOT NULL,
	name text NOT NULL,
	version text NOT NULL,
	matched_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (advisory_id, ecosystem, name, version)
);
