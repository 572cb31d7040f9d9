-- One schema, two dialects: keep migrations/postgres/0006_package_inventory.sql in step.

-- Which version of each package a node runs, as last seen by the master.
-- An observation is one stored applier report (execute_pm, or --check) of
-- one node: when, and by which task. The task's id is copied, not
-- referenced: the record outlives the task (deleted with its environment).
-- A node's observations go with the node.
CREATE TABLE package_observations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    task_id INTEGER NOT NULL,
    observed_at TEXT NOT NULL,
    -- 'apply' (execute_pm) or 'check' (execute_pm --check).
    run TEXT NOT NULL CHECK (run IN ('apply', 'check'))
);
CREATE INDEX package_observations_by_node ON package_observations (node_id, id);

-- Per node and package, the last known installed version (NULL: absent)
-- and the observation that saw it. Written in the transaction that stores
-- the report.
CREATE TABLE package_inventory (
    node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    package TEXT NOT NULL,
    version TEXT,
    observation_id INTEGER NOT NULL REFERENCES package_observations (id),
    PRIMARY KEY (node_id, package)
);
CREATE INDEX package_inventory_by_observation ON package_inventory (observation_id);
