-- Pricing: markup rules, price history, monthly inflation, bulk price updates, supplier price
-- list mappings and shelf label prints. The PostgreSQL migration has the same tables and columns.

-- Markup rules; the most specific scope wins (product > supplier > category), part by part.
CREATE TABLE price_rules (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope TEXT NOT NULL CHECK (scope IN ('category', 'supplier', 'product')),
    target_id BIGINT NOT NULL,
    markup_bp BIGINT,
    min_margin_bp BIGINT,
    rounding TEXT,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (scope, target_id)
);

-- Every shelf price a product has had, with who set it and why.
CREATE TABLE price_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id BIGINT NOT NULL REFERENCES products (id),
    price BIGINT NOT NULL,
    cost BIGINT NOT NULL,
    changed_at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    update_id BIGINT
);
CREATE INDEX price_history_key ON price_history (product_id, changed_at, id);
CREATE INDEX price_history_changed ON price_history (changed_at);
INSERT INTO price_history (product_id, price, cost, changed_at, actor, reason, source)
    SELECT id, price, cost, created_at, 'sistema', 'precio inicial', 'initial' FROM products;

-- Monthly CPI change, in millionths (4.5 % = 45000).
CREATE TABLE inflation_rates (
    month TEXT PRIMARY KEY,
    rate_ppm BIGINT NOT NULL CHECK (rate_ppm BETWEEN -500000 AND 1000000),
    source TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A bulk update is previewed first; apply re-computes it and refuses when the token differs.
CREATE TABLE price_updates (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_json TEXT NOT NULL,
    token TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('previewed', 'applied')),
    lines BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    applied_by TEXT,
    applied_at BIGINT
);

-- Supplier item codes and descriptions remembered from earlier price lists.
CREATE TABLE supplier_item_mappings (
    supplier_id BIGINT NOT NULL REFERENCES suppliers (id),
    kind TEXT NOT NULL CHECK (kind IN ('code', 'barcode', 'description')),
    item_key TEXT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id),
    PRIMARY KEY (supplier_id, kind, item_key)
);

CREATE TABLE label_prints (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    printed_at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    products BIGINT NOT NULL
);
