"""Review operations: list/filter/page, read, edit, accept/reject/rescue, undo, and bulk changes by plan.

Every change is committed in its own transaction together with its audit entry (who, when, each field's
before and after). Bulk changes (decision on a filter, find-and-replace, re-label) are two calls: ``preview``
lists every change and a fingerprint of them; ``apply`` recomputes the plan inside the write transaction
and refuses when the fingerprint differs, so what is applied is exactly what the reviewer saw.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Row

from ftds.tools.records import Sample
from ftds.tools.studio import store
from ftds.tools.studio.models import (
    ApplyResult,
    AuditEntry,
    BulkOp,
    Conflict,
    DatasetInfo,
    Decision,
    FieldChange,
    NotFound,
    Plan,
    SampleDetail,
    SampleFilter,
    SamplePage,
    SampleRow,
    SortKey,
    StudioError,
)
from ftds.tools.studio.store import Workspace, audit, audit_changes, datasets, samples

EDITABLE_FIELDS = frozenset(Sample.model_fields) - {"sample_id", "provenance", "rejection"}
MAX_PAGE = 500

# --- datasets --------------------------------------------------------------------------------------------


def _dataset_info(conn: Connection, row: Row[Any]) -> DatasetInfo:
    counts: dict[str, int] = dict(
        conn.execute(
            sa.select(samples.c.decision, sa.func.count())
            .where(samples.c.dataset_id == row.id)
            .group_by(samples.c.decision)
        ).all()
    )
    reviewed = conn.execute(
        sa.select(sa.func.count()).where(samples.c.dataset_id == row.id, samples.c.reviewer != "")
    ).scalar_one()
    label_count = conn.execute(
        sa.select(sa.func.count()).select_from(store.labels).where(store.labels.c.dataset_id == row.id)
    ).scalar_one()
    return DatasetInfo(
        id=row.id,
        name=row.name,
        task=row.task,
        format=row.format,
        status=row.status,
        source=row.source,
        version=row.version,
        counts={
            "total": sum(counts.values()),
            "accept": counts.get("accept", 0),
            "reject": counts.get("reject", 0),
            "reviewed": reviewed,
        },
        labels=label_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
        meta=json.loads(row.meta or "{}"),
    )


def list_datasets(ws: Workspace) -> list[DatasetInfo]:
    with store.reading(ws) as conn:
        rows = conn.execute(sa.select(datasets).order_by(datasets.c.id)).all()
        return [_dataset_info(conn, row) for row in rows]


def get_dataset(ws: Workspace, dataset: int | str) -> DatasetInfo:
    """A dataset by id or by name."""
    with store.reading(ws) as conn:
        return _dataset_info(conn, _dataset_row(conn, dataset))


def _dataset_row(conn: Connection, dataset: int | str) -> Row[Any]:
    column = datasets.c.id if isinstance(dataset, int) else datasets.c.name
    row = conn.execute(sa.select(datasets).where(column == dataset)).first()
    if row is None:
        names = ", ".join(conn.execute(sa.select(datasets.c.name)).scalars())
        raise NotFound(f"no dataset {dataset!r}; the workspace holds: {names or 'nothing yet (import one)'}")
    return row


def dataset_id_of(ws: Workspace, dataset: int | str) -> int:
    with store.reading(ws) as conn:
        return int(_dataset_row(conn, dataset).id)


def delete_dataset(ws: Workspace, dataset: int | str) -> None:
    dataset_id = dataset_id_of(ws, dataset)
    with store.writing(ws) as conn:
        for table in (store.audit_changes,):
            conn.execute(
                sa.delete(table).where(
                    table.c.audit_id.in_(sa.select(audit.c.id).where(audit.c.dataset_id == dataset_id))
                )
            )
        for table in (
            audit,
            store.reviews,
            store.assignments,
            store.labels,
            store.source_files,
            store.documents,
            samples,
        ):
            conn.execute(sa.delete(table).where(table.c.dataset_id == dataset_id))
        conn.execute(sa.delete(datasets).where(datasets.c.id == dataset_id))


# --- reading samples -------------------------------------------------------------------------------------


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def label_condition(label: str) -> sa.ColumnElement[bool]:
    """A label and every label below it (``Parent`` matches ``Parent/Child``); ``''`` = unlabelled."""
    if label == "":
        return samples.c.label.is_(None)
    return sa.or_(samples.c.label == label, samples.c.label.like(_like_escape(label) + "/%", escape="\\"))


def _search_condition(ws: Workspace, query: str) -> sa.ColumnElement[bool]:
    if ws.fts and len(query) >= 3:  # the trigram index answers substrings of three characters or more
        phrase = '"' + query.replace('"', '""') + '"'
        matching: sa.Select[Any] = (
            sa.select(sa.literal_column("rowid"))
            .select_from(sa.table("samples_fts"))
            .where(sa.text("samples_fts MATCH :fts_query").bindparams(fts_query=phrase))
        )
        return samples.c.id.in_(matching)
    pattern = f"%{_like_escape(query)}%"
    return samples.c.text.ilike(pattern, escape="\\")


def _where(conn: Connection, ws: Workspace, dataset_id: int, flt: SampleFilter | None) -> list[Any]:
    conditions: list[Any] = [samples.c.dataset_id == dataset_id]
    if flt is None:
        return conditions
    if flt.label is not None:
        conditions.append(label_condition(flt.label))
    if flt.decision is not None:
        conditions.append(samples.c.decision == flt.decision)
    if flt.min_score is not None:
        conditions.append(samples.c.score >= flt.min_score)
    if flt.max_score is not None:
        conditions.append(samples.c.score <= flt.max_score)
    if flt.failed_check:
        if flt.failed_check == "*":
            conditions.append(samples.c.failed_checks != "")
        else:
            conditions.append(samples.c.failed_checks.like(f"%,{_like_escape(flt.failed_check)},%", escape="\\"))
    if flt.source is not None:
        conditions.append(samples.c.source == flt.source)
    if flt.reviewer is not None:
        conditions.append(samples.c.reviewer == flt.reviewer)
    if flt.split is not None:
        conditions.append(samples.c.split == flt.split)
    if flt.query:
        conditions.append(_search_condition(ws, flt.query.strip()))
    if flt.sample_ids is not None:
        conditions.append(samples.c.sample_id.in_(flt.sample_ids))
    if flt.assigned_to is not None:
        from ftds.tools.studio.team import assignment_condition

        conditions.append(assignment_condition(conn, dataset_id, flt.assigned_to))
    return conditions


_SORT_COLUMNS = {
    "position": samples.c.position,
    "score": samples.c.score,
    "label": samples.c.label,
    "source": samples.c.source,
    "updated": samples.c.updated_at,
    "decision": samples.c.decision,
}


def _row_model(row: Row[Any], data: dict[str, Any] | None = None) -> SampleRow:
    data = data if data is not None else json.loads(row.data)
    return SampleRow(
        id=row.id,
        sample_id=row.sample_id,
        position=row.position,
        split=row.split,
        question=data.get("question", ""),
        answer=data.get("answer", ""),
        label=row.label,
        decision=row.decision,
        score=row.score,
        failed_checks=[name for name in row.failed_checks.split(",") if name],
        source=row.source,
        reviewer=row.reviewer,
        reason=row.reason,
        version=row.version,
    )


def list_samples(
    ws: Workspace,
    dataset: int | str,
    flt: SampleFilter | None = None,
    *,
    sort: SortKey = "position",
    descending: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> SamplePage:
    """One page of the review table, with the total that matches the filter."""
    if not 1 <= limit <= MAX_PAGE:
        raise StudioError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    if offset < 0:
        raise StudioError(f"offset must be 0 or more, got {offset}")
    if sort not in _SORT_COLUMNS:
        raise StudioError(f"cannot sort by {sort!r}; choose one of {', '.join(_SORT_COLUMNS)}")
    with store.reading(ws) as conn:
        dataset_id = int(_dataset_row(conn, dataset).id)
        where = _where(conn, ws, dataset_id, flt)
        total = conn.execute(sa.select(sa.func.count()).select_from(samples).where(*where)).scalar_one()
        column = _SORT_COLUMNS[sort]
        order = [column.desc() if descending else column.asc()]
        if sort != "position":
            order.append(samples.c.position.asc())
        rows = conn.execute(sa.select(samples).where(*where).order_by(*order).offset(offset).limit(limit)).all()
    return SamplePage(total=total, offset=offset, limit=limit, rows=[_row_model(r) for r in rows])


def _sample_row(conn: Connection, dataset_id: int, sample_id: str, lock: bool = False) -> Row[Any]:
    query = sa.select(samples).where(samples.c.dataset_id == dataset_id, samples.c.sample_id == sample_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no sample {sample_id!r} in this dataset")
    return row


def get_sample(ws: Workspace, dataset: int | str, sample_id: str) -> SampleDetail:
    """The sample with its source passage (evidence offsets point into it) and its revision history."""
    with store.reading(ws) as conn:
        dataset_id = int(_dataset_row(conn, dataset).id)
        row = _sample_row(conn, dataset_id, sample_id)
        data = json.loads(row.data)
        provenance = data.get("provenance") or {}
        passage = passage_start = None
        text = conn.execute(
            sa.select(store.documents.c.text).where(
                store.documents.c.dataset_id == dataset_id, store.documents.c.source == provenance.get("source", "")
            )
        ).scalar()
        if text is not None:
            start, end = int(provenance.get("char_start", 0)), int(provenance.get("char_end", 0))
            for span in data.get("evidence") or []:  # show the evidence even if it lies outside the chunk
                start, end = min(start, int(span["char_start"])), max(end, int(span["char_end"]))
            if end > start:
                passage, passage_start = text[start:end], start
        history = _history(conn, dataset_id, sample_row=row.id, limit=100)
    return SampleDetail(
        row=_row_model(row, data), sample=data, passage=passage, passage_start=passage_start, history=history
    )


# --- single-sample changes ----------------------------------------------------------------------------------


def _state(row: Row[Any]) -> dict[str, Any]:
    return {
        "data": json.loads(row.data),
        "decision": row.decision,
        "reason": row.reason,
        "reviewer": row.reviewer,
        "split": row.split,
    }


def _get(state: dict[str, Any], name: str) -> Any:
    return state[name] if name in store.META_FIELDS else state["data"].get(name)


def _set(state: dict[str, Any], name: str, value: Any) -> None:
    if name in store.META_FIELDS:
        state[name] = value
    else:
        state["data"][name] = value


def _validated(data: dict[str, Any], sample_id: str) -> dict[str, Any]:
    try:
        return Sample.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise StudioError(f"sample {sample_id}: field {where!r} {first['msg'].lower()}") from None


def _decision_changes(decision: Decision, reason: str, actor: str) -> dict[str, Any]:
    rejection = None if decision == "accept" else {"reason": "review:reviewer", "detail": reason}
    return {"decision": decision, "reason": reason, "reviewer": actor, "rejection": rejection}


def _diff(row: Row[Any], wanted: dict[str, Any]) -> tuple[dict[str, Any], list[FieldChange]]:
    """The row's new state and the field changes that ``wanted`` makes (unchanged fields are dropped)."""
    state = _state(row)
    changes = []
    for name, value in wanted.items():
        before = _get(state, name)
        if before != value:
            changes.append(FieldChange(sample_id=row.sample_id, field=name, before=before, after=value))
            _set(state, name, value)
    if changes:
        state["data"] = _validated(state["data"], row.sample_id)
    return state, changes


