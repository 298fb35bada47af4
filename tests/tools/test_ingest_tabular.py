"""CSV, XLSX, JSON and JSONL: one record is one unit, in the column or field the user chooses."""

import json
from pathlib import Path

import openpyxl

from ftds.tools.config import IngestSettings
from ftds.tools.ingest import load_literature


def test_json_records_use_the_chosen_field(corpus: Path) -> None:
    path = corpus / "datasets" / "alpaca_zh_demo.json"
    result = load_literature([path], ingest=IngestSettings(text_field="output"))
    records = json.loads(path.read_text(encoding="utf-8"))
    with_text = [r for r in records if r["output"].strip()]
    document = result.documents[0]
    assert len(document.record_starts) == len(with_text)
    first = result.chunks[0]
    assert first.provenance.heading_path == ["record 1"]
    assert first.text.strip() == records[0]["output"].strip()
    labels = {c.provenance.heading_path[0] for c in result.chunks}
    assert len(labels) == len(with_text)  # no two records share a chunk


def test_unknown_field_fails_with_the_fields_that_exist(corpus: Path) -> None:
    result = load_literature([corpus / "datasets" / "identity.json"], ingest=IngestSettings(text_field="body"))
    report = result.files[0]
    assert report.status == "failed" and "'body'" in report.reason and "instruction" in report.reason


def test_csv_in_gbk_becomes_one_unit_per_row(tmp_path: Path) -> None:
    rows = "编号,条文\n1,第一条 为了保护消费者的合法权益，制定本法。\n2,第二条 消费者为生活消费需要购买商品。\n3,\n"
    (tmp_path / "law.csv").write_bytes(rows.encode("gbk"))
    result = load_literature([tmp_path / "law.csv"], ingest=IngestSettings(text_field="条文"))
    assert [c.text.strip() for c in result.chunks] == [
        "第一条 为了保护消费者的合法权益，制定本法。",
        "第二条 消费者为生活消费需要购买商品。",
    ]
    assert [c.provenance.heading_path for c in result.chunks] == [["row 2"], ["row 3"]]
    assert "1 record(s) with no text" in result.files[0].reason


def test_without_a_field_every_column_is_kept(tmp_path: Path) -> None:
    (tmp_path / "qa.csv").write_text("question,answer\nWhat is 4.0?,A version.\n", encoding="utf-8")
    result = load_literature([tmp_path / "qa.csv"])
    assert result.chunks[0].text == "question: What is 4.0?\nanswer: A version.\n"


def test_xlsx_rows_from_every_sheet(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Laws"
    sheet.append(["id", "text"])
    sheet.append([1, "Article 1. Everyone has the right to life."])
    other = workbook.create_sheet("More")
    other.append(["id", "text"])
    other.append([2, "Article 2. No one shall be held in slavery."])
    workbook.save(tmp_path / "laws.xlsx")
    result = load_literature([tmp_path / "laws.xlsx"], ingest=IngestSettings(text_field="text"))
    assert [c.provenance.heading_path for c in result.chunks] == [["Laws row 2"], ["More row 2"]]
    assert result.chunks[1].text.startswith("Article 2.")


def test_jsonl_bad_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    lines = [json.dumps({"text": "First record."}), "{not json", json.dumps({"text": "Third record."})]
    (tmp_path / "data.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_literature([tmp_path / "data.jsonl"], ingest=IngestSettings(text_field="text"))
    assert [c.provenance.heading_path for c in result.chunks] == [["line 1"], ["line 3"]]
    assert result.files[0].status == "loaded" and "1 line(s) are not valid JSON" in result.files[0].reason
