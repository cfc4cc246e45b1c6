"""The catalog queries of a fingerprint, one per kind of object.

Each returns `(key, attributes)`: a key such as `index public.questions_subject_idx` or `trigger
questions_fts on public.questions`, and a JSON object of what a restore must reproduce. Names come
from `regclass`/`regprocedure`/`regtype`, `pg_describe_object` and the `pg_get_*def` functions,
read with an empty search_path, so every name is schema-qualified and no OID appears.
"""

# User schemas: everything but pg_catalog, information_schema and pg_toast/pg_temp_* (users cannot
# create pg_-prefixed schemas).
_USER_NS = "({n}.nspname !~ '^pg_' AND {n}.nspname <> 'information_schema')"
# Objects that belong to an extension are created by it: only the extension is compared.
_NOT_MEMBER = (
    "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{catalog}'::regclass "
    "AND e.objid = {oid} AND e.deptype = 'e')"
)
# Functions and casts that CREATE TYPE makes for a range type depend on it internally.
_NOT_IMPLICIT = (
    "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = {catalog} "
    "AND e.objid = {oid} AND e.deptype IN ('e', 'i'))"
)
_SHA = "encode(sha256(convert_to({}, 'UTF8')), 'hex')"
_OWNER = "'owner', {owner}::regrole::text, 'acl', {acl}::text[]"
_COLLATION = (
    "(SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co "
    "JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = {})"
)


def _where(n: str, catalog: str, oid: str) -> str:
    return f"{_USER_NS.format(n=n)} AND {_NOT_MEMBER.format(catalog=catalog, oid=oid)}"


_REL_KIND = (
    "CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view' "
    "WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' END"
)
_USER_RELATION = _where("n", "pg_class", "c.oid")

SCHEMAS = f"""
SELECT 'schema ' || quote_ident(n.nspname),
       jsonb_build_object({_OWNER.format(owner="n.nspowner", acl="n.nspacl")})
FROM pg_namespace n WHERE {_where("n", "pg_namespace", "n.oid")}
"""

EXTENSIONS = """
SELECT 'extension ' || quote_ident(x.extname),
       jsonb_build_object('version', x.extversion, 'schema', x.extnamespace::regnamespace::text,
                          'owner', x.extowner::regrole::text)
FROM pg_extension x
"""

RELATIONS = f"""
SELECT {_REL_KIND} || ' ' || c.oid::regclass::text, jsonb_strip_nulls(jsonb_build_object(
    'persistence', CASE c.relpersistence WHEN 'u' THEN 'unlogged' ELSE 'logged' END,
    'row_security', c.relrowsecurity,
    'force_row_security', c.relforcerowsecurity,
    'partition_key', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
    'partition_bound', CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
    'partition_of', (SELECT i.inhparent::regclass::text FROM pg_inherits i
                     WHERE i.inhrelid = c.oid AND c.relispartition),
    'inherits', (SELECT jsonb_agg(i.inhparent::regclass::text ORDER BY i.inhseqno)
                 FROM pg_inherits i WHERE i.inhrelid = c.oid AND NOT c.relispartition),
    'replica_identity', CASE WHEN c.relkind IN ('r', 'p') THEN c.relreplident END,
    'options', c.reloptions,
    'access_method', (SELECT am.amname FROM pg_am am WHERE am.oid = c.relam),
    'populated', CASE WHEN c.relkind = 'm' THEN c.relispopulated END,
    'definition', CASE WHEN c.relkind IN ('v', 'm')
                       THEN {_SHA.format("pg_get_viewdef(c.oid)")} END,
    'server', (SELECT s.srvname FROM pg_foreign_table ft
               JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE ft.ftrelid = c.oid),
    {_OWNER.format(owner="c.relowner", acl="c.relacl")}))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_USER_RELATION}
"""