_UPDATE = (
    sa.update(samples)
    .where(samples.c.id == sa.bindparam("_id"))
    .values(
        data=sa.bindparam("_data"),
        label=sa.bindparam("_label"),
        score=sa.bindparam("_score"),
        failed_checks=sa.bindparam("_failed_checks"),
        source=sa.bindparam("_source"),
        text=sa.bindparam("_text"),
        decision=sa.bindparam("_decision"),
        reason=sa.bindparam("_reason"),
        reviewer=sa.bindparam("_reviewer"),
        split=sa.bindparam("_split"),
        version=samples.c.version + 1,
        updated_at=sa.bindparam("_updated_at"),
    )
)


def _write_states(conn: Connection, states: list[tuple[int, dict[str, Any]]]) -> None:
    now = time.time()
    params = []
    for row_id, state in states:
        columns = store.index_columns(state["data"])
        params.append(
            {
                "_id": row_id,
                "_data": store.dumps(state["data"]),
                **{f"_{k}": v for k, v in columns.items()},
                "_decision": state["decision"],
                "_reason": state["reason"],
                "_reviewer": state["reviewer"],
                "_split": state["split"],
                "_updated_at": now,
            }
        )
    if params:
        conn.execute(_UPDATE, params)


def _record_reviews(
    conn: Connection, dataset_id: int, audit_id: int, rows: Iterable[int], actor: str, decision: str, reason: str
) -> None:
    now = time.time()
    values = [
        {
            "dataset_id": dataset_id,
            "sample_row": row_id,
            "reviewer": actor,
            "decision": decision,
            "reason": reason,
            "at": now,
            "audit_id": audit_id,
        }
        for row_id in rows
    ]
    if values:
        conn.execute(sa.insert(store.reviews), values)


