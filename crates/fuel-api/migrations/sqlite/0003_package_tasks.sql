-- One schema, two dialects: keep migrations/postgres/0003_package_tasks.sql in step.

-- Package tasks (upload_pm, execute_pm on an environment's nodes) can be
-- `interrupted`: the master stopped while they ran. SQLite cannot change a
-- CHECK constraint in place, so the table is rebuilt with the same rows.
CREATE TABLE tasks_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'ready', 'error', 'interrupted')),
    progress INTEGER NOT NULL CHECK (progress BETWEEN 0 AND 100),
    cluster_id INTEGER REFERENCES clusters (id) ON DELETE CASCADE,
    message TEXT,
    -- Comma-separated tasks the API added because a requested one requires them.
    added_tasks TEXT
);
INSERT INTO tasks_rebuilt (id, name, status, progress, cluster_id, message)
    SELECT id, name, status, progress, cluster_id, message FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_rebuilt RENAME TO tasks;
CREATE INDEX tasks_by_status ON tasks (status);
CREATE INDEX tasks_by_cluster ON tasks (cluster_id);

-- Each node's sub-tasks of a package task. The node's id and hostname are
-- copied, not referenced: the record outlives the node.
CREATE TABLE task_nodes (
    task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    node_id INTEGER NOT NULL,
    hostname TEXT NOT NULL,
    subtask TEXT NOT NULL CHECK (subtask IN ('upload_pm', 'execute_pm')),
    position INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'ready', 'error', 'interrupted', 'skipped')),
    started_at TEXT,
    finished_at TEXT,
    reason TEXT,
    message TEXT,
    -- The applier's JSON report (fuel_pm::report::Report).
    report TEXT,
    PRIMARY KEY (task_id, node_id, subtask)
);
