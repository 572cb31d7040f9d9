-- One schema, two dialects: keep migrations/postgres/0002_nodes_and_package_documents.sql in step.

-- The machines the master manages over SSH. What the task runner needs to
-- reach one and refuse an impostor: address, port, OS family (apt or dnf)
-- and the host key recorded at registration.
CREATE TABLE nodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hostname TEXT NOT NULL UNIQUE,
    ip TEXT NOT NULL,
    ssh_port INTEGER NOT NULL CHECK (ssh_port BETWEEN 1 AND 65535),
    os TEXT NOT NULL CHECK (os IN ('ubuntu', 'centos')),
    -- Deleting an environment unassigns its nodes, as Nailgun does.
    cluster_id INTEGER REFERENCES clusters (id) ON DELETE SET NULL,
    status TEXT NOT NULL,
    host_key TEXT NOT NULL,
    host_key_fingerprint TEXT NOT NULL,
    UNIQUE (ip, ssh_port)
);
CREATE INDEX nodes_by_cluster ON nodes (cluster_id);

-- The head of each environment's document history: the number of its
-- newest revision. Every write moves it in the same transaction as it adds
-- the revision, so concurrent writers queue on this one row: an upload
-- after If-Match moves it only from the revision it matched.
CREATE TABLE package_documents (
    cluster_id INTEGER PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    revision INTEGER NOT NULL CHECK (revision > 0)
);

-- Every accepted package document of an environment, never rewritten: the
-- newest revision is the current document. A revision without content
-- records a DELETE (the environment has no document since).
CREATE TABLE package_revisions (
    cluster_id INTEGER NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    revision INTEGER NOT NULL CHECK (revision > 0),
    author TEXT NOT NULL,
    created_at TEXT NOT NULL,
    content BLOB,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (cluster_id, revision)
);