def _require_actor(actor: str) -> str:
    actor = (actor or "").strip()
    if not actor:
        raise StudioError("say who you are: every change is recorded with a reviewer name")
    return actor


def _change_one(
    ws: Workspace,
    dataset: int | str,
    sample_id: str,
    wanted: dict[str, Any],
    actor: str,
    action: str,
    expected_version: int | None,
    review: tuple[str, str] | None = None,
) -> SampleRow:
    actor = _require_actor(actor)
    dataset_id = dataset_id_of(ws, dataset)
    with store.writing(ws, dataset_id) as conn:
        row = _sample_row(conn, dataset_id, sample_id, lock=True)
        if expected_version is not None and row.version != expected_version:
            raise Conflict(
                f"sample {sample_id} changed since you opened it (by {row.reviewer or 'the importer'}); "
                "reload it and make your change again"
            )
        state, changes = _diff(row, wanted)
        if changes:
            _write_states(conn, [(row.id, state)])
            fields = ", ".join(c.field for c in changes if c.field not in ("reviewer", "rejection"))
            audit_id = store.record_audit(
                conn,
                dataset_id,
                actor,
                action,
                f"{action} {sample_id}: {fields}",
                [("sample", row.id, c) for c in changes],
            )
            if review:
                _record_reviews(conn, dataset_id, audit_id, [row.id], actor, *review)
        elif review:  # the same decision again still counts as this reviewer's judgement (double review)
            audit_id = store.record_audit(conn, dataset_id, actor, action, f"{action} {sample_id}: confirmed", [])
            _record_reviews(conn, dataset_id, audit_id, [row.id], actor, *review)
        row = _sample_row(conn, dataset_id, sample_id)
    return _row_model(row)


