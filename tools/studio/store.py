"""The workspace database: tables, the full-text index and the write transaction every change goes through.

SQLite by default (one file per workspace, WAL, ``synchronous=FULL``: every edit is committed before the call
returns, so a crash loses nothing); the same SQLAlchemy Core statements run on PostgreSQL given a URL.
Concurrent reviewers: every write runs in one transaction that first bumps the dataset's version row, which
serialises writers per dataset (SQLite: ``BEGIN IMMEDIATE`` takes the write lock up front; PostgreSQL: the
row lock), and re-reads what it changes inside that transaction, so no edit is lost to a stale read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic_core
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ftds.tools.studio.models import FieldChange, NotFound

DB_FILE = "studio.sqlite"
META_FIELDS = ("decision", "reason", "reviewer", "split")  # per-sample state kept beside the Sample record

metadata = sa.MetaData()
datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("task", sa.String(40), nullable=False, default="qa"),
    sa.Column("format", sa.String(40), nullable=False, default="alpaca"),
    sa.Column("status", sa.String(20), nullable=False, default="imported"),
    sa.Column("source", sa.Text, nullable=False, default=""),
    sa.Column("version", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("meta", sa.Text, nullable=False, default="{}"),
)
samples = sa.Table(
    "samples",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("sample_id", sa.String(100), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("split", sa.String(40), nullable=False, default=""),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("label", sa.Text),
    sa.Column("decision", sa.String(10), nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("failed_checks", sa.Text, nullable=False, default=""),
    sa.Column("source", sa.Text, nullable=False, default=""),
    sa.Column("reviewer", sa.String(100), nullable=False, default=""),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("text", sa.Text, nullable=False, default=""),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("dataset_id", "sample_id", name="uq_samples_dataset_sample"),
    sa.Index("ix_samples_position", "dataset_id", "position"),
    sa.Index("ix_samples_label", "dataset_id", "label"),
    sa.Index("ix_samples_decision", "dataset_id", "decision", "position"),
    sa.Index("ix_samples_score", "dataset_id", "score"),
    sa.Index("ix_samples_source", "dataset_id", "source"),
    sa.Index("ix_samples_reviewer", "dataset_id", "reviewer"),
)
labels = sa.Table(
    "labels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False, default=0),
    sa.UniqueConstraint("dataset_id", "path", name="uq_labels_dataset_path"),
)
assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("reviewer", sa.String(100), nullable=False),
    sa.Column("label_scope", sa.Text),
    sa.Column("range_start", sa.Integer),
    sa.Column("range_end", sa.Integer),
    sa.Column("created_at", sa.Float, nullable=False),
)
reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("sample_row", sa.Integer, nullable=False),
    sa.Column("reviewer", sa.String(100), nullable=False),
    sa.Column("decision", sa.String(10), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("audit_id", sa.Integer),
    sa.Index("ix_reviews_sample", "dataset_id", "sample_row"),
)
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("summary", sa.Text, nullable=False, default=""),
    sa.Column("undone", sa.Boolean, nullable=False, default=False),
    sa.Column("undo_of", sa.Integer),
    sa.Index("ix_audit_dataset", "dataset_id", "id"),
)
audit_changes = sa.Table(
    "audit_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("audit_id", sa.Integer, sa.ForeignKey("audit.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),  # sample | label
    sa.Column("ref", sa.Integer, nullable=False, default=0),  # samples.id for sample changes
    sa.Column("sample_id", sa.String(100), nullable=False, default=""),
    sa.Column("field", sa.String(60), nullable=False),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
    sa.Index("ix_audit_changes_audit", "audit_id"),
    sa.Index("ix_audit_changes_ref", "ref"),
)
source_files = sa.Table(
    "source_files",
    metadata,
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("mtime", sa.Float, nullable=False),
)
documents = sa.Table(
    "documents",
    metadata,
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
)

_FTS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS samples_fts USING fts5(text, content='samples', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS samples_fts_ai AFTER INSERT ON samples BEGIN "
    "INSERT INTO samples_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS samples_fts_ad AFTER DELETE ON samples BEGIN "
    "INSERT INTO samples_fts(samples_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS samples_fts_au AFTER UPDATE OF text ON samples BEGIN "
    "INSERT INTO samples_fts(samples_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO samples_fts(rowid, text) VALUES (new.id, new.text); END",
]


@dataclass
class Workspace:
    """An open studio database. ``fts`` says whether SQLite's FTS5 trigram index serves free-text search."""

    engine: Engine
    url: str
    fts: bool

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_engine(path: Path) -> Engine:
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 60, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below), so pysqlite must not
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: a 50k-sample import stays in memory until commit
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def open_workspace(location: str | Path) -> Workspace:
    """Open (creating if needed) a workspace: a folder (``studio.sqlite`` inside), a ``.sqlite`` file, or a
    SQLAlchemy URL such as ``postgresql+psycopg://user@host:5432/db``."""
    text = str(location)
    if "://" in text:
        try:
            engine = sa.create_engine(text, pool_pre_ping=True)
        except (ImportError, sa.exc.ArgumentError) as exc:
            raise ValueError(
                f"cannot open the studio database {text!r}: {exc}; PostgreSQL needs the driver: "
                "pip install 'ftds-agent[studio-pg]'"
            ) from None
    else:
        path = Path(text)
        if path.suffix not in (".sqlite", ".db"):
            path.mkdir(parents=True, exist_ok=True)
            path = path / DB_FILE
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = _sqlite_engine(path)
    try:
        with engine.begin() as conn:
            metadata.create_all(conn)
    except sa.exc.OperationalError as exc:
        raise ValueError(f"cannot open the studio database {text!r}: {exc.orig}") from None
    fts = False
    if engine.dialect.name == "postgresql":  # a trigram index lets ILIKE '%text%' search without a full scan
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                conn.exec_driver_sql(
                    "CREATE INDEX IF NOT EXISTS ix_samples_text_trgm ON samples USING gin (text gin_trgm_ops)"
                )
        except sa.exc.DBAPIError:  # no pg_trgm (or no right to create it): search still works, by scanning
            pass
    if engine.dialect.name == "sqlite":
        try:
            with engine.begin() as conn:
                for statement in _FTS:
                    conn.exec_driver_sql(statement)
            fts = True
        except sa.exc.OperationalError:  # SQLite built without FTS5 or trigram: LIKE serves search
            fts = False
    return Workspace(engine=engine, url=text, fts=fts)


