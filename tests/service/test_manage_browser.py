"""The /manage page in headless Chromium, used as a person would; the API and the log must agree.

The served service (gunicorn, production config) writes one JSON line per request; each test
reads the lines its own clicks produced and compares them, and the API's view, with what the
page showed. The page offers a creation form and, per question row, an edit form (opened with
its "Edit" summary) whose Save and Delete buttons post to /manage/<id> and /manage/<id>/delete;
each control is clicked here as a person would.
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests import browser as chromium
from tests.service.conftest import TOKEN, Server, parse_log, service_env

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server(service_db, tmp_path_factory):
    srv = Server(service_env(service_db), tmp_path_factory.mktemp("manage") / "service.log", 2)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium.launch(tmp_path_factory.mktemp("chromium-profile")) as session:
        yield session


@pytest.fixture
def subject(server):
    """A subject of this test's own; its questions are deleted afterwards (the DB is shared)."""
    name = f"browser-{uuid.uuid4().hex[:8]}"
    yield name
    for question in by_subject(server, name):
        requests.delete(
            f"{server.base}/api/manage/questions/{question['id']}", headers=AUTH, timeout=10
        )


# The page names its icon (data:), but the JSON error answers (a 401 shown in the window) name
# none, so after one Chromium asks for /favicon.ico, which the service answers 404. That console
# line, and its request log line, are set aside; nothing else is.
FAVICON_404 = "/favicon.ico - Failed to load resource: the server responded with a status of 404"


def page_errors(browser) -> list[str]:
    """The console errors of the page, but for the missing favicon."""
    return [e for e in browser.console_errors() if FAVICON_404 not in e]


def refused(server: Server, status: int, reason: str, path: str = "/manage") -> str:
    """How Chromium's console reports a page answered with an error status."""
    return (
        f"{server.base}{path} - Failed to load resource: the server responded with a status "
        f"of {status} ({reason})"
    )


def refused_at(server: Server, rule: str, question: dict, status: int, reason: str) -> str:
    """`refused` for a row's route (`rule` with the question's id in place)."""
    path = rule.replace("<id:question_id>", str(question["id"]))
    return refused(server, status, reason, path)


class Log:
    """The request lines the service logged since the mark (the browser's favicon aside)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.mark = len(self.lines())

    def lines(self) -> list[dict]:
        return [d for d in parse_log(self.server.output()) if "route" in d and "status" in d]

    def since(self, count: int) -> list[tuple[str, str, int, str | None]]:
        """(method, route, status, error_code) of the request lines since the mark.

        Waits up to 5 s for `count` of them: a line is written as its response completes.
        """
        deadline = time.monotonic() + 5
        while True:
            lines = [
                (d.get("method"), d["route"], d["status"], d["error_code"])
                for d in self.lines()[self.mark :]
                if d["route"] != "/favicon.ico"
            ]
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


def by_subject(server: Server, subject: str) -> list[dict]:
    response = requests.get(
        f"{server.base}/api/manage/questions", params={"subject": subject}, headers=AUTH, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def fill(browser, form: str, fields: dict[str, str]) -> None:
    """Empty each named field of the form at `form` and type its value, as a person does."""
    for name, value in fields.items():
        box = browser.find(f"{form} [name='{name}']")
        box.clear()
        box.send_keys(value)


def fill_and_create(browser, server, **fields: str) -> None:
    """Type into the creation form's fields and press Create."""
    browser.open(f"{server.base}/manage")
    fill(browser, "#create", fields)
    browser.click_and_wait("#create button[type='submit']")


def open_editor(browser, server, question_id: int) -> str:
    """Load the page and open the row's edit form with its "Edit" summary; its CSS selector."""
    browser.open(f"{server.base}/manage")
    browser.find(f"#q-{question_id} summary").click()
    form = f"#q-{question_id} form"
    assert browser.find(f"{form} [name='stem']").is_displayed()
    return form


def stored(server: Server, question_id: int) -> requests.Response:
    """The API's answer for one question."""
    url = f"{server.base}/api/manage/questions/{question_id}"
    return requests.get(url, headers=AUTH, timeout=10)


def control_labels(browser) -> list[str]:
    """The label of every button, link and summary of the page, shown or folded away."""
    script = (
        "return [...document.querySelectorAll('button, a, summary, input[type=submit]')]"
        ".map(e => e.textContent.trim())"
    )
    return list(browser.driver.execute_script(script))


def page_rows(browser) -> list[str]:
    """The text of each question row the page shows (read in one round trip)."""
    script = "return [...document.querySelectorAll('#questions tr')].slice(1).map(r => r.innerText)"
    return list(browser.driver.execute_script(script))


