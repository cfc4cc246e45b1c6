-- Labels proposed by the classifier; `applied` says whether the question took the label.
CREATE TABLE classification_suggestions (
    id          bigserial PRIMARY KEY,
    question_id bigint      NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    label       text        NOT NULL,
    confidence  real        NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    applied     boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX classification_suggestions_question_idx
    ON classification_suggestions (question_id, created_at);
