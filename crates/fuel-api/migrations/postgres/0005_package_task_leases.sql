-- One schema, two dialects: keep migrations/sqlite/0005_package_task_leases.sql in step.

-- Several fuel-api processes on one database (issue 20). A package task is
-- run by the process holding its lease; a process that finds the lease
-- expired takes the task over (see ARCHITECTURE.md, "Several fuel-api
-- processes").
--
-- package_task: 1 for upload_pm/execute_pm tasks (they have task_nodes rows).
ALTER TABLE tasks ADD COLUMN package_task BIGINT NOT NULL DEFAULT 0;
UPDATE tasks SET package_task = 1
    WHERE EXISTS (SELECT 1 FROM task_nodes n WHERE n.task_id = tasks.id);
-- Who runs the task ("hostname:pid:nonce") and until when, in milliseconds
-- since the Unix epoch by the database's clock. A task a process older than
-- this migration left behind has none: it is interrupted at the next start.
ALTER TABLE tasks ADD COLUMN lease_owner TEXT;
ALTER TABLE tasks ADD COLUMN lease_expires_at BIGINT;
-- What a process taking the task over needs: the document revision the task
-- applies and whether it is a --check run.
ALTER TABLE tasks ADD COLUMN document_revision BIGINT;
ALTER TABLE tasks ADD COLUMN check_mode BIGINT NOT NULL DEFAULT 0;

-- At most one pending or running package task per environment, whichever
-- process accepted the request: the second insert fails, and is a 409.
CREATE UNIQUE INDEX tasks_one_active_package_task ON tasks (cluster_id)
    WHERE package_task = 1 AND status IN ('pending', 'running');
