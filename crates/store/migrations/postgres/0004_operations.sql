-- Operations: the transactional outbox, alerts with per-user read state, background agent runs.

CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    delivered_at BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- Events are written by the database in the transaction of the change itself.
CREATE FUNCTION sales_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (topic, payload, created_at, next_attempt_at)
    VALUES ('sale.created', json_build_object('sale_id', NEW.id, 'location_id', NEW.location_id, 'total_centavos', NEW.total)::text,
            NEW.created_at, NEW.created_at);
    RETURN NEW;
END;
$$;
CREATE TRIGGER sales_outbox AFTER INSERT ON sales FOR EACH ROW EXECUTE FUNCTION sales_outbox();

CREATE FUNCTION stock_movements_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (topic, payload, created_at, next_attempt_at)
    VALUES ('stock.changed', json_build_object('product_id', NEW.product_id, 'location_id', NEW.location_id, 'lot', NEW.lot,
                                               'kind', NEW.kind, 'quantity_milli', NEW.quantity, 'after_milli', NEW.after_qty)::text,
            NEW.created_at, NEW.created_at);
    RETURN NEW;
END;
$$;
-- A sale publishes one sale.created for the ticket rather than one event per line.
CREATE TRIGGER stock_movements_outbox AFTER INSERT ON stock_movements
    FOR EACH ROW WHEN (NEW.kind <> 'sale') EXECUTE FUNCTION stock_movements_outbox();

CREATE FUNCTION products_price_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.price <> OLD.price THEN
        INSERT INTO outbox (topic, payload, created_at, next_attempt_at)
        VALUES ('price.changed', json_build_object('product_id', NEW.id, 'sku', NEW.sku, 'old_price_centavos', OLD.price,
                                                   'new_price_centavos', NEW.price)::text,
                NEW.updated_at, NEW.updated_at);
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER products_price_outbox AFTER UPDATE OF price ON products FOR EACH ROW EXECUTE FUNCTION products_price_outbox();

CREATE TABLE alerts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    subject TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT
);
-- One open alert per subject (e.g. a product short at a location) until it resolves.
CREATE UNIQUE INDEX alerts_open_subject ON alerts (subject) WHERE resolved_at IS NULL;
CREATE FUNCTION alerts_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (topic, payload, created_at, next_attempt_at)
    VALUES ('alert.raised', json_build_object('alert_id', NEW.id, 'kind', NEW.kind, 'severity', NEW.severity,
                                              'title', NEW.title, 'body', NEW.body)::text,
            NEW.created_at, NEW.created_at);
    RETURN NEW;
END;
$$;
CREATE TRIGGER alerts_outbox AFTER INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION alerts_outbox();

CREATE TABLE alert_reads (
    alert_id BIGINT NOT NULL REFERENCES alerts (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    read_at BIGINT NOT NULL,
    PRIMARY KEY (alert_id, user_id)
);

-- One row per scheduled slot of an agent: the unique key makes each slot run once across nodes.
CREATE TABLE agent_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent TEXT NOT NULL,
    scheduled_for BIGINT NOT NULL,
    node TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    detail TEXT NOT NULL DEFAULT '',
    UNIQUE (agent, scheduled_for)
);
CREATE INDEX agent_runs_latest ON agent_runs (agent, id);

-- Continuous workers (the outbox dispatcher) hold a renewable lease: one node at a time.
CREATE TABLE agent_leases (
    agent TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
