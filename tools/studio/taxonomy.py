"""The dataset's label tree: view, edit (add, rename, move, merge, remove), import, and label balance.

Labels are ``Parent/Child`` paths, as :class:`ftds.tools.generation.labels.LabelTree` writes them. The tree is stored
as its list of paths; every edit records the whole list before and after (trees are small), and re-labels
the samples it affects in the same transaction and audit entry, so one undo puts both back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ftds.tools.studio import store
from ftds.tools.studio.models import ApplyResult, Balance, FieldChange, LabelCount, StudioError
from ftds.tools.studio.store import Workspace, labels, samples

_DATA_SUFFIXES = (".yaml", ".yml", ".json")


def label_paths(conn: Connection, dataset_id: int) -> list[str]:
    return list(
        conn.execute(
            sa.select(labels.c.path).where(labels.c.dataset_id == dataset_id).order_by(labels.c.position, labels.c.id)
        ).scalars()
    )


def replace_label_paths(conn: Connection, dataset_id: int, paths: Sequence[str]) -> None:
    conn.execute(sa.delete(labels).where(labels.c.dataset_id == dataset_id))
    if paths:
        conn.execute(
            sa.insert(labels), [{"dataset_id": dataset_id, "path": p, "position": i} for i, p in enumerate(paths)]
        )


def get_tree(ws: Workspace, dataset: int | str) -> list[str]:
    from ftds.tools.studio.operations import dataset_id_of

    dataset_id = dataset_id_of(ws, dataset)
    with store.reading(ws) as conn:
        return label_paths(conn, dataset_id)


def tree_nested(paths: Sequence[str]) -> list[dict[str, Any]]:
    """The paths as nested ``{name, path, children}`` nodes (for display)."""
    roots: list[dict[str, Any]] = []
    index: dict[str, dict[str, Any]] = {}
    for path in paths:
        parent, _, name = path.rpartition("/")
        node = {"name": name, "path": path, "children": []}
        index[path] = node
        (index[parent]["children"] if parent in index else roots).append(node)
    return roots


def _clean(path: str) -> str:
    parts = [p.strip() for p in path.strip().strip("/").split("/")]
    if not path.strip() or any(not p for p in parts):
        raise StudioError(f"label {path!r} is not a Parent/Child path with non-empty names")
    return "/".join(parts)


def _under(label: str, prefix: str) -> bool:
    return label == prefix or label.startswith(prefix + "/")


def _rebase(label: str, old: str, new: str) -> str:
    return new + label[len(old) :]


def _edit(ws: Workspace, dataset: int | str, actor: str, action: str, summary: str, change: Any) -> ApplyResult:
    """Run ``change(conn, dataset_id, paths) -> (new_paths, {old_prefix: new_prefix | None})`` and re-label
    samples under every moved prefix; one audit entry holds the tree and every sample's label change."""
    from ftds.tools.studio.operations import _diff, _require_actor, _write_states, dataset_id_of, label_condition

    actor = _require_actor(actor)
    dataset_id = dataset_id_of(ws, dataset)
    with store.writing(ws, dataset_id) as conn:
        paths = label_paths(conn, dataset_id)
        new_paths, moves = change(paths)
        recorded: list[tuple[str, int, FieldChange]] = [
            ("label", 0, FieldChange(sample_id="", field="tree", before=paths, after=new_paths))
        ]
        states = []
        for old, new in moves.items():
            for row in conn.execute(sa.select(samples).where(samples.c.dataset_id == dataset_id, label_condition(old))):
                label = _rebase(row.label, old, new) if new is not None else None
                state, changes = _diff(row, {"label": label, "reviewer": actor})
                if changes:
                    states.append((row.id, state))
                    recorded.extend(("sample", row.id, c) for c in changes)
        replace_label_paths(conn, dataset_id, new_paths)
        _write_states(conn, states)
        audit_id = store.record_audit(conn, dataset_id, actor, action, summary, recorded)
        version = store.dataset_version(conn, dataset_id)
    return ApplyResult(audit_id=audit_id, changed=len(recorded), samples=len(states), version=version)