def test_a_question_created_on_the_page_is_in_the_api_and_the_request_log(
    server, browser, subject, tmp_path
):
    stem = "Which gas do plants take in for photosynthesis?"
    log = Log(server)
    fill_and_create(
        browser,
        server,
        subject=subject,
        stem=stem,
        choices="oxygen\ncarbon dioxide\nnitrogen",
        answer="carbon dioxide",
        tags="biology, plants",
        token=TOKEN,
    )
    shot = browser.keep_screenshot(tmp_path, "manage-created")
    assert browser.driver.current_url == f"{server.base}/manage", shot
    assert any(subject in row and stem in row for row in page_rows(browser)), shot
    assert page_errors(browser) == [], f"console errors (screenshot {shot})"
    [created] = by_subject(server, subject)
    assert (created["stem"], created["answer"]) == (stem, "carbon dioxide")
    assert created["choices"] == ["oxygen", "carbon dioxide", "nitrogen"]
    assert created["tags"] == ["biology", "plants"]
    assert log.since(4) == [
        ("GET", "/manage", 200, None),
        ("POST", "/manage", 303, None),
        ("GET", "/manage", 200, None),
        ("GET", "/api/manage/questions", 200, None),
    ]


ONE_ROW = "/manage/<id:question_id>"
API_ROW = "/api/manage/questions/<id:question_id>"


def test_the_page_offers_create_and_per_row_edit_save_and_delete_and_nothing_else(
    server, browser, subject
):
    fill_and_create(browser, server, subject=subject, stem="What is 6 times 7?", token=TOKEN)
    [created] = by_subject(server, subject)
    rows = len(page_rows(browser))
    assert control_labels(browser) == ["Create", *["Edit", "Save", "Delete"] * rows]
    form = open_editor(browser, server, created["id"])
    shown = [b.text for b in browser.find_all(f"{form} button")]
    assert shown == ["Save", "Delete"], "each control must be exercised in these tests"


def test_a_question_edited_on_the_page_is_changed_in_the_api_and_the_request_log(
    server, browser, subject, tmp_path
):
    fill_and_create(
        browser,
        server,
        subject=subject,
        stem="What is 6 times 7?",
        choices="42\n54",
        answer="42",
        tags="arithmetic",
        token=TOKEN,
    )
    [created] = by_subject(server, subject)
    log = Log(server)
    form = open_editor(browser, server, created["id"])
    prefilled = {
        name: browser.find(f"{form} [name='{name}']").get_attribute("value")
        for name in ("subject", "stem", "choices", "answer", "tags", "token")
    }
    assert prefilled == {
        "subject": subject,
        "stem": "What is 6 times 7?",
        "choices": "42\n54",
        "answer": "42",
        "tags": "arithmetic",
        "token": "",
    }
    fields = {"stem": "What is 6 times 9?", "answer": "54", "tags": "arithmetic, hitchhiking"}
    fill(browser, form, {**fields, "token": TOKEN})
    browser.click_and_wait(f"{form} button:not([formaction])")
    shot = browser.keep_screenshot(tmp_path, "manage-edited")
    assert browser.driver.current_url == f"{server.base}/manage", shot
    assert any("What is 6 times 9?" in row for row in page_rows(browser)), shot
    assert not any("What is 6 times 7?" in row for row in page_rows(browser)), shot
    assert page_errors(browser) == [], f"console errors (screenshot {shot})"
    response = stored(server, created["id"])
    assert response.status_code == 200, response.text
    edited = response.json()
    assert (edited["stem"], edited["answer"]) == ("What is 6 times 9?", "54")
    assert (edited["choices"], edited["tags"]) == (["42", "54"], ["arithmetic", "hitchhiking"])
    assert (edited["ref"], edited["subject"]) == (created["ref"], subject)
    assert edited["updated_at"] > created["updated_at"]
    assert log.since(4) == [
        ("GET", "/manage", 200, None),
        ("POST", ONE_ROW, 303, None),
        ("GET", "/manage", 200, None),
        ("GET", API_ROW, 200, None),
    ]


def test_a_question_deleted_on_the_page_is_gone_from_the_api_and_the_request_log(
    server, browser, subject, tmp_path
):
    fill_and_create(browser, server, subject=subject, stem="Is this kept?", token=TOKEN)
    [created] = by_subject(server, subject)
    log = Log(server)
    form = open_editor(browser, server, created["id"])
    fill(browser, form, {"token": TOKEN})
    browser.click_and_wait(f"{form} button[formaction]")
    shot = browser.keep_screenshot(tmp_path, "manage-deleted")
    assert browser.driver.current_url == f"{server.base}/manage", shot
    assert browser.find_all(f"#q-{created['id']}") == [], shot
    assert not any(subject in row for row in page_rows(browser)), shot
    assert page_errors(browser) == [], f"console errors (screenshot {shot})"
    response = stored(server, created["id"])
    assert (response.status_code, response.json()["error_code"]) == (404, "NOT_FOUND")
    assert log.since(4) == [
        ("GET", "/manage", 200, None),
        ("POST", f"{ONE_ROW}/delete", 303, None),
        ("GET", "/manage", 200, None),
        ("GET", API_ROW, 404, "NOT_FOUND"),
    ]