COLUMNS = f"""
SELECT 'column ' || c.oid::regclass::text || '.' || quote_ident(a.attname),
    jsonb_strip_nulls(jsonb_build_object(
    'type', format_type(a.atttypid, a.atttypmod),
    'position', row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
    'not_null', a.attnotnull,
    'default', pg_get_expr(d.adbin, d.adrelid),
    'identity', NULLIF(a.attidentity, ''),
    'generated', NULLIF(a.attgenerated, ''),
    'collation', CASE WHEN a.attcollation <> t.typcollation
                      THEN {_COLLATION.format("a.attcollation")} END,
    'storage', a.attstorage,
    {{compression}}
    'statistics', NULLIF(a.attstattarget, -1),
    'options', a.attoptions,
    'fdw_options', a.attfdwoptions,
    'acl', a.attacl::text[]))
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND {_USER_RELATION}
"""

INDEXES = f"""
SELECT 'index ' || i.indexrelid::regclass::text, jsonb_strip_nulls(jsonb_build_object(
    'table', i.indrelid::regclass::text,
    'definition', pg_get_indexdef(i.indexrelid),
    'valid', i.indisvalid,
    'unique', i.indisunique,
    'primary', i.indisprimary,
    'clustered', i.indisclustered,
    'replica_identity', i.indisreplident,
    'partition_of', (SELECT h.inhparent::regclass::text FROM pg_inherits h
                     WHERE h.inhrelid = i.indexrelid),
    'options', ic.reloptions))
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_RELATION}
"""

CONSTRAINTS = f"""
SELECT 'constraint ' || quote_ident(k.conname) || ' on '
       || CASE WHEN k.conrelid <> 0 THEN k.conrelid::regclass::text
               ELSE 'domain ' || k.contypid::regtype::text END
       || CASE WHEN k.conparentid <> 0 AND k.contype = 'f'
               THEN ' references ' || k.confrelid::regclass::text ELSE '' END,
    jsonb_strip_nulls(jsonb_build_object(
    'type', k.contype,
    'definition', pg_get_constraintdef(k.oid),
    'validated', k.convalidated,
    'deferrable', k.condeferrable,
    'deferred', k.condeferred,
    'partition_of', (SELECT quote_ident(p.conname) FROM pg_constraint p
                     WHERE p.oid = k.conparentid)))
FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
WHERE {_USER_NS.format(n="n")}
  AND {_NOT_MEMBER.format(catalog="pg_class", oid="k.conrelid")}
  AND {_NOT_MEMBER.format(catalog="pg_type", oid="k.contypid")}
"""

TRIGGERS = f"""
SELECT 'trigger ' || quote_ident(g.tgname) || ' on ' || g.tgrelid::regclass::text,
       jsonb_build_object('definition', pg_get_triggerdef(g.oid), 'enabled', g.tgenabled)
FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT g.tgisinternal AND {_USER_RELATION}
"""

RULES = f"""
SELECT 'rule ' || quote_ident(r.rulename) || ' on ' || r.ev_class::regclass::text,
       jsonb_build_object('definition', pg_get_ruledef(r.oid), 'enabled', r.ev_enabled)
FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND {_USER_RELATION}
"""

# pg_get_functiondef refuses aggregates: their definition is their pg_aggregate row, by name.
_AGGREGATE = """(SELECT jsonb_build_array(a.aggkind, a.aggnumdirectargs,
    a.aggtransfn::oid::regprocedure::text, a.aggfinalfn::oid::regprocedure::text,
    a.aggcombinefn::oid::regprocedure::text, a.aggserialfn::oid::regprocedure::text,
    a.aggdeserialfn::oid::regprocedure::text, a.aggmtransfn::oid::regprocedure::text,
    a.aggminvtransfn::oid::regprocedure::text, a.aggmfinalfn::oid::regprocedure::text,
    a.aggfinalextra, a.aggmfinalextra, a.aggfinalmodify, a.aggmfinalmodify,
    a.aggsortop::oid::regoperator::text, format_type(a.aggtranstype, NULL), a.aggtransspace,
    format_type(a.aggmtranstype, NULL), a.aggmtransspace, a.agginitval, a.aggminitval,
    p.proparallel, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid))::text
    FROM pg_aggregate a WHERE a.aggfnoid = p.oid)"""

