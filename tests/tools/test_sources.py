"""Dataset source search: adapters against recorded registry responses, the offline catalog, licences."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from ftds.tools.config import SourcesSettings
from ftds.tools.sources import (
    LICENSES,
    IntendedUse,
    SearchFilters,
    check_license,
    load_catalog,
    normalize_license,
    search_sources,
    sources_card_section,
)
from ftds.tools.sources.awesome import parse_readme
from ftds.tools.sources.huggingface import HuggingFaceAdapter
from ftds.tools.sources.kaggle import KaggleAdapter
from ftds.tools.sources.modelscope import ModelScopeAdapter
from ftds.tools.sources.opendatalab import OpenDataLabAdapter

FIXTURES = Path(__file__).parent / "sources_fixtures"
HF = "https://huggingface.co"
VIEWER = "https://datasets-server.huggingface.co"
MS = "https://www.modelscope.cn"
KAGGLE = "https://www.kaggle.com/api/v1"
ODL = "https://opendatalab.com"


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def no_registry_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own tokens must neither change a result nor reach a (mocked) registry."""
    for name in ("HF_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def settings() -> SourcesSettings:
    return SourcesSettings(timeout_s=2.0)


@pytest.fixture
def registries() -> Any:
    """Every registry answers with its recorded response; anything else is an unmocked call and fails."""
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{HF}/api/datasets").respond(json=recorded("hf_datasets_search.json"))
        mock.get(f"{MS}/api/v1/dolphin/datasets").respond(json=recorded("modelscope_search.json"))
        mock.get(f"{KAGGLE}/datasets/list").respond(json=recorded("kaggle_list.json"))
        mock.post(f"{ODL}/api/datasets/list").respond(json=recorded("opendatalab_search.json"))
        mock.get(url__regex=r"https://raw\.githubusercontent\.com/.*").respond(
            text=(FIXTURES / "awesome_README.rst").read_text(encoding="utf-8")
        )
        yield mock


# --- adapters ----------------------------------------------------------------------------------------


def test_huggingface_search_reads_licence_task_language_size_and_format_from_tags(registries, settings):
    results = HuggingFaceAdapter(settings).search("law", SearchFilters(), 10)

    disc = results[0]
    assert disc.id == "ShengbinYue/DISC-Law-SFT"
    assert disc.title == "DISC-Law-SFT"
    assert disc.license == "Apache-2.0" and disc.license_raw == "apache-2.0"
    assert disc.task_types == ["question-answering", "text-generation"]
    assert disc.languages == ["zh"]
    assert disc.size == "100K<n<1M" and disc.formats == ["json"]
    assert disc.domains == ["legal"]
    assert (disc.downloads, disc.likes, disc.last_update) == (1843, 95, "2023-09-26")
    assert disc.url == "https://huggingface.co/datasets/ShengbinYue/DISC-Law-SFT"
    assert disc.load_snippet == 'datasets.load_dataset("ShengbinYue/DISC-Law-SFT", split="train[:1000]")'
    assert results[1].license == "unknown"  # no licence tag, no card: not guessed


def test_huggingface_token_is_sent_to_the_hub_but_never_returned(registries, settings, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_value")
    results = HuggingFaceAdapter(settings).search("law", SearchFilters(), 10)
    assert registries.calls.last.request.headers["Authorization"] == "Bearer hf_secret_token_value"
    assert "hf_secret_token_value" not in json.dumps([r.model_dump() for r in results])


def test_huggingface_search_passes_task_language_size_and_licence_filters_to_the_hub(registries, settings):
    filters = SearchFilters(task="question-answering", language="zh", license="Apache-2.0", size="1K<n<10K")
    HuggingFaceAdapter(settings).search("law", filters, 5)

    params = registries.calls.last.request.url.params
    assert params["search"] == "law" and params["limit"] == "5"
    assert set(params.get_list("filter")) >= {
        "task_categories:question-answering",
        "language:zh",
        "size_categories:1K<n<10K",
        "license:apache-2.0",
    }


def test_huggingface_details_include_card_configs_splits_features_and_preview(settings):
    with respx.mock() as mock:
        mock.get(f"{HF}/api/datasets/qiaojin/PubMedQA").respond(json=recorded("hf_dataset_info.json"))
        mock.get(f"{HF}/datasets/qiaojin/PubMedQA/resolve/main/README.md").respond(text="# PubMedQA\nCard text")
        mock.get(f"{VIEWER}/splits").respond(json=recorded("hf_viewer_splits.json"))
        first_rows = mock.get(f"{VIEWER}/first-rows").respond(json=recorded("hf_viewer_first_rows.json"))
        details = HuggingFaceAdapter(settings).details("qiaojin/PubMedQA")

    assert details.card is not None and details.card.startswith("# PubMedQA")
    assert details.configs == ["pqa_artificial", "pqa_labeled"]
    assert details.splits == {"pqa_labeled": ["train"], "pqa_artificial": ["train"]}
    assert first_rows.calls.last.request.url.params["config"] == "pqa_labeled"
    assert details.features == {"pubid": "int32", "question": "string", "final_decision": "string"}
    assert details.preview[1]["final_decision"] == "no"
    assert details.result.license == "MIT"
    assert (
        details.result.load_snippet == 'datasets.load_dataset("qiaojin/PubMedQA", "pqa_labeled", split="train[:1000]")'
    )
    assert not details.failures


def test_huggingface_details_survive_a_viewer_outage_and_name_it(settings):
    with respx.mock() as mock:
        mock.get(f"{HF}/api/datasets/qiaojin/PubMedQA").respond(json=recorded("hf_dataset_info.json"))
        mock.get(f"{HF}/datasets/qiaojin/PubMedQA/resolve/main/README.md").respond(text="card")
        mock.get(f"{VIEWER}/splits").respond(status_code=500)
        details = HuggingFaceAdapter(settings).details("qiaojin/PubMedQA")

    assert details.result.id == "qiaojin/PubMedQA" and details.card == "card"
    assert len(details.failures) == 1 and "HTTP 500" in details.failures[0].error


def test_modelscope_search_maps_namespace_name_licence_and_epoch_dates(registries, settings):
    results = ModelScopeAdapter(settings).search("法律", SearchFilters(), 10)

    first = results[0]
    assert first.id == "AI-ModelScope/DISC-Law-SFT" and first.title == "DISC法律指令微调数据集"
    assert first.license == "Apache-2.0" and first.license_raw == "Apache License 2.0"
    assert (first.downloads, first.likes, first.last_update) == (2051, 14, "2023-11-14")
    assert first.url == "https://www.modelscope.cn/datasets/AI-ModelScope/DISC-Law-SFT"
    assert results[1].license == "unknown" and results[1].title == "legal_qa_zh"
    params = registries.calls.last.request.url.params
    assert (params["Query"], params["PageSize"], params["PageNumber"]) == ("法律", "10", "1")


def test_kaggle_without_credentials_says_which_variables_to_set_and_sends_nothing(settings):
    with respx.mock() as mock:
        outcome = search_sources("law", settings, sources=["kaggle"])
        assert not mock.calls
    assert outcome.failures[0].source == "kaggle"
    assert "KAGGLE_USERNAME" in outcome.failures[0].error and "KAGGLE_KEY" in outcome.failures[0].error


def test_kaggle_search_sends_basic_auth_and_never_returns_the_key(registries, settings, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "alice")
    monkeypatch.setenv("KAGGLE_KEY", "secret-kaggle-key-123")
    results = KaggleAdapter(settings).search("legal", SearchFilters(license="cc-by-sa-4.0"), 10)

    request = registries.calls.last.request
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:secret-kaggle-key-123").decode()
    assert request.url.params["search"] == "legal" and request.url.params["license"] == "cc"
    assert [r.license for r in results] == ["CC-BY-SA-4.0", "CC-BY-NC-4.0"]
    assert results[0].size == "5.0 MB" and results[0].domains == ["law"] and results[0].likes == 27
    assert results[0].last_update == "2024-02-11"
    assert "secret-kaggle-key-123" not in json.dumps([r.model_dump() for r in results])


def test_opendatalab_search_posts_keywords_and_reads_licences_when_items_carry_them(registries, settings):
    results = OpenDataLabAdapter(settings).search("legal", SearchFilters(), 10)

    body = json.loads(registries.calls.last.request.content)
    assert body["keywords"] == "legal" and body["pageSize"] == 10
    assert [r.id for r in results] == ["OpenDataLab/CAIL2018", "OpenDataLab/JEC-QA"]
    assert results[0].license == "unknown" and results[1].license == "CC-BY-NC-SA-4.0"
    assert results[0].size == "270.0 MB" and results[0].downloads == 812


def test_awesome_list_parses_both_the_rst_and_markdown_readme():
    rst = parse_readme((FIXTURES / "awesome_README.rst").read_text(encoding="utf-8"))
    md = parse_readme((FIXTURES / "awesome_README.md").read_text(encoding="utf-8"))

    assert {"topic": "Biology", "title": "1000 Genomes", "url": "http://www.1000genomes.org/data"} in rst
    personal = [e for e in rst if e["title"] == "The Personal Genome Project"]
    assert len(personal) == 1  # a second link in the same bullet is not a second entry
    assert md == [
        {"topic": "Biology", "title": "1000 Genomes", "url": "http://www.1000genomes.org/data"},
        {
            "topic": "NaturalLanguage",
            "title": "WordNet databases and tools",
            "url": "http://wordnet.princeton.edu/wordnet/download/",
        },
    ]


# --- the search as a whole ---------------------------------------------------------------------------


def test_search_merges_every_registry_with_the_catalog_and_says_which_is_which(registries, settings, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "alice")
    monkeypatch.setenv("KAGGLE_KEY", "k")
    outcome = search_sources("Chinese law Q&A", settings)

    assert not outcome.failures and not outcome.offline
    assert set(outcome.sources_queried) == {"huggingface", "modelscope", "kaggle", "opendatalab", "awesome"}
    live_sources = {r.source for r in outcome.results if r.origin == "live"}
    assert live_sources == {"huggingface", "modelscope", "kaggle", "opendatalab"}
    catalog = [r for r in outcome.results if r.origin == "catalog"]
    assert {r.id for r in catalog} >= {"thunlp/JEC-QA", "china-ai-law-challenge/CAIL2018"}
    # the live Hub result replaces the catalog's entry for the same dataset
    assert [r.origin for r in outcome.results if r.id == "ShengbinYue/DISC-Law-SFT"] == ["live"]
    assert outcome.search_links["google"].startswith("https://datasetsearch.research.google.com/search?query=")


def test_rate_limit_timeout_and_a_registry_down_give_partial_results_naming_each_failure(settings):
    with respx.mock() as mock:
        mock.get(f"{HF}/api/datasets").respond(status_code=429, headers={"Retry-After": "30"})
        mock.get(f"{MS}/api/v1/dolphin/datasets").respond(status_code=503)
        mock.post(f"{ODL}/api/datasets/list").mock(side_effect=httpx.ReadTimeout("timed out"))
        mock.get(url__regex=r"https://raw\.githubusercontent\.com/.*").respond(
            text=(FIXTURES / "awesome_README.rst").read_text(encoding="utf-8")
        )
        outcome = search_sources("genomes", settings, sources=["huggingface", "modelscope", "opendatalab", "awesome"])

    errors = {f.source: f.error for f in outcome.failures}
    assert set(errors) == {"huggingface", "modelscope", "opendatalab"}
    assert "429" in errors["huggingface"] and "retry after 30" in errors["huggingface"]
    assert "HTTP 503" in errors["modelscope"] and "down" in errors["modelscope"]
    assert "did not answer within 2 s" in errors["opendatalab"]
    assert outcome.partial
    assert [r.title for r in outcome.results if r.origin == "live"] == ["1000 Genomes"]


def test_a_registry_answering_in_an_unexpected_shape_is_a_named_failure_not_a_crash(settings):
    with respx.mock() as mock:
        mock.get(f"{MS}/api/v1/dolphin/datasets").respond(json={"Code": 200, "Message": "changed"})
        outcome = search_sources("law", settings, sources=["modelscope"])
    assert outcome.failures[0].source == "modelscope" and "API may have changed" in outcome.failures[0].error


def test_offline_search_for_chinese_law_qa_returns_catalog_results_with_licences_without_network(no_network):
    outcome = search_sources("中文法律问答", SourcesSettings(offline=True))

    assert outcome.offline and outcome.used_catalog and not outcome.sources_queried and not outcome.failures
    by_id = {r.id: r for r in outcome.results}
    assert by_id["ShengbinYue/DISC-Law-SFT"].license == "Apache-2.0"
    assert by_id["thunlp/JEC-QA"].license == "CC-BY-NC-SA-4.0"
    assert by_id["china-ai-law-challenge/CAIL2018"].license == "unknown"
    assert all(r.origin == "catalog" and "law" in r.domains for r in outcome.results)
    english = search_sources("law-domain Chinese Q&A dataset", SourcesSettings(offline=True))
    assert {r.id for r in english.results} == set(by_id)


def test_online_search_with_the_network_down_still_returns_the_catalog_and_names_each_registry(no_network):
    outcome = search_sources("Chinese law QA", SourcesSettings(timeout_s=1.0))

    assert {f.source for f in outcome.failures} == {"huggingface", "modelscope", "kaggle", "opendatalab", "awesome"}
    assert "ShengbinYue/DISC-Law-SFT" in {r.id for r in outcome.results}
    assert all(r.origin == "catalog" for r in outcome.results)


def test_unknown_source_name_is_rejected_with_the_valid_choices(settings):
    with pytest.raises(ValueError, match="huggingface"):
        search_sources("x", settings, sources=["zenodo"])


def test_medical_datasets_carry_an_ethics_review_warning(no_network):
    outcome = search_sources("PubMedQA", SourcesSettings(offline=True))
    pubmed = next(r for r in outcome.results if r.id == "qiaojin/PubMedQA")
    assert any("ethics review" in w for w in pubmed.warnings)
    squad = search_sources("SQuAD", SourcesSettings(offline=True)).results[0]
    assert squad.id == "rajpurkar/squad" and not squad.warnings


# --- catalog -----------------------------------------------------------------------------------------


def test_every_catalog_entry_has_an_id_task_and_a_licence_from_the_table():
    data = load_catalog()
    assert data["version"] and data["updated"]
    ids = [e["id"] for e in data["datasets"]]
    assert len(ids) == len(set(ids))
    for entry in data["datasets"]:
        assert entry["task_types"], entry["id"]
        assert normalize_license(entry["license"]) == entry["license"], entry["id"]
        if entry["license"] in ("other", "unknown"):
            continue
        assert entry["license"] in LICENSES


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("IMDB", "stanfordnlp/imdb"),
        ("SQuAD", "rajpurkar/squad"),
        ("CIFAR-10", "uoft-cs/cifar10"),
        ("COCO", "cocodataset/coco-2017"),
        ("Alpaca", "tatsu-lab/alpaca"),
        ("ShareGPT multilingual", "shareAI/ShareGPT-Chinese-English-90k"),
        ("ChnSentiCorp", "lansinuote/ChnSentiCorp"),
        ("BDD100K", "bdd100k"),
        ("WHU-RS19", "WHU-RS19"),
        ("Kinetics-400", "deepmind/kinetics-400"),
        ("CodeSearchNet", "code-search-net/code_search_net"),
        ("COCO-Stuff", "nightrome/cocostuff"),
        ("中文数学思维链", "BelleGroup/school_math_0.25M"),
        ("DeepSeek-R1 蒸馏 中文", "Congliu/Chinese-DeepSeek-R1-Distill-data-110k"),
        ("human preference", "Anthropic/hh-rlhf"),
    ],
)
def test_the_seed_datasets_are_found_in_the_offline_catalog(query, expected):
    ids = [r.id for r in search_sources(query, SourcesSettings(offline=True), sources=[]).results]
    assert expected in ids


