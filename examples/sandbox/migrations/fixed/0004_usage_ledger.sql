-- 0004 usage_ledger (fixed): a user has many usage charges, so the index is not unique.
-- up
CREATE TABLE usage_ledger (id BIGINT PRIMARY KEY, user_id BIGINT, amount BIGINT, created_at TEXT);
INSERT INTO usage_ledger (id, user_id, amount, created_at) SELECT id, user_id, amount, created_at FROM credit_transactions WHERE type = 'usage';
CREATE INDEX usage_ledger_by_user ON usage_ledger (user_id);
-- down
DROP INDEX IF EXISTS usage_ledger_by_user;
DROP TABLE IF EXISTS usage_ledger;
