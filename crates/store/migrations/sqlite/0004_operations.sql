-- Operations: the transactional outbox, alerts with per-user read state, background agent runs.

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
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
CREATE TRIGGER sales_outbox AFTER INSERT ON sales
BEGIN
    INSERT INTO outbox (topic, payload, created_at, next_attempt_at)
    VALUES ('sale.created', json_object('sale_id', NEW.id, 'location_id', NEW.location_id, 'total_centavos', NEW.total),
            NEW.created_at, NEW.created_at);
END;
-- A sale publishes one sale.created for the ticket rather than one event per line.
CREATE TRIGGER stock_movements_outbox AFTER INSERT ON stock_movements WHEN NEW.kind <> 'sale'
BEGIN
    INSERT INTO outbox (topic, payload, created_at, next_attempt_at)
    VALUES ('stock.changed', json_object('product_id', NEW.product_id, 'location_id', NEW.location_id, 'lot', NEW.lot,
                                         'kind', NEW.kind, 'quantity_milli', NEW.quantity, 'after_milli', NEW.after_qty),
            NEW.created_at, NEW.created_at);
END;
CREATE TRIGGER products_price_outbox AFTER UPDATE OF price ON products WHEN NEW.price <> OLD.price
BEGIN
    INSERT INTO outbox (topic, payload, created_at, next_attempt_at)
    VALUES ('price.changed', json_object('product_id', NEW.id, 'sku', NEW.sku, 'old_price_centavos', OLD.price,
                                         'new_price_centavos', NEW.price),
            NEW.updated_at, NEW.updated_at);
END;

CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
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
CREATE TRIGGER alerts_outbox AFTER INSERT ON alerts
BEGIN
    INSERT INTO outbox (topic, payload, created_at, next_attempt_at)
    VALUES ('alert.raised', json_object('alert_id', NEW.id, 'kind', NEW.kind, 'severity', NEW.severity,
                                        'title', NEW.title, 'body', NEW.body),
            NEW.created_at, NEW.created_at);
END;

CREATE TABLE alert_reads (
    alert_id BIGINT NOT NULL REFERENCES alerts (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    read_at BIGINT NOT NULL,
    PRIMARY KEY (alert_id, user_id)
);

-- One row per scheduled slot of an agent: the unique key makes each slot run once across nodes.
CREATE TABLE agent_runs (
    id INTEGER PRIMARY KEY,
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
