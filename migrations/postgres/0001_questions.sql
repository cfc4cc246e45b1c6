-- Exam questions: the bank itself. `ref` is the stable external key (seed rows: seed-bio-001).
CREATE TABLE questions (
    id              bigserial PRIMARY KEY,
    ref             text        NOT NULL UNIQUE,
    subject         text        NOT NULL CHECK (length(btrim(subject)) > 0),
    stem            text        NOT NULL CHECK (length(btrim(stem)) > 0),
    choices         jsonb       NOT NULL DEFAULT '[]'::jsonb
                                CHECK (jsonb_typeof(choices) = 'array'),
    answer          text,
    tags            text[]      NOT NULL DEFAULT '{}',
    category        text,
    category_source text        CHECK (category_source IN ('manual', 'ai')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- A category without its origin (or the reverse) is a half-applied classification.
    CONSTRAINT questions_category_has_source
        CHECK ((category IS NULL) = (category_source IS NULL))
);

CREATE INDEX questions_subject_idx ON questions (subject);
CREATE INDEX questions_created_at_idx ON questions (created_at, id);
