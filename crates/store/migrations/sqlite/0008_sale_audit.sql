-- A ticket is audited once, as the ticket, instead of once per ledger row it writes: its ledger
-- rows already carry the ticket (document), the cashier and the instant, and one audit row per
-- ticket keeps the hot POS transaction short. Other movements stay audited row by row.
DROP TRIGGER stock_movements_audit;
CREATE TRIGGER stock_movements_audit AFTER INSERT ON stock_movements WHEN NEW.kind <> 'sale'
BEGIN
    INSERT INTO audit_log (at, actor, action, entity, entity_id, before_json, after_json)
    VALUES (NEW.created_at, NEW.actor, 'stock.' || NEW.kind, 'stock_movement', CAST(NEW.id AS TEXT), NULL,
            json_object('product_id', NEW.product_id, 'location_id', NEW.location_id, 'lot', NEW.lot,
                        'quantity_milli', NEW.quantity, 'before_milli', NEW.before_qty, 'after_milli', NEW.after_qty,
                        'document', NEW.document, 'reason', NEW.reason));
END;

CREATE TRIGGER sales_audit AFTER INSERT ON sales
BEGIN
    INSERT INTO audit_log (at, actor, action, entity, entity_id, before_json, after_json)
    VALUES (NEW.created_at, NEW.actor, 'sale.created', 'sale', CAST(NEW.id AS TEXT), NULL,
            json_object('shift_id', NEW.shift_id, 'location_id', NEW.location_id, 'document', 'sale:' || NEW.id,
                        'subtotal_centavos', NEW.subtotal, 'discount_centavos', NEW.discount,
                        'total_centavos', NEW.total, 'paid_centavos', NEW.paid,
                        'change_centavos', NEW.change_given));
END;
