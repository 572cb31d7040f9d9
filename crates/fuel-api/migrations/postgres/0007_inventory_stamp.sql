-- One schema, two dialects: keep migrations/sqlite/0007_inventory_stamp.sql in step.

-- A change counter per environment for its package inventory: fuel-api
-- keeps serialised inventory answers in memory and serves one only while
-- the environment's stamp is the one it was built at (store/inventory.rs,
-- inventory_cache.rs). Bumped by triggers, in the transaction of the
-- write, so every write path counts, from any fuel-api process: a new
-- observation (each stored execute_pm report inserts one before it
-- upserts the node's versions), a node joining, leaving or changing what
-- the answer shows of it (hostname, os; roles too). The document a drift
-- answer is judged against is keyed by its head revision instead.
-- Environment ids are never reused (identity), so a stamp never stands
-- for another environment.
ALTER TABLE clusters ADD COLUMN inventory_stamp BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION inventory_stamp_on_observation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE clusters SET inventory_stamp = inventory_stamp + 1
    WHERE id = (SELECT cluster_id FROM nodes WHERE id = NEW.node_id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER inventory_stamp_on_observation AFTER INSERT ON package_observations
    FOR EACH ROW EXECUTE FUNCTION inventory_stamp_on_observation();

CREATE FUNCTION inventory_stamp_on_node() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE clusters SET inventory_stamp = inventory_stamp + 1 WHERE id = NEW.cluster_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE clusters SET inventory_stamp = inventory_stamp + 1 WHERE id = OLD.cluster_id;
    ELSIF OLD.cluster_id IS DISTINCT FROM NEW.cluster_id OR OLD.hostname IS DISTINCT FROM NEW.hostname
        OR OLD.os IS DISTINCT FROM NEW.os OR OLD.roles IS DISTINCT FROM NEW.roles THEN
        UPDATE clusters SET inventory_stamp = inventory_stamp + 1
        WHERE id IN (OLD.cluster_id, NEW.cluster_id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER inventory_stamp_on_node AFTER INSERT OR DELETE OR UPDATE ON nodes
    FOR EACH ROW EXECUTE FUNCTION inventory_stamp_on_node();