FUNCTIONS = f"""
SELECT CASE p.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure'
                      WHEN 'a' THEN 'aggregate' ELSE 'window function' END
       || ' ' || p.oid::regprocedure::text,
    jsonb_build_object('definition', {
    _SHA.format(f"CASE WHEN p.prokind = 'a' THEN {_AGGREGATE} ELSE pg_get_functiondef(p.oid) END")
}, {_OWNER.format(owner="p.proowner", acl="p.proacl")})
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {_USER_NS.format(n="n")}
  AND {_NOT_IMPLICIT.format(catalog="'pg_proc'::regclass", oid="p.oid")}
"""

_TYPE_KIND = (
    "CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite' "
    "WHEN 'r' THEN 'range' ELSE 'base' END"
)
TYPES = f"""
SELECT 'type ' || t.oid::regtype::text, jsonb_strip_nulls(jsonb_build_object(
    'kind', {_TYPE_KIND},
    'labels', (SELECT jsonb_agg(e.enumlabel ORDER BY e.enumsortorder)
               FROM pg_enum e WHERE e.enumtypid = t.oid),
    'base_type', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
    'not_null', CASE WHEN t.typtype = 'd' THEN t.typnotnull END,
    'default', CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END,
    'collation', CASE WHEN t.typtype = 'd' AND t.typcollation <> 0
                      THEN {_COLLATION.format("t.typcollation")} END,
    'attributes', (SELECT jsonb_agg(quote_ident(a.attname) || ' '
                                    || format_type(a.atttypid, a.atttypmod)
                                    || coalesce(' COLLATE ' || {
    _COLLATION.format("NULLIF(a.attcollation, 100)")
}, '')
                                    ORDER BY a.attnum)
                   FROM pg_attribute a
                   WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0
                     AND NOT a.attisdropped),
    'subtype', r.rngsubtype::regtype::text,
    'subtype_collation', CASE WHEN r.rngcollation <> 0
                              THEN {_COLLATION.format("r.rngcollation")} END,
    'subtype_opclass', (SELECT quote_ident(oc.opcname) FROM pg_opclass oc
                        WHERE oc.oid = r.rngsubopc),
    'canonical', NULLIF(r.rngcanonical::oid, 0)::regprocedure::text,
    'subtype_diff', NULLIF(r.rngsubdiff::oid, 0)::regprocedure::text,
    'multirange', NULLIF(r.rngmultitypid, 0)::regtype::text,
    'input', CASE WHEN t.typtype = 'b' THEN t.typinput::oid::regprocedure::text END,
    'output', CASE WHEN t.typtype = 'b' THEN t.typoutput::oid::regprocedure::text END,
    'length', CASE WHEN t.typtype = 'b' THEN t.typlen END,
    {_OWNER.format(owner="t.typowner", acl="t.typacl")}))
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_range r ON r.rngtypid = t.oid
WHERE t.typtype IN ('e', 'd', 'c', 'r', 'b') AND {_where("n", "pg_type", "t.oid")}
  AND NOT (t.typtype = 'c'
           AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) <> 'c')
  AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
"""

SEQUENCES = f"""
SELECT 'sequence ' || c.oid::regclass::text, jsonb_strip_nulls(jsonb_build_object(
    'type', s.seqtypid::regtype::text,
    'start', s.seqstart, 'increment', s.seqincrement, 'min', s.seqmin, 'max', s.seqmax,
    'cache', s.seqcache, 'cycle', s.seqcycle,
    'persistence', CASE c.relpersistence WHEN 'u' THEN 'unlogged' ELSE 'logged' END,
    'owned_by', (SELECT d.refobjid::regclass::text || '.' || quote_ident(a.attname)
                 FROM pg_depend d JOIN pg_attribute a
                   ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                 ORDER BY 1 LIMIT 1),
    {_OWNER.format(owner="c.relowner", acl="c.relacl")})),
    n.nspname, c.relname
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_RELATION}
"""

