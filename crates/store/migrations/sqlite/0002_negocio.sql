-- Negocio: till shifts, POS tickets and returns, purchase orders, receiving, cost history.

-- Item code printed by the shop's scale inside price/weight barcodes (PLU).
ALTER TABLE products ADD COLUMN plu BIGINT;
CREATE UNIQUE INDEX products_plu ON products (plu) WHERE plu IS NOT NULL;

-- Every cost a product has had, so stock can be valued at any past date.
CREATE TABLE product_cost_history (
    id INTEGER PRIMARY KEY,
    product_id BIGINT NOT NULL REFERENCES products (id),
    cost BIGINT NOT NULL,
    changed_at BIGINT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX product_cost_history_key ON product_cost_history (product_id, changed_at, id);
INSERT INTO product_cost_history (product_id, cost, changed_at, source)
    SELECT id, cost, created_at, 'initial' FROM products;

CREATE TABLE shifts (
    id INTEGER PRIMARY KEY,
    location_id BIGINT NOT NULL REFERENCES locations (id),
    till TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opening_float BIGINT NOT NULL,
    opened_by TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    closed_by TEXT,
    closed_at BIGINT,
    counted_json TEXT
);
CREATE UNIQUE INDEX shifts_one_open_per_till ON shifts (location_id, till) WHERE status = 'open';

CREATE TABLE sales (
    id INTEGER PRIMARY KEY,
    shift_id BIGINT NOT NULL REFERENCES shifts (id),
    location_id BIGINT NOT NULL REFERENCES locations (id),
    subtotal BIGINT NOT NULL,
    discount BIGINT NOT NULL,
    total BIGINT NOT NULL,
    paid BIGINT NOT NULL,
    change_given BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('completed', 'voided')),
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX sales_created ON sales (created_at);
CREATE INDEX sales_shift ON sales (shift_id);

CREATE TABLE sale_lines (
    sale_id BIGINT NOT NULL REFERENCES sales (id),
    line_no BIGINT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id),
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    gross BIGINT NOT NULL,
    line_discount BIGINT NOT NULL,
    ticket_discount BIGINT NOT NULL,
    total BIGINT NOT NULL,
    net BIGINT NOT NULL,
    vat BIGINT NOT NULL,
    vat_bp BIGINT NOT NULL,
    unit_cost BIGINT NOT NULL,
    PRIMARY KEY (sale_id, line_no)
);
CREATE INDEX sale_lines_product ON sale_lines (product_id);

CREATE TABLE sale_payments (
    sale_id BIGINT NOT NULL REFERENCES sales (id),
    seq BIGINT NOT NULL,
    method TEXT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (sale_id, seq)
);

CREATE TABLE sale_returns (
    id INTEGER PRIMARY KEY,
    sale_id BIGINT NOT NULL REFERENCES sales (id),
    shift_id BIGINT REFERENCES shifts (id),
    reason TEXT NOT NULL,
    refund_method TEXT NOT NULL,
    refund_amount BIGINT NOT NULL,
    is_void BIGINT NOT NULL DEFAULT 0,
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX sale_returns_sale ON sale_returns (sale_id);

CREATE TABLE sale_return_lines (
    return_id BIGINT NOT NULL REFERENCES sale_returns (id),
    line_no BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (return_id, line_no)
);

CREATE TABLE purchase_orders (
    id INTEGER PRIMARY KEY,
    supplier_id BIGINT NOT NULL REFERENCES suppliers (id),
    location_id BIGINT NOT NULL REFERENCES locations (id),
    status TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE purchase_order_lines (
    po_id BIGINT NOT NULL REFERENCES purchase_orders (id),
    line_no BIGINT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id),
    quantity BIGINT NOT NULL,
    received BIGINT NOT NULL DEFAULT 0,
    unit_cost BIGINT NOT NULL,
    PRIMARY KEY (po_id, line_no)
);

CREATE TABLE receipts (
    id INTEGER PRIMARY KEY,
    po_id BIGINT REFERENCES purchase_orders (id),
    supplier_id BIGINT REFERENCES suppliers (id),
    location_id BIGINT NOT NULL REFERENCES locations (id),
    remito TEXT,
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE receipt_lines (
    receipt_id BIGINT NOT NULL REFERENCES receipts (id),
    line_no BIGINT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id),
    quantity BIGINT NOT NULL,
    unit_cost BIGINT NOT NULL,
    lot TEXT NOT NULL DEFAULT '',
    expiry TEXT,
    po_line_no BIGINT,
    PRIMARY KEY (receipt_id, line_no)
);
