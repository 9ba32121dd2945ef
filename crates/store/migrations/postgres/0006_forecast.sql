-- Pronóstico: demand forecast runs and their per-series results (product × location).
-- A run is written whole when it finishes; readers take the latest finished run, so the
-- previous one stays readable while a new one computes. Quantities are BIGINT thousandths.

CREATE TABLE forecast_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    history_from TEXT NOT NULL,
    history_to TEXT NOT NULL,
    horizon BIGINT NOT NULL,
    series BIGINT NOT NULL DEFAULT 0,
    method_mix TEXT NOT NULL DEFAULT '{}',
    accuracy TEXT NOT NULL DEFAULT '{}',
    detail TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL
);
CREATE INDEX forecast_runs_status ON forecast_runs (status, id);

CREATE TABLE forecast_series (
    run_id BIGINT NOT NULL REFERENCES forecast_runs (id),
    product_id BIGINT NOT NULL REFERENCES products (id),
    location_id BIGINT NOT NULL REFERENCES locations (id),
    method TEXT NOT NULL,
    calendar BIGINT NOT NULL CHECK (calendar IN (0, 1)),
    error_sd BIGINT NOT NULL,
    scores TEXT NOT NULL,
    points TEXT NOT NULL,
    PRIMARY KEY (run_id, product_id, location_id)
);
CREATE INDEX forecast_series_product ON forecast_series (product_id, run_id);
