-- Tamper-evident audit log. A sealer chains committed entries after the fact: each sealed entry
-- gets its position in the chain (seq) and SHA-256 over the previous entry's hash and its own
-- content; the single audit_chain row is the head (last position and hash). Triggers keep
-- writing entries as before, so no writer waits for the head; only sealers lock it.
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seq IS NULL;

CREATE TABLE audit_chain (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_chain (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
