-- The dashboard's back-office pages: the uploaded invoice files shown beside the extracted
-- fields on the review screen, and the keys the list filters need on big tables.

-- The upload as sent, and for PDF and TIFF files the page image the reader made (page_png).
CREATE TABLE invoice_scan_files (
    job_id BIGINT NOT NULL REFERENCES invoice_scan_jobs (id),
    file_kind TEXT NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (job_id, file_kind)
);
-- The review screen finds the file of an invoice through its job.
CREATE INDEX invoice_scan_jobs_invoice ON invoice_scan_jobs (invoice_id);
-- Invoice and order lists filter by status, newest first.
CREATE INDEX supplier_invoices_status_id ON supplier_invoices (status, id);
CREATE INDEX purchase_orders_status_id ON purchase_orders (status, id);
-- The audit log (millions of rows: every movement is audited) filtered by who or by what.
CREATE INDEX audit_log_actor_id ON audit_log (actor, id);
CREATE INDEX audit_log_entity_id ON audit_log (entity, id);