def test_a_blank_edit_on_the_page_is_refused_with_its_reason_and_nothing_changes(
    server, browser, subject, tmp_path
):
    fill_and_create(browser, server, subject=subject, stem="What is 6 times 7?", token=TOKEN)
    [created] = by_subject(server, subject)
    log = Log(server)
    form = open_editor(browser, server, created["id"])
    fill(browser, form, {"stem": "   ", "tags": "kept as typed", "token": TOKEN})
    browser.click_and_wait(f"{form} button:not([formaction])")
    shot = browser.keep_screenshot(tmp_path, "manage-edit-refused")
    errors = browser.find("#errors").text
    assert f"Question {created['id']} was not saved" in errors and "stem:" in errors, shot
    assert browser.find(f"{form} [name='tags']").get_attribute("value") == "kept as typed", shot
    assert browser.find(f"{form} [name='stem']").is_displayed(), "the refused form stays open"
    assert page_errors(browser) == [refused_at(server, ONE_ROW, created, 400, "BAD REQUEST")]
    assert stored(server, created["id"]).json() == created
    assert log.since(3) == [
        ("GET", "/manage", 200, None),
        ("POST", ONE_ROW, 400, "VALIDATION_ERROR"),
        ("GET", API_ROW, 200, None),
    ]


def test_a_wrong_token_on_a_delete_keeps_the_question_and_is_logged_as_refused(
    server, browser, subject
):
    fill_and_create(browser, server, subject=subject, stem="Is this kept?", token=TOKEN)
    [created] = by_subject(server, subject)
    log = Log(server)
    form = open_editor(browser, server, created["id"])
    fill(browser, form, {"token": "not-it"})
    browser.click_and_wait(f"{form} button[formaction]")
    assert "AUTH_INVALID" in browser.find("body").text
    assert page_errors(browser) == [
        refused_at(server, f"{ONE_ROW}/delete", created, 401, "UNAUTHORIZED")
    ]
    assert stored(server, created["id"]).json() == created
    assert log.since(3) == [
        ("GET", "/manage", 200, None),
        ("POST", f"{ONE_ROW}/delete", 401, "AUTH_INVALID"),
        ("GET", API_ROW, 200, None),
    ]


def test_markup_typed_into_an_edit_shows_as_text_and_never_runs(server, browser, subject, tmp_path):
    fill_and_create(browser, server, subject=subject, stem="Plain so far", token=TOKEN)
    [created] = by_subject(server, subject)
    stem = '<script>document.title = "ran"</script> "quoted" </textarea><b>bold</b>'
    form = open_editor(browser, server, created["id"])
    fill(browser, form, {"stem": stem, "token": TOKEN})
    browser.click_and_wait(f"{form} button:not([formaction])")
    shot = browser.keep_screenshot(tmp_path, "manage-markup")
    row = f"#q-{created['id']}"
    assert browser.driver.title == "Exam bank: manage questions", shot
    assert browser.find_all(f"{row} script, {row} b") == [], shot
    assert stem in browser.find(row).text, shot
    form = open_editor(browser, server, created["id"])
    assert browser.find(f"{form} [name='stem']").get_attribute("value") == stem
    assert stored(server, created["id"]).json()["stem"] == stem
    assert page_errors(browser) == []


def test_a_blank_question_on_the_page_is_refused_with_its_reason_and_nothing_is_stored(
    server, browser, subject, tmp_path
):
    log = Log(server)
    fill_and_create(browser, server, subject=subject, stem="   ", token=TOKEN)
    shot = browser.keep_screenshot(tmp_path, "manage-refused")
    assert "stem:" in browser.find("#errors").text, shot
    assert browser.find("form [name='subject']").get_attribute("value") == subject
    assert page_errors(browser) == [refused(server, 400, "BAD REQUEST")], shot
    assert by_subject(server, subject) == []
    assert log.since(3) == [
        ("GET", "/manage", 200, None),
        ("POST", "/manage", 400, "VALIDATION_ERROR"),
        ("GET", "/api/manage/questions", 200, None),
    ]


def test_a_wrong_token_on_the_page_creates_nothing_and_is_logged_as_refused(
    server, browser, subject
):
    log = Log(server)
    fill_and_create(browser, server, subject=subject, stem="Is this stored?", token="not-it")
    assert "AUTH_INVALID" in browser.find("body").text
    # The refusal itself is the page's only console error: the browser reports the 401.
    assert page_errors(browser) == [refused(server, 401, "UNAUTHORIZED")]
    assert by_subject(server, subject) == []
    assert log.since(3) == [
        ("GET", "/manage", 200, None),
        ("POST", "/manage", 401, "AUTH_INVALID"),
        ("GET", "/api/manage/questions", 200, None),
    ]