def update_sample(
    ws: Workspace,
    dataset: int | str,
    sample_id: str,
    fields: dict[str, Any],
    actor: str,
    expected_version: int | None = None,
) -> SampleRow:
    """Edit any field of the Sample record (question, answer, label, turns, ...); ``split`` too.

    With ``expected_version`` (the row version the reviewer saw) a concurrent change is refused instead of
    overwritten."""
    unknown = sorted(set(fields) - EDITABLE_FIELDS - {"split"})
    if unknown:
        raise StudioError(
            f"cannot edit {', '.join(unknown)}; editable fields: {', '.join(sorted(EDITABLE_FIELDS | {'split'}))}"
        )
    wanted = {**fields, "reviewer": _require_actor(actor)}
    return _change_one(ws, dataset, sample_id, wanted, actor, "edit", expected_version)


def decide(
    ws: Workspace,
    dataset: int | str,
    sample_id: str,
    decision: Decision,
    actor: str,
    reason: str = "",
    expected_version: int | None = None,
) -> SampleRow:
    """Accept or reject one sample (a reason is required to reject); rejecting sets ``Sample.rejection``."""
    if decision == "reject" and not reason.strip():
        raise StudioError("give a reason to reject a sample (it is kept with the sample in rejected.jsonl)")
    wanted = _decision_changes(decision, reason.strip(), _require_actor(actor))
    return _change_one(ws, dataset, sample_id, wanted, actor, decision, expected_version, (decision, reason.strip()))


def rescue(ws: Workspace, dataset: int | str, sample_id: str, actor: str, reason: str = "rescued") -> SampleRow:
    """Accept a rejected sample; its original rejection stays in the audit history."""
    with store.reading(ws) as conn:
        row = _sample_row(conn, int(_dataset_row(conn, dataset).id), sample_id)
    if row.decision != "reject":
        raise StudioError(f"sample {sample_id} is not rejected; only rejected samples can be rescued")
    return decide(ws, dataset, sample_id, "accept", actor, reason)


