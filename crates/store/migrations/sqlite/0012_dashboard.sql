-- Tablero: Inicio reads sales from a daily rollup kept up to a watermark instead of aggregating
-- every ticket on every view. A refresh (the `dashboard` agent, or a page for the live tail) adds
-- the tickets and returns after the watermarks; pages add a live query over the few rows after
-- them. No POS transaction touches these tables, so tickets never contend on a hot row.
CREATE TABLE sales_daily (
    day BIGINT NOT NULL,             -- shop day (UTC−3) as days since 1970-01-01
    location_id BIGINT NOT NULL,
    category_id BIGINT NOT NULL,
    tickets BIGINT NOT NULL,         -- each ticket counts once, under its first line's category
    quantity BIGINT NOT NULL,        -- thousandths, net of returns
    total BIGINT NOT NULL,           -- centavos with IVA, net of returns
    net BIGINT NOT NULL,             -- centavos without IVA, net of returns
    cost_milli BIGINT NOT NULL,      -- unit cost × quantity in thousandths of a centavo
    PRIMARY KEY (day, location_id, category_id)
);

-- The last ticket and the last return folded into sales_daily.
CREATE TABLE rollup_watermarks (
    name TEXT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO rollup_watermarks (name, last_id, updated_at) VALUES ('sales', 0, 0), ('returns', 0, 0);

-- Stock figures of Inicio per location, recomputed by the agent (too wide to sum per view).
CREATE TABLE stock_snapshot (
    location_id BIGINT PRIMARY KEY,
    stock_value BIGINT NOT NULL,     -- centavos at current cost
    critical BIGINT NOT NULL,
    out_of_stock BIGINT NOT NULL,
    expiring BIGINT NOT NULL,        -- lots with stock expiring within 30 days
    computed_at BIGINT NOT NULL
);
