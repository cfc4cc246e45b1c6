-- Trigram similarity for RETRIEVAL_MODE=hybrid (pg_trgm is a trusted extension since PG 13).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- releaseops:allow index-not-concurrent the exam bank holds a few thousand questions; the build takes milliseconds
CREATE INDEX questions_stem_trgm_idx ON questions USING gin (stem gin_trgm_ops);