# --- history and undo ---------------------------------------------------------------------------------------


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _history(
    conn: Connection, dataset_id: int, *, sample_row: int | None = None, limit: int = 50, with_diff: bool = True
) -> list[AuditEntry]:
    query = sa.select(audit).where(audit.c.dataset_id == dataset_id)
    if sample_row is not None:
        query = query.where(
            audit.c.id.in_(sa.select(audit_changes.c.audit_id).where(audit_changes.c.ref == sample_row))
        )
    entries = conn.execute(query.order_by(audit.c.id.desc()).limit(limit)).all()
    counts: dict[int, int] = dict(
        conn.execute(
            sa.select(audit_changes.c.audit_id, sa.func.count())
            .where(audit_changes.c.audit_id.in_([e.id for e in entries]))
            .group_by(audit_changes.c.audit_id)
        ).all()
    )
    out = []
    for entry in entries:
        diff: list[FieldChange] = []
        if with_diff:
            change_query = sa.select(audit_changes).where(audit_changes.c.audit_id == entry.id)
            if sample_row is not None:
                change_query = change_query.where(audit_changes.c.ref == sample_row)
            diff = [
                FieldChange(sample_id=c.sample_id, field=c.field, before=_loads(c.before), after=_loads(c.after))
                for c in conn.execute(change_query.order_by(audit_changes.c.id).limit(200))
            ]
        out.append(
            AuditEntry(
                id=entry.id,
                actor=entry.actor,
                at=entry.at,
                action=entry.action,
                summary=entry.summary,
                undone=bool(entry.undone),
                changes=counts.get(entry.id, 0),
                diff=diff,
            )
        )
    return out


def history(
    ws: Workspace, dataset: int | str, sample_id: str | None = None, limit: int = 50, with_diff: bool = True
) -> list[AuditEntry]:
    """The audit log, newest first: every change with who, when and each field's before/after."""
    with store.reading(ws) as conn:
        dataset_id = int(_dataset_row(conn, dataset).id)
        row = _sample_row(conn, dataset_id, sample_id).id if sample_id else None
        return _history(conn, dataset_id, sample_row=row, limit=limit, with_diff=with_diff)


def undo(ws: Workspace, dataset: int | str, actor: str, audit_id: int | None = None) -> ApplyResult:
    """Reverse ``actor``'s last change (or entry ``audit_id``): every field goes back to its value before.

    Refused, with the samples named, when someone changed one of those fields since: an undo never
    overwrites another reviewer's later edit."""
    actor = _require_actor(actor)
    dataset_id = dataset_id_of(ws, dataset)
    with store.writing(ws, dataset_id) as conn:
        query = sa.select(audit).where(
            audit.c.dataset_id == dataset_id, audit.c.undone.is_(False), audit.c.action != "undo"
        )
        query = query.where(audit.c.id == audit_id) if audit_id is not None else query.where(audit.c.actor == actor)
        entry = conn.execute(query.order_by(audit.c.id.desc()).limit(1)).first()
        if entry is None:
            raise StudioError("nothing to undo" + (f": entry {audit_id} is unknown or undone" if audit_id else ""))
        changes = conn.execute(
            sa.select(audit_changes).where(audit_changes.c.audit_id == entry.id).order_by(audit_changes.c.id)
        ).all()
        reverse: list[tuple[str, int, FieldChange]] = []
        sample_changes = [c for c in changes if c.kind == "sample"]
        rows = {}
        for chunk_start in range(0, len(sample_changes), 500):
            refs = list({c.ref for c in sample_changes[chunk_start : chunk_start + 500]})
            rows.update({r.id: r for r in conn.execute(sa.select(samples).where(samples.c.id.in_(refs)))})
        states: dict[int, dict[str, Any]] = {}
        clashes: list[str] = []
        for change in sample_changes:
            row = rows.get(change.ref)
            if row is None:
                clashes.append(f"{change.sample_id} (deleted)")
                continue
            state = states.setdefault(row.id, _state(row))
            if _get(state, change.field) != _loads(change.after):
                clashes.append(f"{change.sample_id}.{change.field} (now changed by {row.reviewer or 'someone'})")
                continue
            before = _loads(change.before)
            reverse.append(
                (
                    "sample",
                    row.id,
                    FieldChange(sample_id=row.sample_id, field=change.field, before=_loads(change.after), after=before),
                )
            )
            _set(state, change.field, before)
        for change in (c for c in changes if c.kind == "label"):
            from ftds.tools.studio.taxonomy import label_paths, replace_label_paths

            current = label_paths(conn, dataset_id)
            if current != _loads(change.after):
                clashes.append("the label tree (changed since)")
                continue
            replace_label_paths(conn, dataset_id, _loads(change.before))
            reverse.append(
                ("label", 0, FieldChange(sample_id="", field="tree", before=current, after=_loads(change.before)))
            )
        if clashes:
            shown = "; ".join(clashes[:5]) + (f" and {len(clashes) - 5} more" if len(clashes) > 5 else "")
            raise Conflict(f"cannot undo '{entry.summary}': changed since by another edit: {shown}")
        _write_states(
            conn, [(row_id, {**state, "data": _validated(state["data"], "")}) for row_id, state in states.items()]
        )
        conn.execute(sa.update(audit).where(audit.c.id == entry.id).values(undone=True))
        conn.execute(sa.delete(store.reviews).where(store.reviews.c.audit_id == entry.id))
        new_id = store.record_audit(
            conn, dataset_id, actor, "undo", f"undo: {entry.summary}", reverse, undo_of=entry.id
        )
        version = store.dataset_version(conn, dataset_id)
    return ApplyResult(audit_id=new_id, changed=len(reverse), samples=len(states), version=version)