def add_label(ws: Workspace, dataset: int | str, path: str, actor: str) -> ApplyResult:
    """Add a label (and any missing parents)."""
    path = _clean(path)

    def change(paths: list[str]) -> tuple[list[str], dict[str, str | None]]:
        if path in paths:
            raise StudioError(f"label {path!r} exists already")
        parts = path.split("/")
        added = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return list(dict.fromkeys([*paths, *added])), {}

    return _edit(ws, dataset, actor, "label-add", f"add label {path}", change)


def _move(paths: list[str], old: str, new: str) -> list[str]:
    if old not in paths:
        raise StudioError(f"no label {old!r} in the tree")
    if _under(new, old):
        raise StudioError(f"cannot move {old!r} inside itself")
    moved = [_rebase(p, old, new) if _under(p, old) else p for p in paths]
    parts = new.split("/")
    parents = ["/".join(parts[:i]) for i in range(1, len(parts))]
    return list(dict.fromkeys([*[p for p in parents if p not in moved], *moved]))


def rename_label(ws: Workspace, dataset: int | str, path: str, new_name: str, actor: str) -> ApplyResult:
    """Rename one node; its sub-labels and every sample labelled with them follow."""
    path, name = _clean(path), _clean(new_name)
    if "/" in name:
        raise StudioError("a new name is one node name; use move to change the parent")
    parent = path.rpartition("/")[0]
    target = f"{parent}/{name}" if parent else name

    def change(paths: list[str]) -> tuple[list[str], dict[str, str | None]]:
        if target in paths:
            raise StudioError(f"label {target!r} exists already; merge instead")
        return _move(paths, path, target), {path: target}

    return _edit(ws, dataset, actor, "label-rename", f"rename label {path} to {target}", change)


def move_label(ws: Workspace, dataset: int | str, path: str, new_parent: str, actor: str) -> ApplyResult:
    """Move a node under another parent ('' = to the top level), with its sub-labels and samples."""
    path = _clean(path)
    parent = _clean(new_parent) if new_parent.strip() else ""
    target = f"{parent}/{path.rpartition('/')[2]}" if parent else path.rpartition("/")[2]

    def change(paths: list[str]) -> tuple[list[str], dict[str, str | None]]:
        if parent and parent not in paths:
            raise StudioError(f"no label {parent!r} to move under; add it first")
        if target in paths and target != path:
            raise StudioError(f"label {target!r} exists already; merge instead")
        return _move(paths, path, target), {path: target}

    return _edit(ws, dataset, actor, "label-move", f"move label {path} to {target}", change)


def merge_labels(ws: Workspace, dataset: int | str, source: str, target: str, actor: str) -> ApplyResult:
    """Merge ``source`` into ``target``: its samples (and sub-labels) move to ``target``; ``source`` goes."""
    source, target = _clean(source), _clean(target)
    if _under(target, source):
        raise StudioError(f"cannot merge {source!r} into its own sub-label {target!r}")

    def change(paths: list[str]) -> tuple[list[str], dict[str, str | None]]:
        for name in (source, target):
            if name not in paths:
                raise StudioError(f"no label {name!r} in the tree")
        return _move(paths, source, target), {source: target}

    return _edit(ws, dataset, actor, "label-merge", f"merge label {source} into {target}", change)


def remove_label(ws: Workspace, dataset: int | str, path: str, actor: str) -> ApplyResult:
    """Remove a node and its sub-labels; the samples carrying them become unlabelled."""
    path = _clean(path)

    def change(paths: list[str]) -> tuple[list[str], dict[str, str | None]]:
        if path not in paths:
            raise StudioError(f"no label {path!r} in the tree")
        return [p for p in paths if not _under(p, path)], {path: None}

    return _edit(ws, dataset, actor, "label-remove", f"remove label {path}", change)