# --- licences ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "spdx"),
    [
        ("cc-by-4.0", "CC-BY-4.0"),
        ("CC BY-SA 4.0", "CC-BY-SA-4.0"),
        ("Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)", "CC-BY-NC-4.0"),
        ("cc-by-nc-nd-4.0", "CC-BY-NC-ND-4.0"),
        ("CC0: Public Domain", "CC0-1.0"),
        ("Apache License 2.0", "Apache-2.0"),
        ("mit", "MIT"),
        ("odc-by", "ODC-By-1.0"),
        ("bigscience-openrail-m", "OpenRAIL"),
        ("Other (specified in description)", "other"),
        ("some custom terms", "other"),
        (None, "unknown"),
        ("", "unknown"),
    ],
)
def test_registry_licence_spellings_normalise_to_spdx_ids(raw, spdx):
    assert normalize_license(raw) == spdx


def test_licence_table_answers_the_four_questions_for_the_common_licences():
    for spdx in ("CC0-1.0", "CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0", "CC-BY-NC-ND-4.0", "Apache-2.0", "MIT"):
        terms = LICENSES[spdx]
        assert None not in (terms.commercial, terms.modify, terms.attribution, terms.share_alike), spdx
    assert LICENSES["ODC-By-1.0"].attribution and LICENSES["OpenRAIL"].note


