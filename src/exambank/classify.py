"""POST /api/ai/classify: a deterministic local classifier proposes a subject label.

No network and no model: a weighted keyword lexicon per label. AI_AUTO_APPLY=1 writes the label
to the question (category_source='ai'); AI_AUTO_APPLY=0 only stores the suggestion.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from exambank import auth, store
from exambank.db import get_db
from exambank.errors import ApiError, validation_error
from exambank.payload import json_body

bp = Blueprint("classify", __name__, url_prefix="/api/ai")
bp.before_request(auth.require_token)

UNCLASSIFIED = "unclassified"


def _vocab(words: str) -> frozenset[str]:
    return frozenset(words.split())


LEXICON: dict[str, frozenset[str]] = {
    "biology": _vocab(
        "cell cells dna rna gene genes genetic genetics protein photosynthesis "
        "chlorophyll mitochondria enzyme organism species evolution blood immune "
        "antibodies plant plants ribosome lymphocytes inheritance heterozygotes"
    ),
    "chemistry": _vocab(
        "atom atoms molecule molar mole bond bonds covalent ionic electron electrons acid "
        "acids base ph reaction catalyst element elements periodic electronegativity "
        "solution oxidation"
    ),
    "physics": _vocab(
        "force mass acceleration velocity energy light wave waves wavelength frequency "
        "voltage current resistance circuit newton gravity momentum spring"
    ),
    "mathematics": _vocab(
        "derivative integral equation triangle hypotenuse probability prime number "
        "numbers theorem function matrix algebra geometry calculus dice sum"
    ),
    "history": _vocab(
        "war empire revolution treaty king queen century dynasty ancient medieval "
        "invention printing bastille rome roman"
    ),
    "geography": _vocab(
        "river rivers mountain mountains capital continent ocean climate atmosphere "
        "tectonic plates country city layer"
    ),
    "computer-science": _vocab(
        "algorithm algorithms complexity data structure stack queue database sorting "
        "binary search array pointer compiler pivot key"
    ),
    "literature": _vocab(
        "novel poem poet author wrote tragedy play character shakespeare orwell prose sonnet"
    ),
}
_WORD = re.compile(r"[a-z][a-z-]*")


def classify_text(text: str) -> tuple[str, float]:
    """The best label and its share of all keyword hits (0..1); ties break alphabetically."""
    words = Counter(_WORD.findall(text.lower()))
    hits = {label: sum(words[w] for w in vocab) for label, vocab in LEXICON.items()}
    total = sum(hits.values())
    if total == 0:
        return UNCLASSIFIED, 0.0
    label = min(hits, key=lambda name: (-hits[name], name))
    return label, round(hits[label] / total, 4)


def question_text(question: dict[str, Any]) -> str:
    """Everything the classifier reads from a question."""
    parts = [question["stem"], " ".join(question["tags"]), " ".join(map(str, question["choices"]))]
    return "\n".join(parts)


def _question_id() -> int:
    data = json_body()
    value = data.get("question_id") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= store.MAX_ID:
        raise validation_error({"question_id": "must be a positive integer"})
    return value


@bp.post("/classify")
def classify() -> ResponseReturnValue:
    """Propose a label; apply it too when AI_AUTO_APPLY=1 and a label was found."""
    question_id = _question_id()
    question = store.get(question_id)
    if question is None:
        raise ApiError(404, "NOT_FOUND", f"question {question_id} does not exist")
    label, confidence = classify_text(question_text(question))
    apply = bool(current_app.config["AI_AUTO_APPLY"]) and label != UNCLASSIFIED
    conn = get_db()
    row = conn.execute(
        "INSERT INTO classification_suggestions (question_id, label, confidence, applied) "
        "VALUES (%s, %s, %s, %s) RETURNING id",
        [question_id, label, confidence, apply],
    ).fetchone()
    if apply:
        conn.execute(
            "UPDATE questions SET category = %s, category_source = 'ai', updated_at = now() "
            "WHERE id = %s",
            [label, question_id],
        )
    conn.commit()
    assert row is not None
    return jsonify(
        {
            "question_id": question_id,
            "label": label,
            "confidence": confidence,
            "applied": apply,
            "suggestion_id": row["id"],
            "auto_apply": bool(current_app.config["AI_AUTO_APPLY"]),
        }
    )


@bp.get("/classify/<id:question_id>/preview")
def preview(question_id: int) -> ResponseReturnValue:
    """What classifying would do under the current AI_AUTO_APPLY, without writing anything.

    A GET, so it works during a write freeze: that is how a rollback proves AI_AUTO_APPLY=0
    by behaviour rather than by reading a variable.
    """
    question = store.get(question_id)
    if question is None:
        raise ApiError(404, "NOT_FOUND", f"question {question_id} does not exist")
    label, confidence = classify_text(question_text(question))
    auto_apply = bool(current_app.config["AI_AUTO_APPLY"])
    return jsonify(
        {
            "question_id": question_id,
            "label": label,
            "confidence": confidence,
            "would_apply": auto_apply and label != UNCLASSIFIED,
            "auto_apply": auto_apply,
        }
    )