# --- bulk changes by plan ----------------------------------------------------------------------------------


def _bulk_wanted(op: BulkOp, state: dict[str, Any], actor: str) -> dict[str, Any]:
    if op.kind == "decide":
        assert op.decision is not None
        return _decision_changes(op.decision, op.reason.strip(), actor)
    if op.kind == "relabel":
        return {"label": op.label or None}
    flags = 0 if op.case_sensitive else re.IGNORECASE
    pattern = re.compile(op.find if op.regex else re.escape(op.find), flags)
    wanted: dict[str, Any] = {}
    for name in op.fields:
        value = _get(state, name)
        if isinstance(value, str):
            replaced = pattern.sub(op.replace if op.regex else op.replace.replace("\\", "\\\\"), value)
            if replaced != value:
                wanted[name] = replaced
        elif name in ("turns",) and isinstance(value, list):
            turns = [
                {**t, "content": pattern.sub(op.replace, str(t.get("content", "")))} if isinstance(t, dict) else t
                for t in value
            ]
            if turns != value:
                wanted[name] = turns
        elif name == "chain_of_thought" and isinstance(value, list):
            steps = [pattern.sub(op.replace, str(s)) for s in value]
            if steps != value:
                wanted[name] = steps
    return wanted


def _check_op(op: BulkOp) -> None:
    if op.kind == "decide":
        if op.decision is None:
            raise StudioError("a bulk decision needs decision: accept or reject")
        if op.decision == "reject" and not op.reason.strip():
            raise StudioError("give a reason to reject samples in bulk")
    elif op.kind == "replace":
        if not op.find:
            raise StudioError("find-and-replace needs the text to find")
        unknown = sorted(set(op.fields) - EDITABLE_FIELDS)
        if unknown:
            raise StudioError(f"cannot replace in {', '.join(unknown)}")
        if op.regex:
            try:
                re.compile(op.find)
            except re.error as exc:
                raise StudioError(f"the regular expression {op.find!r} is not valid: {exc}") from None
    elif op.kind == "relabel" and op.label is None:
        raise StudioError("re-label needs the new label ('' to remove labels)")


def _compute(
    conn: Connection, ws: Workspace, dataset_id: int, op: BulkOp, actor: str, lock: bool = False
) -> list[tuple[Row[Any], dict[str, Any], list[FieldChange]]]:
    _check_op(op)
    query = sa.select(samples).where(*_where(conn, ws, dataset_id, op.filter)).order_by(samples.c.position)
    if op.kind == "relabel":
        query = query.where(
            samples.c.label.is_not(None)
            if not op.label
            else sa.or_(samples.c.label.is_(None), samples.c.label != op.label)
        )
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    planned = []
    for row in conn.execute(query):
        state = _state(row)
        wanted = _bulk_wanted(op, state, actor)
        if not wanted:
            continue
        new_state, changes = _diff(row, wanted)
        if op.kind == "decide":  # the reviewer name is bookkeeping, not a change to show or fingerprint
            changes = [c for c in changes if c.field != "reviewer"]
        if changes:
            planned.append((row, new_state, changes))
    return planned


