-- Reads the stock pages make on a large ledger, without slowing the till.

-- Each limit carries its location's on-hand (the sum over lots), kept by the projection's own
-- triggers in the same transaction, so the critical-stock report reads the limits alone
-- instead of summing the projection for every one of them.
ALTER TABLE stock_limits ADD COLUMN on_hand BIGINT NOT NULL DEFAULT 0;
UPDATE stock_limits SET on_hand = COALESCE((SELECT SUM(s.on_hand) FROM stock_levels s
    WHERE s.product_id = stock_limits.product_id AND s.location_id = stock_limits.location_id), 0);

CREATE TRIGGER stock_levels_limit_insert AFTER INSERT ON stock_levels
BEGIN
    UPDATE stock_limits SET on_hand = on_hand + NEW.on_hand
    WHERE product_id = NEW.product_id AND location_id = NEW.location_id;
END;
CREATE TRIGGER stock_levels_limit_update AFTER UPDATE OF on_hand ON stock_levels
WHEN NEW.on_hand <> OLD.on_hand
BEGIN
    UPDATE stock_limits SET on_hand = on_hand + NEW.on_hand - OLD.on_hand
    WHERE product_id = NEW.product_id AND location_id = NEW.location_id;
END;
CREATE TRIGGER stock_levels_limit_delete AFTER DELETE ON stock_levels
BEGIN
    UPDATE stock_limits SET on_hand = on_hand - OLD.on_hand
    WHERE product_id = OLD.product_id AND location_id = OLD.location_id;
END;

-- The movement log filtered by kind: every kind but sales is rare, so a month of receipts at
-- one store is found from its own index entries instead of by walking the month's sales.
-- Sales stay out of these indexes: the till pays nothing for them.
CREATE INDEX stock_movements_location_kind ON stock_movements (location_id, kind, id) WHERE kind <> 'sale';
CREATE INDEX stock_movements_kind ON stock_movements (kind, id) WHERE kind <> 'sale';