def test_commercial_use_of_non_commercial_data_is_a_conflict():
    check = check_license("cc-by-nc-4.0", IntendedUse(commercial=True))
    assert check.allowed is False and "commercial use" in check.conflicts[0]


def test_sharing_a_converted_copy_of_no_derivatives_data_is_a_conflict():
    check = check_license("CC-BY-NC-ND-4.0", IntendedUse(commercial=False, modify=True, redistribute=True))
    assert check.allowed is False
    assert any("converted or filtered copy" in c for c in check.conflicts)


def test_share_alike_and_attribution_become_obligations_not_conflicts():
    check = check_license("CC-BY-SA-4.0", IntendedUse(commercial=True, redistribute=True))
    assert check.allowed is True and not check.conflicts
    assert any("share-alike" in o for o in check.obligations)
    assert any("credit" in o for o in check.obligations)
    assert check_license("CC0-1.0", IntendedUse(commercial=True, redistribute=True)).obligations == []


def test_unknown_licence_cannot_be_cleared():
    check = check_license(None, IntendedUse(commercial=True))
    assert check.allowed is None and check.license == "unknown"
    assert any("no permission" in n for n in check.notes)


def test_dataset_card_lists_every_source_licence_and_the_conflicts(no_network):
    results = search_sources("中文法律问答", SourcesSettings(offline=True)).results
    pubmed = search_sources("PubMedQA", SourcesSettings(offline=True)).results[0]
    card = sources_card_section([*results, pubmed], IntendedUse(commercial=True, redistribute=True))

    for item in [*results, pubmed]:
        assert f"| {item.id} | {item.license} |" in card
    assert "**thunlp/JEC-QA**: CC-BY-NC-SA-4.0 does not permit commercial use" in card
    assert "ethics review" in card


