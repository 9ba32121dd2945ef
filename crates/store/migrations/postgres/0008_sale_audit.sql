-- A ticket is audited once, as the ticket, instead of once per ledger row it writes: its ledger
-- rows already carry the ticket (document), the cashier and the instant, and one audit row per
-- ticket keeps the hot POS transaction short. Other movements stay audited row by row.
DROP TRIGGER stock_movements_audit ON stock_movements;
CREATE TRIGGER stock_movements_audit AFTER INSERT ON stock_movements
    FOR EACH ROW WHEN (NEW.kind <> 'sale') EXECUTE FUNCTION stock_movements_audit();

CREATE FUNCTION sales_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (at, actor, action, entity, entity_id, before_json, after_json)
    VALUES (NEW.created_at, NEW.actor, 'sale.created', 'sale', NEW.id::text, NULL,
            json_build_object('shift_id', NEW.shift_id, 'location_id', NEW.location_id, 'document', 'sale:' || NEW.id,
                              'subtotal_centavos', NEW.subtotal, 'discount_centavos', NEW.discount,
                              'total_centavos', NEW.total, 'paid_centavos', NEW.paid,
                              'change_centavos', NEW.change_given)::text);
    RETURN NEW;
END;
$$;
CREATE TRIGGER sales_audit AFTER INSERT ON sales FOR EACH ROW EXECUTE FUNCTION sales_audit();
