-- Reads the stock pages make on a large ledger, without slowing the till.

-- Each limit carries its location's on-hand (the sum over lots), kept by the projection's own
-- triggers in the same transaction, so the critical-stock report reads the limits alone
-- instead of summing the projection for every one of them. A ticket already holds the lock
-- on its stock rows; the limit row of the same product and location is updated after it, in
-- the same order, so no new lock order appears.
ALTER TABLE stock_limits ADD COLUMN on_hand BIGINT NOT NULL DEFAULT 0;
UPDATE stock_limits SET on_hand = COALESCE((SELECT SUM(s.on_hand) FROM stock_levels s
    WHERE s.product_id = stock_limits.product_id AND s.location_id = stock_limits.location_id), 0);

-- The advisory lock that orders a limit's creation against a first stock row for the same
-- product and location (the only lock of that kind almacen takes).
CREATE FUNCTION stock_limit_lock_key(product BIGINT, location BIGINT) RETURNS BIGINT
    LANGUAGE sql IMMUTABLE AS $$ SELECT (product % 4294967296) * 65536 + (location % 65536) $$;

CREATE FUNCTION stock_levels_limit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- A first stock row for a product and location is rare; it waits for (and is
        -- waited for by) a limit being created for them, so neither misses the other.
        PERFORM pg_advisory_xact_lock(stock_limit_lock_key(NEW.product_id, NEW.location_id));
        UPDATE stock_limits SET on_hand = on_hand + NEW.on_hand
        WHERE product_id = NEW.product_id AND location_id = NEW.location_id;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE stock_limits SET on_hand = on_hand + NEW.on_hand - OLD.on_hand
        WHERE product_id = NEW.product_id AND location_id = NEW.location_id;
    ELSE
        UPDATE stock_limits SET on_hand = on_hand - OLD.on_hand
        WHERE product_id = OLD.product_id AND location_id = OLD.location_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER stock_levels_limit_insert AFTER INSERT ON stock_levels
    FOR EACH ROW EXECUTE FUNCTION stock_levels_limit();
CREATE TRIGGER stock_levels_limit_update AFTER UPDATE OF on_hand ON stock_levels
    FOR EACH ROW WHEN (NEW.on_hand <> OLD.on_hand) EXECUTE FUNCTION stock_levels_limit();
CREATE TRIGGER stock_levels_limit_delete AFTER DELETE ON stock_levels
    FOR EACH ROW EXECUTE FUNCTION stock_levels_limit();

-- The movement log filtered by kind: every kind but sales is rare, so a month of receipts at
-- one store is found from its own index entries instead of by walking the month's sales.
-- Sales stay out of these indexes: the till pays nothing for them.
CREATE INDEX stock_movements_location_kind ON stock_movements (location_id, kind, id) WHERE kind <> 'sale';
CREATE INDEX stock_movements_kind ON stock_movements (kind, id) WHERE kind <> 'sale';