def test_licence_filter_is_enforced_on_registries_that_cannot_filter_by_licence(registries, settings):
    outcome = search_sources("law", settings, sources=["modelscope"], filters=SearchFilters(license="apache-2.0"))
    live = [r for r in outcome.results if r.origin == "live"]
    assert [r.id for r in live] == ["AI-ModelScope/DISC-Law-SFT"]
    assert all(r.license == "Apache-2.0" for r in outcome.results)


def test_an_empty_source_list_asks_no_registry(registries, settings):
    outcome = search_sources("law", settings, sources=[])
    assert outcome.sources_queried == [] and not registries.calls


def test_modelscope_details_carry_the_readme_as_card(settings):
    with respx.mock() as mock:
        mock.get(f"{MS}/api/v1/datasets/AI-ModelScope/DISC-Law-SFT").respond(json=recorded("modelscope_dataset.json"))
        details = ModelScopeAdapter(settings).details("AI-ModelScope/DISC-Law-SFT")
    assert details.card is not None and details.card.startswith("# DISC-Law-SFT")
    assert details.result.license == "Apache-2.0" and details.result.title == "DISC法律指令微调数据集"


def test_kaggle_details_read_the_view_endpoint(settings, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "alice")
    monkeypatch.setenv("KAGGLE_KEY", "k")
    row = recorded("kaggle_list.json")[0] | {"description": "Full description of the data."}
    with respx.mock() as mock:
        mock.get(f"{KAGGLE}/datasets/view/someone/chinese-legal-qa").respond(json=row)
        details = KaggleAdapter(settings).details("someone/chinese-legal-qa")
    assert details.card == "Full description of the data." and details.result.license == "CC-BY-SA-4.0"