POLICIES = f"""
SELECT 'policy ' || quote_ident(p.polname) || ' on ' || p.polrelid::regclass::text,
    jsonb_strip_nulls(jsonb_build_object(
    'command', p.polcmd,
    'permissive', p.polpermissive,
    'roles', (SELECT jsonb_agg(x.name ORDER BY x.name) FROM (
                  SELECT CASE WHEN r = 0 THEN 'public' ELSE r::regrole::text END AS name
                  FROM unnest(p.polroles) AS r) AS x),
    'using', pg_get_expr(p.polqual, p.polrelid),
    'with_check', pg_get_expr(p.polwithcheck, p.polrelid)))
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_RELATION}
"""

# Comments on every kind of object, named by pg_describe_object. Built-in objects without a
# schema (languages, access methods) have OIDs below FirstNormalObjectId; large objects' comments
# are data and come with the large objects.
COMMENTS = f"""
SELECT 'comment on ' || pg_describe_object(d.classoid, d.objoid, d.objsubid),
       to_jsonb(d.description)
FROM pg_description d, LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) AS o
WHERE d.classoid <> 'pg_largeobject'::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = d.classoid
                  AND e.objid = d.objoid AND e.deptype = 'e')
  AND CASE WHEN d.classoid = 'pg_namespace'::regclass
           THEN (SELECT {_USER_NS.format(n="s")} FROM pg_namespace s WHERE s.oid = d.objoid)
           WHEN o.schema IS NOT NULL
           THEN o.schema !~ '^pg_' AND o.schema <> 'information_schema'
           ELSE d.objoid >= 16384 END
"""

# The long tail, compared by presence (and definition where PostgreSQL prints one).
_TAIL_CATALOGS = (
    "pg_collation",
    "pg_operator",
    "pg_opclass",
    "pg_opfamily",
    "pg_conversion",
    "pg_ts_config",
    "pg_ts_dict",
    "pg_ts_parser",
    "pg_ts_template",
    "pg_cast",
    "pg_foreign_data_wrapper",
    "pg_foreign_server",
    "pg_event_trigger",
    "pg_publication",
    "pg_transform",
    "pg_language",
    "pg_am",
)
_TAIL_UNION = " UNION ALL ".join(
    f"SELECT '{name}'::regclass AS cls, oid, NULL::text AS definition FROM {name}"
    for name in _TAIL_CATALOGS
)
OTHER_OBJECTS = f"""
SELECT o.type || ' ' || o.identity,
       jsonb_strip_nulls(jsonb_build_object('definition', x.definition))
FROM ({_TAIL_UNION}
      UNION ALL SELECT 'pg_statistic_ext'::regclass, oid, pg_get_statisticsobjdef(oid)
                FROM pg_statistic_ext) AS x,
     LATERAL pg_identify_object(x.cls, x.oid, 0) AS o
WHERE x.oid >= 16384
  AND (o.schema IS NULL OR (o.schema !~ '^pg_' AND o.schema <> 'information_schema'))
  AND {_NOT_IMPLICIT.format(catalog="x.cls", oid="x.oid")}
"""

DEFAULT_ACLS = """
SELECT 'default privileges ' || o.identity, jsonb_build_object('acl', a.defaclacl::text[])
FROM pg_default_acl a, LATERAL pg_identify_object('pg_default_acl'::regclass, a.oid, 0) AS o
"""

TABLES = f"""
SELECT 'table ' || c.oid::regclass::text, n.nspname, c.relname,
       pg_relation_size(c.oid) / current_setting('block_size')::int
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND {_USER_RELATION}
"""

CATALOG_QUERIES = (
    SCHEMAS,
    EXTENSIONS,
    RELATIONS,
    INDEXES,
    CONSTRAINTS,
    TRIGGERS,
    RULES,
    FUNCTIONS,
    TYPES,
    POLICIES,
    COMMENTS,
    OTHER_OBJECTS,
)
