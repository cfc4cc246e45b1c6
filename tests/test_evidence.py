"""Evidence records and redaction."""

from releaseops.gate.evidence import MAX_TEXT, Collector, Redactor


def test_known_secret_values_are_masked_everywhere():
    redactor = Redactor(["tok-123456"])
    value = redactor.value({"note": "sent tok-123456", "list": ["tok-123456"], "n": 3})
    assert value == {"note": "sent ***", "list": ["***"], "n": 3}


def test_secret_named_keys_lose_their_values():
    value = Redactor().value(
        {"password": "x1", "API_TOKEN": "y2", "Authorization": "Bearer z", "owner": "Dana"}
    )
    assert value == {"password": "***", "API_TOKEN": "***", "Authorization": "***", "owner": "Dana"}


def test_passwords_in_urls_and_bearer_tokens_are_masked_in_text():
    text = Redactor().text("postgresql://u:hunter22@h/db and Authorization: Bearer abc.def")
    assert "hunter22" not in text and "abc.def" not in text


def test_short_values_are_not_treated_as_secrets():
    assert Redactor(["ab"]).text("about abc") == "about abc"


def test_collector_records_redacted_json_text_and_files(tmp_path):
    records = []
    collector = Collector(records, Redactor(["s3cret-value"]))
    collector.json("cfg", {"url": "x s3cret-value"})
    collector.text("log", "y" * (MAX_TEXT + 10))
    collector.file("dump", tmp_path / "a.dump", sha256="ab")
    assert records[0].content == {"url": "x ***"}
    assert records[1].content.startswith("[... 10 characters cut ...]")
    assert records[2].content == {"path": str(tmp_path / "a.dump"), "sha256": "ab"}
