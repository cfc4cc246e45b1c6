-- corpus: safe
-- setup: existing
-- observe: no-rewrite *
-- observe: no-scan *
-- observe: no-lock AccessExclusiveLock *
-- observe: no-lock ShareLock *
-- observe: catalog EXISTS (SELECT 1 FROM pg_enum WHERE enumtypid = 'order_status'::regtype AND enumlabel = 'refunded')
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded';