def test_dataset_details_online_add_the_ethics_warning_to_medical_data(settings):
    from ftds.tools.sources import get_dataset_details

    with respx.mock() as mock:
        mock.get(f"{HF}/api/datasets/qiaojin/PubMedQA").respond(json=recorded("hf_dataset_info.json"))
        mock.get(f"{HF}/datasets/qiaojin/PubMedQA/resolve/main/README.md").respond(text="card")
        mock.get(f"{VIEWER}/splits").respond(json=recorded("hf_viewer_splits.json"))
        mock.get(f"{VIEWER}/first-rows").respond(json=recorded("hf_viewer_first_rows.json"))
        details = get_dataset_details("qiaojin/PubMedQA", "huggingface", settings)
    assert details.result.origin == "live"
    assert any("ethics review" in w for w in details.result.warnings)


def test_dataset_details_fall_back_to_the_catalog_when_the_registry_is_down(settings):
    from ftds.tools.sources import get_dataset_details

    with respx.mock() as mock:
        mock.get(f"{HF}/api/datasets/rajpurkar/squad").respond(status_code=502)
        details = get_dataset_details("rajpurkar/squad", "huggingface", settings)
    assert details.result.origin == "catalog" and details.result.license == "CC-BY-SA-4.0"
    assert details.failures[0].source == "huggingface" and "HTTP 502" in details.failures[0].error


def test_the_awesome_snapshot_stands_in_when_its_readme_cannot_be_fetched(settings):
    with respx.mock() as mock:
        mock.get(url__regex=r"https://raw\.githubusercontent\.com/.*").respond(status_code=503)
        outcome = search_sources("Protein Data Bank", settings, sources=["awesome"])
    assert outcome.failures[0].source == "awesome"
    hit = next(r for r in outcome.results if r.title == "Protein Data Bank")
    assert hit.origin == "catalog" and hit.license == "unknown" and hit.warnings  # biology: ethics review


def test_the_offline_switch_and_timeouts_come_from_settings_and_environment(monkeypatch, no_network):
    from ftds.tools.config import load_settings

    monkeypatch.setenv("FTDS_SOURCES__OFFLINE", "true")
    monkeypatch.setenv("FTDS_SOURCES__TIMEOUT_S", "3.5")
    settings = load_settings().sources
    assert settings.offline is True and settings.timeout_s == 3.5
    outcome = search_sources("SQuAD", settings)
    assert outcome.offline and not outcome.failures and outcome.results[0].id == "rajpurkar/squad"
