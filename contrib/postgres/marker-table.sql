-- SPDX-License-Identifier: MIT
-- The marker table of sluice's postgres targets (Luigi's table_updates), and the trigger that
-- tells a listening sluiced about every row at once (channel = "sluice" in the target):
--   psql -d DB -f marker-table.sql
CREATE TABLE IF NOT EXISTS table_updates (
    update_id    TEXT PRIMARY KEY,
    target_table TEXT,
    inserted     TIMESTAMP NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION sluice_notify_marker() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('sluice', NEW.update_id);
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS sluice_notify_marker ON table_updates;
CREATE TRIGGER sluice_notify_marker AFTER INSERT OR UPDATE ON table_updates
    FOR EACH ROW EXECUTE FUNCTION sluice_notify_marker();
