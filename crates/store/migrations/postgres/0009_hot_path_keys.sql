-- Foreign keys from the rows every ticket inserts to the shop's few hot parent rows (its location,
-- its best-selling products) made each insert KEY SHARE-lock those parents: with dozens of tills
-- at once PostgreSQL builds a multixact per locker on the same rows, and that, not the sale, was
-- most of the server's work. These references stay guaranteed without the checks: every such
-- row is written from a stock level (which keeps its foreign keys) or a shift (likewise) in the
-- same transaction, and products and locations are never deleted (deactivated instead), which
-- the triggers below now enforce, as for shifts and tickets (voided or returned, never deleted).
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_product_id_fkey;
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_location_id_fkey;
ALTER TABLE sales DROP CONSTRAINT sales_location_id_fkey;
ALTER TABLE sale_lines DROP CONSTRAINT sale_lines_product_id_fkey;
-- A ticket's lines and payments are inserted by the very statement that inserts the ticket.
ALTER TABLE sales DROP CONSTRAINT sales_shift_id_fkey;
ALTER TABLE sale_lines DROP CONSTRAINT sale_lines_sale_id_fkey;
ALTER TABLE sale_payments DROP CONSTRAINT sale_payments_sale_id_fkey;

CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted; deactivate them instead', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER products_never_deleted BEFORE DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER locations_never_deleted BEFORE DELETE ON locations
    FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER shifts_never_deleted BEFORE DELETE ON shifts
    FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER sales_never_deleted BEFORE DELETE ON sales
    FOR EACH ROW EXECUTE FUNCTION refuse_delete();

-- One trigger call per ticket instead of two: its outbox event and its audit row.
DROP TRIGGER sales_outbox ON sales;
DROP TRIGGER sales_audit ON sales;
CREATE FUNCTION sales_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (topic, payload, created_at, next_attempt_at)
    VALUES ('sale.created', json_build_object('sale_id', NEW.id, 'location_id', NEW.location_id, 'total_centavos', NEW.total)::text,
            NEW.created_at, NEW.created_at);
    INSERT INTO audit_log (at, actor, action, entity, entity_id, before_json, after_json)
    VALUES (NEW.created_at, NEW.actor, 'sale.created', 'sale', NEW.id::text, NULL,
            json_build_object('shift_id', NEW.shift_id, 'location_id', NEW.location_id, 'document', 'sale:' || NEW.id,
                              'subtotal_centavos', NEW.subtotal, 'discount_centavos', NEW.discount,
                              'total_centavos', NEW.total, 'paid_centavos', NEW.paid,
                              'change_centavos', NEW.change_given)::text);
    RETURN NEW;
END;
$$;
CREATE TRIGGER sales_recorded AFTER INSERT ON sales FOR EACH ROW EXECUTE FUNCTION sales_recorded();
