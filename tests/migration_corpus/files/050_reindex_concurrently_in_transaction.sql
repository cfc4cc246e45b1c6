-- corpus: dangerous concurrently-in-transaction
-- setup: existing
-- observe: error 25001
REINDEX INDEX CONCURRENTLY customers_email_idx;
