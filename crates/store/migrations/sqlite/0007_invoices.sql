-- Supplier invoices (AFIP vouchers): scan jobs, drafts the user corrects, posted invoices that
-- feed the Libro IVA, and the supplier-code → product mappings learnt from confirmations.

CREATE TABLE invoice_scan_jobs (
    id INTEGER PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    file_kind TEXT NOT NULL,
    file_bytes BIGINT NOT NULL,
    invoice_id BIGINT,
    error_rule TEXT,
    error_detail TEXT,
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE TABLE supplier_invoices (
    id INTEGER PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('draft', 'posted')),
    origin TEXT NOT NULL CHECK (origin IN ('scan', 'manual')),
    supplier_id BIGINT REFERENCES suppliers (id),
    issuer_cuit TEXT,
    voucher_code BIGINT,
    point_of_sale BIGINT,
    number BIGINT,
    issue_date TEXT,
    total BIGINT,
    -- The invoice as it stands (JSON of domain::invoice::InvoiceData) with per-line matches.
    data TEXT NOT NULL,
    matches TEXT NOT NULL,
    -- What the scanner read, untouched: fields, confidences, sources, checks; and its text.
    extraction TEXT,
    raw_text TEXT NOT NULL DEFAULT '',
    -- Every user correction, in order (JSON array).
    corrections TEXT NOT NULL DEFAULT '[]',
    purchase_order_id BIGINT REFERENCES purchase_orders (id),
    receipt_id BIGINT REFERENCES receipts (id),
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    posted_at BIGINT
);
-- A voucher is posted once: same issuer, type, point of sale and number is a duplicate.
CREATE UNIQUE INDEX supplier_invoices_posted_once
    ON supplier_invoices (issuer_cuit, voucher_code, point_of_sale, number) WHERE status = 'posted';
CREATE INDEX supplier_invoices_period ON supplier_invoices (status, issue_date);

CREATE TABLE supplier_product_codes (
    supplier_id BIGINT NOT NULL REFERENCES suppliers (id),
    code TEXT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (supplier_id, code)
);
