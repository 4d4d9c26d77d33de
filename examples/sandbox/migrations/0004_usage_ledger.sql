-- 0004 usage_ledger: one ledger row per usage charge, for the Stripe reconciliation job.
-- The migration tool runs one statement at a time, without a transaction around them (as
-- most tools do on engines without transactional DDL): a failure leaves it half applied.
-- up
CREATE TABLE usage_ledger (id BIGINT PRIMARY KEY, user_id BIGINT, amount BIGINT, created_at TEXT);
INSERT INTO usage_ledger (id, user_id, amount, created_at) SELECT id, user_id, amount, created_at FROM credit_transactions WHERE type = 'usage';
CREATE UNIQUE INDEX usage_ledger_one_per_user ON usage_ledger (user_id);
-- down
DROP INDEX IF EXISTS usage_ledger_one_per_user;
DROP TABLE IF EXISTS usage_ledger;