def _fingerprint(planned: Sequence[tuple[Row[Any], dict[str, Any], list[FieldChange]]]) -> str:
    digest = hashlib.sha256()
    for row, _, changes in planned:
        digest.update(f"{row.id}:{row.version}".encode())
        for change in changes:
            digest.update(store.dumps([change.field, change.after]).encode())
    return digest.hexdigest()[:20]


def preview(ws: Workspace, dataset: int | str, op: BulkOp, actor: str = "preview", limit: int | None = None) -> Plan:
    """Every change ``op`` would make (``limit`` caps the listed changes, never the count)."""
    with store.reading(ws) as conn:
        dataset_id = int(_dataset_row(conn, dataset).id)
        planned = _compute(conn, ws, dataset_id, op, actor)
    all_changes = [c for _, _, changes in planned for c in changes if c.field not in ("reviewer",)]
    return Plan(
        action=op.kind,
        total=len(all_changes),
        samples=len(planned),
        changes=all_changes if limit is None else all_changes[:limit],
        fingerprint=_fingerprint(planned),
    )


def apply(ws: Workspace, dataset: int | str, op: BulkOp, actor: str, fingerprint: str | None) -> ApplyResult:
    """Apply a previewed bulk change. ``fingerprint`` (from :func:`preview`) must still match: if any
    selected sample changed since the preview, nothing is applied and the caller previews again."""
    actor = _require_actor(actor)
    dataset_id = dataset_id_of(ws, dataset)
    with store.writing(ws, dataset_id) as conn:
        planned = _compute(conn, ws, dataset_id, op, actor, lock=True)
        if fingerprint is not None and _fingerprint(planned) != fingerprint:
            raise Conflict("the samples changed since the preview; preview again and check the changes")
        if not planned:
            return ApplyResult(audit_id=None, changed=0, samples=0, version=store.dataset_version(conn, dataset_id))
        states = []
        recorded: list[tuple[str, int, FieldChange]] = []
        for row, state, _changes in planned:
            state["reviewer"] = actor
            _, full = _diff(row, {name: _get(state, name) for name in _changed_fields(row, state)})
            states.append((row.id, state))
            recorded.extend(("sample", row.id, c) for c in full)
        _write_states(conn, states)
        if op.kind == "relabel" and op.label:  # a new label joins the tree, in the same undoable step
            from ftds.tools.studio.taxonomy import label_paths, replace_label_paths

            tree = label_paths(conn, dataset_id)
            parts = op.label.split("/")
            wanted = list(dict.fromkeys([*tree, *("/".join(parts[: i + 1]) for i in range(len(parts)))]))
            if wanted != tree:
                replace_label_paths(conn, dataset_id, wanted)
                recorded.append(("label", 0, FieldChange(sample_id="", field="tree", before=tree, after=wanted)))
        summary = _summary(op, len(planned))
        audit_id = store.record_audit(conn, dataset_id, actor, f"bulk-{op.kind}", summary, recorded)
        if op.kind == "decide":
            assert op.decision is not None
            _record_reviews(conn, dataset_id, audit_id, [r.id for r, _, _ in planned], actor, op.decision, op.reason)
        version = store.dataset_version(conn, dataset_id)
    return ApplyResult(audit_id=audit_id, changed=len(recorded), samples=len(planned), version=version)


def _changed_fields(row: Row[Any], state: dict[str, Any]) -> list[str]:
    old = _state(row)
    names = [k for k in store.META_FIELDS if old[k] != state[k]]
    keys = set(old["data"]) | set(state["data"])
    names += [k for k in sorted(keys) if old["data"].get(k) != state["data"].get(k)]
    return names


def _summary(op: BulkOp, count: int) -> str:
    if op.kind == "decide":
        return f"{op.decision} {count} sample(s)" + (f": {op.reason}" if op.reason else "")
    if op.kind == "relabel":
        return f"re-label {count} sample(s) as {op.label or '(none)'}"
    return f"replace {op.find!r} with {op.replace!r} in {count} sample(s)"
