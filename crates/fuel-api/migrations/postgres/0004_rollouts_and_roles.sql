-- One schema, two dialects: keep migrations/sqlite/0004_rollouts_and_roles.sql in step.

-- A node's roles in its environment, comma-separated (`controller,mongo`):
-- a rollout ordered by role changes pacemaker nodes one at a time.
ALTER TABLE nodes ADD COLUMN roles TEXT NOT NULL DEFAULT '';

-- A package task run as a rollout keeps its plan: the node ids of each
-- batch, as JSON (`[[3],[4,5]]`), and the max_failures it was given.
ALTER TABLE tasks ADD COLUMN batches TEXT;
ALTER TABLE tasks ADD COLUMN max_failures TEXT;
-- The task's change counter: each sub-task update takes the next value
-- (under the task row's lock), so `GET /tasks/{id}/nodes?since=N` answers
-- exactly the sub-tasks changed after the caller's last look.
ALTER TABLE tasks ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;

ALTER TABLE task_nodes ADD COLUMN batch BIGINT;
ALTER TABLE task_nodes ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX task_nodes_by_change ON task_nodes (task_id, seq);