def taxonomy_paths(path: Path) -> list[str]:
    """Label paths from a taxonomy: a YAML/JSON tree (``{labels: [...]}`` or a nested mapping), or any
    document ftds reads, whose table of contents (a statute's 编/章/节, Markdown headings) becomes the tree."""
    from ftds.tools.generation.labels import LabelTree

    if not path.is_file():
        raise StudioError(f"{path} does not exist; pass a YAML/JSON label tree or a document")
    if path.suffix.lower() in _DATA_SUFFIXES:
        try:
            return LabelTree.load(path).paths()
        except ValueError as exc:
            raise StudioError(str(exc)) from None
    from ftds.tools.ingest.base import LoadError
    from ftds.tools.ingest.chunking import _outline, _paths
    from ftds.tools.ingest.loaders import read_document

    try:
        document = read_document(path, path.parent)
    except (LoadError, OSError) as exc:
        raise StudioError(f"cannot read {path.name}: {exc}") from None
    # every heading's path, as the chunker computes it (Markdown headings, else 编/分编/章/节 lines); chunks
    # alone would not do: small sections are merged into one chunk under their common path
    headings = [path_ for _, path_ in _paths(document.text, _outline(document.text, legal=True)) if path_]
    if not headings:
        raise StudioError(f"{path.name} has no headings (chapters, sections) to build a label tree from")
    if len({h[0] for h in headings}) == 1 and any(len(h) > 1 for h in headings):
        headings = [h[1:] for h in headings if len(h) > 1]  # the document title is not a label
    out: dict[str, None] = {}
    for heading in headings:
        for depth in range(1, len(heading) + 1):
            out.setdefault("/".join(part.replace("/", "-").strip() for part in heading[:depth]), None)
    return list(out)


def import_taxonomy(ws: Workspace, dataset: int | str, path: Path, actor: str, replace: bool = False) -> ApplyResult:
    """Add a taxonomy's labels to the tree (or replace the tree: samples keep their labels either way)."""
    imported = taxonomy_paths(path)

    def change(paths: list[str]) -> tuple[list[str], dict[str, str | None]]:
        return (imported if replace else list(dict.fromkeys([*paths, *imported]))), {}

    return _edit(ws, dataset, actor, "label-import", f"import {len(imported)} label(s) from {path.name}", change)


def balance(ws: Workspace, dataset: int | str) -> Balance:
    """Samples per label (each label counts its sub-labels' samples too), share of accepted samples, the
    labels used but missing from the tree, and the imbalance ratio over used leaf labels."""
    from ftds.tools.studio.operations import dataset_id_of

    dataset_id = dataset_id_of(ws, dataset)
    with store.reading(ws) as conn:
        tree = label_paths(conn, dataset_id)
        rows = conn.execute(
            sa.select(samples.c.label, samples.c.decision, sa.func.count())
            .where(samples.c.dataset_id == dataset_id)
            .group_by(samples.c.label, samples.c.decision)
        ).all()
    exact: dict[str | None, list[int]] = {}
    for label, decision, count in rows:
        totals = exact.setdefault(label, [0, 0])
        totals[0] += count
        totals[1] += count if decision == "accept" else 0
    accepted_all = sum(v[1] for v in exact.values()) or 1
    used = [k for k in exact if k]
    names = list(dict.fromkeys([*tree, *sorted(used)]))
    counts = []
    for name in names:
        total = sum(v[0] for k, v in exact.items() if k and _under(k, name))
        accepted = sum(v[1] for k, v in exact.items() if k and _under(k, name))
        counts.append(LabelCount(label=name, total=total, accepted=accepted, share=round(accepted / accepted_all, 4)))
    leaves = [c for c in counts if c.label in used and c.accepted > 0]
    imbalance = round(max(c.accepted for c in leaves) / min(c.accepted for c in leaves), 2) if len(leaves) > 1 else None
    return Balance(
        labels=counts,
        unlabelled=exact.get(None, [0, 0])[0],
        outside_tree=sorted(k for k in used if k not in tree),
        imbalance=imbalance,
    )
