-- One schema, two dialects: keep migrations/postgres/0007_inventory_stamp.sql in step.

-- A change counter per environment for its package inventory: fuel-api
-- keeps serialised inventory answers in memory and serves one only while
-- the environment's stamp is the one it was built at (store/inventory.rs,
-- inventory_cache.rs). Bumped by triggers, in the transaction of the
-- write, so every write path counts, from any fuel-api process: a new
-- observation (each stored execute_pm report inserts one before it
-- upserts the node's versions), a node joining, leaving or changing what
-- the answer shows of it (hostname, os; roles too). The document a drift
-- answer is judged against is keyed by its head revision instead.
-- Environment ids are never reused (AUTOINCREMENT), so a stamp never
-- stands for another environment.
ALTER TABLE clusters ADD COLUMN inventory_stamp INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER inventory_stamp_on_observation AFTER INSERT ON package_observations
BEGIN
    UPDATE clusters SET inventory_stamp = inventory_stamp + 1
    WHERE id = (SELECT cluster_id FROM nodes WHERE id = NEW.node_id);
END;

CREATE TRIGGER inventory_stamp_on_node_insert AFTER INSERT ON nodes
WHEN NEW.cluster_id IS NOT NULL
BEGIN
    UPDATE clusters SET inventory_stamp = inventory_stamp + 1 WHERE id = NEW.cluster_id;
END;

CREATE TRIGGER inventory_stamp_on_node_delete AFTER DELETE ON nodes
WHEN OLD.cluster_id IS NOT NULL
BEGIN
    UPDATE clusters SET inventory_stamp = inventory_stamp + 1 WHERE id = OLD.cluster_id;
END;

CREATE TRIGGER inventory_stamp_on_node_update AFTER UPDATE ON nodes
WHEN OLD.cluster_id IS NOT NEW.cluster_id OR OLD.hostname IS NOT NEW.hostname
    OR OLD.os IS NOT NEW.os OR OLD.roles IS NOT NEW.roles
BEGIN
    UPDATE clusters SET inventory_stamp = inventory_stamp + 1
    WHERE id IN (OLD.cluster_id, NEW.cluster_id);
END;
