"""POST /api/manage/upload-pdf: 201 with extracted text; 415, 413 and 400 for bad uploads."""

from __future__ import annotations

import io

import pytest

from tests.service.conftest import REPO

PDF_DIR = REPO / "fixtures" / "pdf"


def upload(api, data, filename="file.pdf", **kwargs):
    files = {"file": (io.BytesIO(data), filename)}
    return api.post("/api/manage/upload-pdf", data=files, content_type="multipart/form-data")


def test_pdf_is_stored_with_its_text_and_becomes_searchable(api, client):
    data = (PDF_DIR / "revision_guide.pdf").read_bytes()
    response = upload(api, data, "revision_guide.pdf")
    assert response.status_code in (200, 201)
    document = response.get_json()
    assert document["page_count"] == 2 and document["size_bytes"] == len(data)
    assert len(document["sha256"]) == 64 and document["ref"].startswith("doc-")
    found = client.get("/api/retrieval/search?q=Himalayas convergent&k=5").get_json()
    assert document["ref"] in [r["ref"] for r in found["results"]]
    assert "document" in [r["kind"] for r in found["results"]]


def test_same_pdf_twice_is_not_stored_twice(api):
    data = (PDF_DIR / "photosynthesis_notes.pdf").read_bytes()
    first = upload(api, data)
    second = upload(api, data)
    assert second.status_code == 200
    assert second.get_json()["duplicate"] is True
    assert second.get_json()["id"] == first.get_json()["id"]


def test_not_a_pdf_is_415(api):
    response = upload(api, b"hello, plain text", "notes.txt")
    assert response.status_code == 415
    assert response.get_json()["error_code"] == "NOT_A_PDF"


def test_corrupt_pdf_is_400(api):
    response = upload(api, (PDF_DIR / "corrupt.pdf").read_bytes())
    assert response.status_code == 400
    assert response.get_json()["error_code"] == "PDF_CORRUPT"


def test_truncated_pdf_is_400(api):
    data = (PDF_DIR / "revision_guide.pdf").read_bytes()
    response = upload(api, data[: len(data) // 3])
    assert response.status_code == 400
    assert response.get_json()["error_code"] == "PDF_CORRUPT"


@pytest.mark.parametrize("limit", [100, 1000])
def test_too_large_upload_is_413(make_app, limit):
    from tests.service.conftest import Api

    app = make_app(MAX_UPLOAD_BYTES=limit, MAX_CONTENT_LENGTH=limit)
    data = (PDF_DIR / "revision_guide.pdf").read_bytes() + b"%" * 2000
    response = upload(Api(app.test_client()), data)
    assert response.status_code == 413
    assert response.get_json()["error_code"] == "PAYLOAD_TOO_LARGE"


def test_file_over_the_upload_limit_within_the_body_limit_is_413(make_app):
    from tests.service.conftest import Api

    app = make_app(MAX_UPLOAD_BYTES=500)
    response = upload(Api(app.test_client()), b"%PDF-" + b"0" * 600)
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"data": {}}, "VALIDATION_ERROR"),
        ({"json": {"file": "x"}}, "VALIDATION_ERROR"),
        (
            {
                "data": b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\n%PDF-',
                "content_type": "multipart/form-data; boundary=xyz",
            },
            None,
        ),
        (
            {"data": b"garbage without boundary", "content_type": "multipart/form-data"},
            "VALIDATION_ERROR",
        ),
    ],
    ids=["no-file", "json-body", "truncated-multipart", "no-boundary"],
)
def test_broken_or_missing_multipart_is_a_clear_400(api, kwargs, code):
    response = api.post("/api/manage/upload-pdf", **kwargs)
    assert 400 <= response.status_code < 500
    data = response.get_json()
    assert data["error_code"]
    if code:
        assert data["error_code"] == code


def test_empty_file_is_a_validation_error(api):
    response = upload(api, b"")
    assert response.status_code == 400
    assert response.get_json()["error_code"] == "VALIDATION_ERROR"
