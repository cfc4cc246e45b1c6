"""Compare two databases or saved fingerprints: catalog, sequences, large objects, table contents.

SRC and DST are each a database URL (SQLAlchemy or libpq style), a fingerprint file saved by
`releaseops fingerprint`, or a backup (the dump, or its .manifest.json), whose manifest carries the
fingerprint of the snapshot it dumped. A live database is read in one REPEATABLE READ READ ONLY
snapshot; two are read at once. Each difference names the object and what differs, SRC vs DST:

  sequence public.questions_id_seq: last_value 1041 vs 1037
  trigger questions_fts on public.questions: enabled O vs D
  table public.questions: content differs (same 12 rows)

Owners and ACLs are compared only with --owners (a restore with --no-owner --no-privileges
legitimately differs there). --catalog-only leaves the data out: row contents, sequence values and
large objects. Against a saved fingerprint, the live side is read the way the saved one was.

Exit codes:
  0   identical
  1   different (every difference is printed)
  2   usage or configuration error (an unreadable fingerprint file, a dump without one,
      a role without the privileges pg_dump would need)
  3   a database is unreachable

Example:  releaseops compare "$DATABASE_URL" "$DRILL_DATABASE_URL"
     or:  releaseops compare backups/exam_prod_like_20260101_120000.dump "$DATABASE_URL"
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from releaseops import cli, dburl
from releaseops.backup import fingerprint, fingerprint_diff, manifest
from releaseops.backup.fingerprint import Fingerprint
from releaseops.backup.fingerprint_content import CONTENT_MODES
from releaseops.dburl import DatabaseUrl
from releaseops.errors import ConfigurationError, FingerprintFileInvalid

DIFFERENT_EXIT = 1


@dataclass(frozen=True)
class Side:
    """One side of the comparison: a live database or a saved fingerprint."""

    label: str
    url: DatabaseUrl | None = None
    saved: Fingerprint | None = None


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    p = cli.parser(__doc__, json_output=True)
    p.add_argument("src", metavar="SRC", help="database URL, fingerprint file or backup")
    p.add_argument("dst", metavar="DST", help="database URL, fingerprint file or backup")
    p.add_argument("--owners", action="store_true", help="also compare owners and ACLs")
    p.add_argument("--catalog-only", action="store_true", help="compare the catalog, no data")
    p.add_argument(
        "--content",
        choices=CONTENT_MODES,
        default="sum128",
        help="table digest for live databases: sum128 (no sort, default) or sorted (exact)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=fingerprint.DEFAULT_WORKERS,
        help=f"connections per live database (default {fingerprint.DEFAULT_WORKERS})",
    )
    return p


def side(text: str) -> Side:
    """A URL, or the fingerprint in a saved file, a manifest or a dump's manifest."""
    path = Path(text)
    if path.exists():
        return Side(str(path), saved=saved_fingerprint(path))
    if "://" in text or "=" in text:
        url = dburl.parse(text)
        return Side(url.masked(), url=url)
    raise ConfigurationError(
        f"{dburl.mask(text)!r} is neither an existing file nor a database URL: pass a "
        f"postgresql:// URL, a file saved by releaseops fingerprint, or a backup"
    )


def saved_fingerprint(path: Path) -> Fingerprint:
    """The fingerprint a file holds: a saved fingerprint, a manifest, or a dump's manifest."""
    if path.is_dir() or path.suffix != ".json":
        return _from_manifest(path, manifest.sidecar(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FingerprintFileInvalid(f"cannot read {path}: {exc}") from None
    if isinstance(data, dict) and data.get("format") == fingerprint.FORMAT:
        return Fingerprint.from_dict(data, source=str(path))
    if isinstance(data, dict) and "sha256" in data and "dbname" in data:
        return _from_manifest(path, path)
    return Fingerprint.from_dict(data, source=str(path))


def _from_manifest(dump: Path, sidecar: Path) -> Fingerprint:
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        recorded = manifest.Manifest.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FingerprintFileInvalid(
            f"{dump} has no readable backup manifest ({sidecar.name}: {exc})"
        ) from None
    found = recorded.dump_fingerprint()
    if found is None:
        raise FingerprintFileInvalid(
            f"the manifest of {recorded.file} records no fingerprint (manifest version "
            f"{recorded.manifest_version}); take a new backup to compare against it"
        )
    return found


def _options(args: argparse.Namespace, saved: Fingerprint | None) -> fingerprint.Options:
    if saved is None:
        return fingerprint.Options(args.owners, args.catalog_only, args.content)
    if args.owners and not saved.options.owners:
        raise ConfigurationError(
            "--owners needs a fingerprint taken with owners: take it again with "
            "releaseops fingerprint URL -o FILE --owners"
        )
    return fingerprint.Options(
        args.owners, args.catalog_only or saved.options.catalog_only, saved.options.content
    )


def _read(src: Side, dst: Side, args: argparse.Namespace) -> tuple[Fingerprint, Fingerprint]:
    saved = src.saved or dst.saved
    options = _options(args, saved)

    def take(s: Side) -> Fingerprint:
        if s.saved is not None:
            return s.saved
        return fingerprint.take(
            s.url or "",
            owners=options.owners,
            catalog_only=options.catalog_only,
            content_mode=options.content,
            workers=args.workers,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.submit(take, src), pool.submit(take, dst)
        return a.result(), b.result()


def _body(p: argparse.ArgumentParser, argv: list[str] | None) -> int:
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error(f"--workers {args.workers}: use 1 or more")
    src, dst = side(args.src), side(args.dst)
    a, b = _read(src, dst, args)
    result = fingerprint_diff.diff(
        a,
        b,
        a_label=src.label,
        b_label=dst.label,
        catalog_only=args.catalog_only,
        owners=args.owners,
    )
    if args.json:
        cli.print_json(result.as_dict())
    else:
        cli.print_lines(result.lines())
    return 0 if result.is_equal else DIFFERENT_EXIT


def main(argv: list[str] | None = None) -> int:
    """`releaseops compare SRC DST`: exit 0 when identical, 1 when different."""
    p = build_parser()
    return cli.run(lambda: _body(p, argv))