@contextmanager
def reading(ws: Workspace) -> Iterator[Connection]:
    with ws.engine.connect() as conn:
        yield conn


@contextmanager
def writing(ws: Workspace, dataset_id: int | None = None) -> Iterator[Connection]:
    """One write transaction; with ``dataset_id`` it first bumps that dataset's version (the per-dataset
    writer lock) and raises :class:`NotFound` if the dataset does not exist."""
    with ws.engine.connect() as raw:
        conn = raw.execution_options(immediate=True)
        with conn.begin():
            if dataset_id is not None:
                bumped = conn.execute(
                    sa.update(datasets)
                    .where(datasets.c.id == dataset_id)
                    .values(version=datasets.c.version + 1, updated_at=time.time())
                )
                if not bumped.rowcount:
                    raise NotFound(f"no dataset with id {dataset_id}; list them with the datasets view")
            yield conn


def dumps(value: Any) -> str:
    """Compact JSON with non-ASCII text kept as is (pydantic-core's encoder: ~5x the stdlib's here)."""
    return pydantic_core.to_json(value).decode("utf-8")


def index_columns(sample: Mapping[str, Any]) -> dict[str, Any]:
    """The indexed columns derived from a Sample record (label, score, failed checks, source, search text)."""
    review = sample.get("review") or {}
    failed = [c.get("name", "") for c in sample.get("checks") or [] if not c.get("passed", True)]
    turns = " ".join(str(t.get("content", "")) for t in sample.get("turns") or [])
    text = " ".join(
        part
        for part in (
            sample.get("question"),
            sample.get("answer"),
            sample.get("reasoning"),
            sample.get("rejected_answer"),
            turns,
        )
        if part
    )
    return {
        "label": sample.get("label") or None,
        "score": review.get("total") if isinstance(review, dict) else None,
        "failed_checks": "".join(f",{name}" for name in failed) + ("," if failed else ""),
        "source": (sample.get("provenance") or {}).get("source", ""),
        "text": text,
    }


def record_audit(
    conn: Connection,
    dataset_id: int,
    actor: str,
    action: str,
    summary: str,
    changes: list[tuple[str, int, FieldChange]],
    undo_of: int | None = None,
) -> int:
    """Write one audit entry and its field changes ((kind, ref, change) each); returns the entry id."""
    audit_id = conn.execute(
        sa.insert(audit).values(
            dataset_id=dataset_id,
            actor=actor or "anonymous",
            at=time.time(),
            action=action,
            summary=summary,
            undone=False,
            undo_of=undo_of,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    if changes:
        conn.execute(
            sa.insert(audit_changes),
            [
                {
                    "audit_id": audit_id,
                    "kind": kind,
                    "ref": ref,
                    "sample_id": change.sample_id,
                    "field": change.field,
                    "before": dumps(change.before),
                    "after": dumps(change.after),
                }
                for kind, ref, change in changes
            ],
        )
    return int(audit_id)


def dataset_version(conn: Connection, dataset_id: int) -> int:
    version = conn.execute(sa.select(datasets.c.version).where(datasets.c.id == dataset_id)).scalar()
    if version is None:
        raise NotFound(f"no dataset with id {dataset_id}")
    return int(version)
