-- One schema, two dialects: keep migrations/postgres/0001_initial.sql in step.
CREATE TABLE releases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    operating_system TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('available', 'unavailable', 'manageonly')),
    UNIQUE (name, version)
);

CREATE TABLE clusters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    release_id INTEGER NOT NULL REFERENCES releases (id)
);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'ready', 'error')),
    progress INTEGER NOT NULL CHECK (progress BETWEEN 0 AND 100),
    cluster_id INTEGER REFERENCES clusters (id) ON DELETE CASCADE,
    message TEXT
);
CREATE INDEX tasks_by_status ON tasks (status);
CREATE INDEX tasks_by_cluster ON tasks (cluster_id);

-- Only a hash of each token is stored: a copy of the database grants nothing.
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
