-- One schema, two dialects: keep migrations/sqlite/0003_package_tasks.sql in step.

-- Package tasks (upload_pm, execute_pm on an environment's nodes) can be
-- `interrupted`: the master stopped while they ran.
ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
    CHECK (status IN ('pending', 'running', 'ready', 'error', 'interrupted'));
-- Comma-separated tasks the API added because a requested one requires them.
ALTER TABLE tasks ADD COLUMN added_tasks TEXT;

-- Each node's sub-tasks of a package task. The node's id and hostname are
-- copied, not referenced: the record outlives the node.
CREATE TABLE task_nodes (
    task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    node_id BIGINT NOT NULL,
    hostname TEXT NOT NULL,
    subtask TEXT NOT NULL CHECK (subtask IN ('upload_pm', 'execute_pm')),
    position BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'ready', 'error', 'interrupted', 'skipped')),
    started_at TEXT,
    finished_at TEXT,
    reason TEXT,
    message TEXT,
    -- The applier's JSON report (fuel_pm::report::Report).
    report TEXT,
    PRIMARY KEY (task_id, node_id, subtask)
);
