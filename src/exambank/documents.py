"""POST /api/manage/upload-pdf: extract a PDF's text with pypdf, store it, let FTS index it."""

from __future__ import annotations

import hashlib
import io
import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.utils import secure_filename

from exambank import auth
from exambank.db import get_db
from exambank.errors import ApiError, validation_error

bp = Blueprint("documents", __name__, url_prefix="/api/manage")
bp.before_request(auth.require_token)
log = logging.getLogger("exambank.documents")

PDF_MAGIC = b"%PDF-"
# A tsvector holds at most 1 MB; extracted text beyond this is kept out of the index.
MAX_BODY_CHARS = 200_000


def _upload() -> tuple[str, bytes]:
    if request.mimetype != "multipart/form-data":
        raise validation_error({"file": "send multipart/form-data with a 'file' part"})
    upload = request.files.get("file")
    if upload is None:
        raise validation_error({"file": "is required (multipart part named 'file')"})
    data = upload.read(current_app.config["MAX_UPLOAD_BYTES"] + 1)
    if len(data) > current_app.config["MAX_UPLOAD_BYTES"]:
        raise ApiError(
            413,
            "PAYLOAD_TOO_LARGE",
            f"the file exceeds MAX_UPLOAD_BYTES={current_app.config['MAX_UPLOAD_BYTES']}",
        )
    if not data:
        raise validation_error({"file": "is empty"})
    if not data.startswith(PDF_MAGIC):
        raise ApiError(415, "NOT_A_PDF", "the file is not a PDF (no %PDF- header)")
    return secure_filename(upload.filename or "") or "upload.pdf", data


def extract(data: bytes) -> tuple[int, str]:
    """Page count and text of a PDF; 400 PDF_CORRUPT when pypdf cannot read it."""
    # Imported on the first upload: at import time, pypdf cost 66 ms of every service start.
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ApiError(400, "PDF_ENCRYPTED", "encrypted PDFs are not accepted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ApiError:
        raise
    except Exception as exc:  # pypdf raises many types on hostile input; all mean "unreadable"
        log.warning("unreadable pdf", extra={"event": "pdf_rejected", "error": type(exc).__name__})
        raise ApiError(400, "PDF_CORRUPT", "the PDF is corrupt or unreadable") from None
    text = "\n".join(pages).replace("\x00", "")
    return len(pages), text[:MAX_BODY_CHARS]


def _store(filename: str, data: bytes, pages: int, text: str) -> tuple[dict[str, Any], bool]:
    digest = hashlib.sha256(data).hexdigest()
    conn = get_db()
    row = conn.execute(
        "INSERT INTO documents (filename, sha256, size_bytes, page_count, body) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (sha256) DO NOTHING "
        "RETURNING id, filename, sha256, size_bytes, page_count, created_at",
        [filename, digest, len(data), pages, text],
    ).fetchone()
    created = row is not None
    if row is None:
        row = conn.execute(
            "SELECT id, filename, sha256, size_bytes, page_count, created_at "
            "FROM documents WHERE sha256 = %s",
            [digest],
        ).fetchone()
    conn.commit()
    assert row is not None
    return dict(row, created_at=row["created_at"].isoformat()), created


@bp.post("/upload-pdf")
def upload_pdf() -> ResponseReturnValue:
    """201 with the stored document; 200 when the same file was uploaded before."""
    filename, data = _upload()
    pages, text = extract(data)
    document, created = _store(filename, data, pages, text)
    document.update(ref=f"doc-{document['sha256'][:16]}", chars=len(text), duplicate=not created)
    return jsonify(document), 201 if created else 200
