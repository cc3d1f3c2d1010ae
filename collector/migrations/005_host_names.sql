-- SPDX-License-Identifier: Apache-2.0
-- People name hosts by hostname, keys use host_id (the machine id): queries
-- show the hostname where the host has reported one, and --host accepts
-- either.
CREATE FUNCTION px_host_name(id text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT coalesce(nullif((SELECT hostname FROM hosts h
				WHERE h.host_id = id), ''), id)
$$;
