"""Lint the corpus file by file and score it: recall per rule id, findings on safe files.

Each file is linted on its own text, against a catalog of what exists before it: the setup
schema and the `requires` files, replayed as tables that already hold rows (or a snapshot of
the prepared database). The server is PostgreSQL 15, like the observations.
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import parse_sql

from releaseops.migrations import lint
from releaseops.migrations.catalog import Catalog
from releaseops.migrations.catalog_replay import replay
from tests.migration_corpus import corpus

SERVER_MAJOR = 15


def replayed_catalog(corpus_file: corpus.CorpusFile) -> Catalog:
    """The schema the file starts from, built by replaying its setup and prerequisites."""
    catalog = Catalog()
    texts = [corpus.setup_sql(corpus_file.setup) or ""]
    texts += [required.text for required in corpus.prerequisites(corpus_file)]
    for text in texts:
        for raw in parse_sql(text):
            replay(catalog, raw.stmt, existing=True)
    return catalog


def lint_file(corpus_file: corpus.CorpusFile, catalog: Catalog) -> lint.FileLint:
    """The lint's findings for one corpus file."""
    return lint.lint_text(
        corpus_file.name, corpus_file.text, catalog=catalog, server_major=SERVER_MAJOR
    )


@dataclass(frozen=True)
class Score:
    """The corpus verdicts next to the lint's findings."""

    files: list[corpus.CorpusFile]
    results: dict[str, lint.FileLint]

    def ids(self, name: str) -> set[str]:
        """Rule ids of every finding of a file (any severity)."""
        return {f.rule_id for f in self.results[name].findings}

    def caught(self, corpus_file: corpus.CorpusFile) -> bool:
        """True when a dangerous file has a finding with its own rule id."""
        return corpus_file.rule in self.ids(corpus_file.name)

    def dangerous(self) -> list[corpus.CorpusFile]:
        """The dangerous files."""
        return [f for f in self.files if f.verdict == "dangerous"]

    def recall(self) -> float:
        """Share of dangerous files whose rule id was found."""
        dangerous = self.dangerous()
        return sum(self.caught(f) for f in dangerous) / len(dangerous)

    def safe_failures(self) -> dict[str, list[str]]:
        """Safe files with a failing finding: name -> the finding lines."""
        found = {
            f.name: [x.line_text() for x in self.results[f.name].failures()]
            for f in self.files
            if f.verdict == "safe"
        }
        return {name: lines for name, lines in found.items() if lines}

    def safe_findings(self) -> dict[str, list[str]]:
        """Safe files with any finding at all (WARN and ADVICE included)."""
        found = {
            f.name: [x.line_text() for x in self.results[f.name].findings]
            for f in self.files
            if f.verdict == "safe"
        }
        return {name: lines for name, lines in found.items() if lines}

    def table(self) -> str:
        """Per rule id: files, caught, recall, safe files flagged, precision (for messages)."""
        rows = ["rule id                          files caught recall  on-safe precision"]
        safe = [f for f in self.files if f.verdict == "safe"]
        for rule in (*corpus.RULES, *corpus.ADVISORY_RULES):
            labelled = [f for f in self.dangerous() if f.rule == rule]
            caught = sum(self.caught(f) for f in labelled)
            on_safe = sum(rule in self.ids(f.name) for f in safe)
            recall = caught / len(labelled) if labelled else 1.0
            precision = caught / (caught + on_safe) if caught + on_safe else 1.0
            rows.append(
                f"{rule:<32} {len(labelled):>5} {caught:>6} {recall:>6.0%} "
                f"{on_safe:>8} {precision:>9.0%}"
            )
        missed = [
            f"{f.name} (found {sorted(self.ids(f.name))})"
            for f in self.dangerous()
            if not self.caught(f)
        ]
        rows.append(f"recall {self.recall():.1%}; missed: {missed or 'none'}")
        rows.append(f"safe files with a failing finding: {self.safe_failures() or 'none'}")
        rows.append(f"safe files with any finding: {self.safe_findings() or 'none'}")
        return "\n".join(rows)


def score(catalogs: dict[str, Catalog] | None = None) -> Score:
    """Lint every corpus file (against `catalogs[name]`, else its replayed catalog)."""
    files = corpus.discover()
    results = {
        f.name: lint_file(f, (catalogs or {}).get(f.name) or replayed_catalog(f)) for f in files
    }
    return Score(files, results)
