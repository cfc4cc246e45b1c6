-- corpus: dangerous client-breaking
-- setup: existing
-- 61 characters but 71 bytes in UTF-8: the limit is 63 bytes, so the name is cut.
-- observe: notice will be truncated to "références_des_commandes_expédiées_vérifiées_à_l_entrep"
-- observe: catalog EXISTS (SELECT 1 FROM pg_class WHERE relname LIKE 'références_des_commandes%' AND octet_length(relname) <= 63)
-- observe: catalog NOT EXISTS (SELECT 1 FROM pg_tables WHERE tablename::text = 'références_des_commandes_expédiées_vérifiées_à_l_entrepôt_été')
CREATE TABLE "références_des_commandes_expédiées_vérifiées_à_l_entrepôt_été" (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference text NOT NULL,
    checked_at timestamptz NOT NULL DEFAULT now()
);
