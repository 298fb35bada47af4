"""Hostile input: each bad file gets a clear reason, and the rest of the batch still loads."""

import shutil
import zipfile
from pathlib import Path

import pytest

from ftds.tools.config import IngestSettings
from ftds.tools.ingest import load_literature
from ftds.tools.records import FileReport


def _reports(inputs: list[Path], **ingest: object) -> dict[str, FileReport]:
    result = load_literature(inputs, ingest=IngestSettings(**ingest))  # type: ignore[arg-type]
    return {f.source: f for f in result.files}


def test_every_hostile_corpus_file_fails_with_its_own_reason(corpus: Path, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    shutil.copytree(corpus / "hostile", batch)
    shutil.copy(corpus / "docs" / "multi_page.pdf", batch / "good.pdf")
    reports = _reports([batch])
    expected = {
        "empty.pdf": "empty (0 bytes)",
        "password-example.pdf": "encrypted",
        "ocr_test_scanned.pdf": "needs OCR",
        "malformed-from-issue-932.pdf": "no usable text layer",
        "example_password.docx": "password-protected",
    }
    for name, reason in expected.items():
        assert reports[name].status == "failed" and reason in reports[name].reason, reports[name]
    assert reports["good.pdf"].status == "loaded" and reports["good.pdf"].chunks > 0
    assert reports["gb18030_no-charset.html"].status == "loaded"
    assert len(reports) == len(list(batch.iterdir()))  # every file accounted for


def test_truncated_pdf_is_reported_as_damaged(corpus: Path, tmp_path: Path) -> None:
    data = (corpus / "docs" / "multi_page.pdf").read_bytes()
    (tmp_path / "truncated.pdf").write_bytes(data[: len(data) // 3])
    (tmp_path / "garbage.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    reports = _reports([tmp_path])
    for name in ("truncated.pdf", "garbage.pdf"):
        report = reports[name]
        assert report.status == "failed", report
        assert any(word in report.reason for word in ("damaged", "no usable text layer")), report.reason


def test_docx_that_is_not_a_zip_and_a_misnamed_pdf_are_reported(tmp_path: Path) -> None:
    (tmp_path / "notes.docx").write_text("just some text, not a Word file", encoding="utf-8")
    (tmp_path / "fake.pdf").write_text("hello", encoding="utf-8")
    (tmp_path / "broken.epub").write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    reports = _reports([tmp_path])
    assert "not a zip archive" in reports["notes.docx"].reason
    assert "not a PDF" in reports["fake.pdf"].reason
    assert reports["broken.epub"].status == "failed" and "damaged" in reports["broken.epub"].reason


def test_zip_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\x00" * (20 * 1024 * 1024))
    assert bomb.stat().st_size < 100_000
    report = _reports([bomb])["bomb.docx"]
    assert report.status == "failed" and "zip bomb" in report.reason
    report = _reports([bomb], max_zip_ratio=1e9, max_unzipped_mb=5)["bomb.docx"]
    assert "zip bomb" in report.reason and "max_unzipped_mb" in report.reason


def test_binary_file_with_a_text_extension_is_refused(tmp_path: Path) -> None:
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50)
    (tmp_path / "noise.md").write_bytes(bytes(range(1, 32)) * 200)
    reports = _reports([tmp_path])
    assert all(r.status == "failed" and "binary" in r.reason for r in reports.values()), reports


def test_file_over_the_size_limit_is_refused_with_the_setting_to_raise(tmp_path: Path, law_file: Path) -> None:
    shutil.copy(law_file, tmp_path / "law.md")
    report = _reports([tmp_path / "law.md"], max_file_mb=0.001)["law.md"]
    assert report.status == "failed" and "over the 0.001 MB limit" in report.reason
    assert "ingest.max_file_mb" in report.reason


def test_unreadable_file_is_reported_and_the_batch_goes_on(
    tmp_path: Path, law_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(law_file, tmp_path / "a_good.md")
    locked = tmp_path / "locked.md"
    locked.write_text("secret", encoding="utf-8")
    locked.chmod(0)
    real_open = Path.open

    def deny(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == "locked.md":  # root ignores file modes, so the denial is simulated for root too
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", deny)
    reports = _reports([tmp_path])
    assert reports["locked.md"].status == "failed" and "permission denied" in reports["locked.md"].reason
    assert reports["a_good.md"].status == "loaded"


def test_unsupported_files_are_skipped_with_the_supported_list(tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    (tmp_path / "old.doc").write_bytes(b"\xd0\xcf")
    (tmp_path / ".hidden.md").write_text("ignored", encoding="utf-8")
    reports = _reports([tmp_path])
    assert set(reports) == {"photo.png", "old.doc", ".hidden.md"}  # hidden: not read, but accounted for
    assert reports[".hidden.md"].status == "skipped" and "hidden" in reports[".hidden.md"].reason
    assert reports["photo.png"].status == "skipped" and ".pdf" in reports["photo.png"].reason
    assert "save it as .docx" in reports["old.doc"].reason


def test_folders_are_walked_recursively_with_paths_relative_to_the_input_root(tmp_path: Path, law_file: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    shutil.copy(law_file, nested / "law.md")
    result = load_literature([tmp_path], domain="law")
    assert [f.source for f in result.files] == ["a/b/law.md"]
    assert {c.provenance.source for c in result.chunks} == {"a/b/law.md"}


def test_progress_is_reported_once_per_file_in_order(tmp_path: Path, law_file: Path) -> None:
    shutil.copy(law_file, tmp_path / "one.md")
    (tmp_path / "two.md").write_bytes(b"")
    seen: list[tuple[int, int, str]] = []
    load_literature([tmp_path], progress=lambda done, total, report: seen.append((done, total, report.status)))
    assert seen == [(1, 2, "loaded"), (2, 2, "failed")]
