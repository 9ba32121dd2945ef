-- Foundation schema: catalogue, stock ledger, access, audit, idempotency.
-- Money is BIGINT centavos, quantities BIGINT thousandths, instants BIGINT microseconds since the epoch,
-- dates TEXT 'YYYY-MM-DD'. The PostgreSQL migration has the same tables and columns.

CREATE TABLE categories (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    sku_prefix TEXT NOT NULL
);

CREATE TABLE sku_sequences (
    prefix TEXT PRIMARY KEY,
    next_value BIGINT NOT NULL
);

CREATE TABLE suppliers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    cuit TEXT NOT NULL UNIQUE,
    vat_condition TEXT NOT NULL,
    lead_time_days BIGINT NOT NULL,
    contact TEXT NOT NULL DEFAULT '',
    active BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE locations (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('warehouse', 'store')),
    active BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at BIGINT NOT NULL
);

CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    search_text TEXT NOT NULL,
    category_id BIGINT NOT NULL REFERENCES categories (id),
    brand TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL CHECK (unit IN ('unit', 'kg', 'l')),
    cost BIGINT NOT NULL CHECK (cost >= 0),
    price BIGINT NOT NULL CHECK (price >= 0),
    vat_bp BIGINT NOT NULL,
    supplier_id BIGINT REFERENCES suppliers (id),
    active BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX products_category ON products (category_id);

CREATE TABLE product_barcodes (
    code TEXT PRIMARY KEY,
    product_id BIGINT NOT NULL REFERENCES products (id),
    pack BIGINT NOT NULL DEFAULT 1 CHECK (pack >= 1)
);
CREATE INDEX product_barcodes_product ON product_barcodes (product_id);

CREATE TABLE stock_limits (
    product_id BIGINT NOT NULL REFERENCES products (id),
    location_id BIGINT NOT NULL REFERENCES locations (id),
    min_qty BIGINT NOT NULL,
    max_qty BIGINT NOT NULL,
    PRIMARY KEY (product_id, location_id)
);

-- The on-hand projection, written in the same transaction as the movements that change it.
CREATE TABLE stock_levels (
    product_id BIGINT NOT NULL REFERENCES products (id),
    location_id BIGINT NOT NULL REFERENCES locations (id),
    lot TEXT NOT NULL DEFAULT '',
    expiry TEXT,
    on_hand BIGINT NOT NULL CHECK (on_hand >= 0),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (product_id, location_id, lot)
);

CREATE TABLE stock_transfers (
    id INTEGER PRIMARY KEY,
    product_id BIGINT NOT NULL REFERENCES products (id),
    from_location_id BIGINT NOT NULL REFERENCES locations (id),
    to_location_id BIGINT NOT NULL REFERENCES locations (id),
    quantity BIGINT NOT NULL,
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The ledger: append-only, the source of truth.
CREATE TABLE stock_movements (
    id INTEGER PRIMARY KEY,
    product_id BIGINT NOT NULL REFERENCES products (id),
    location_id BIGINT NOT NULL REFERENCES locations (id),
    lot TEXT NOT NULL DEFAULT '',
    expiry TEXT,
    kind TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    before_qty BIGINT NOT NULL,
    after_qty BIGINT NOT NULL,
    unit_cost BIGINT NOT NULL,
    reason TEXT,
    document TEXT,
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX stock_movements_key ON stock_movements (product_id, location_id, lot, id);
CREATE INDEX stock_movements_location ON stock_movements (location_id, id);
CREATE INDEX stock_movements_created ON stock_movements (created_at);

CREATE TRIGGER stock_movements_append_only_update BEFORE UPDATE ON stock_movements
BEGIN
    SELECT RAISE(ABORT, 'stock_movements is append-only');
END;
CREATE TRIGGER stock_movements_append_only_delete BEFORE DELETE ON stock_movements
BEGIN
    SELECT RAISE(ABORT, 'stock_movements is append-only');
END;

-- Every movement is audited by the database itself, in the movement's transaction.
CREATE TRIGGER stock_movements_audit AFTER INSERT ON stock_movements
BEGIN
    INSERT INTO audit_log (at, actor, action, entity, entity_id, before_json, after_json)
    VALUES (NEW.created_at, NEW.actor, 'stock.' || NEW.kind, 'stock_movement', CAST(NEW.id AS TEXT), NULL,
            json_object('product_id', NEW.product_id, 'location_id', NEW.location_id, 'lot', NEW.lot,
                        'quantity_milli', NEW.quantity, 'before_milli', NEW.before_qty, 'after_milli', NEW.after_qty,
                        'document', NEW.document, 'reason', NEW.reason));
END;

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE user_locations (
    user_id BIGINT NOT NULL REFERENCES users (id),
    location_id BIGINT NOT NULL REFERENCES locations (id),
    PRIMARY KEY (user_id, location_id)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT,
    before_json TEXT,
    after_json TEXT
);

CREATE TABLE idempotency_keys (
    actor TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (actor, key)
);
