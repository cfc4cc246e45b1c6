-- Uploaded PDFs: the extracted text is stored, the file itself is not.
CREATE TABLE documents (
    id          bigserial PRIMARY KEY,
    filename    text        NOT NULL,
    sha256      text        NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes  bigint      NOT NULL CHECK (size_bytes >= 0),
    page_count  integer     NOT NULL CHECK (page_count >= 0),
    body        text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
