"""The machine-readable CLI contract documented in the README."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SEEDS, run_cli


@pytest.fixture(scope="module")
def seeds_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "seeds.db"
    result = run_cli("index", "--db", str(db), str(SEEDS))
    assert result.returncode == 0, result.stderr
    return db


def test_export_gives_each_document_with_exact_passage_offsets(seeds_db: Path) -> None:
    result = run_cli("export", "--db", str(seeds_db), "--json")
    assert result.returncode == 0, result.stderr
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(docs) >= 5
    keys = {
        "doc_id",
        "source_id",
        "title",
        "authors",
        "published",
        "url",
        "site",
        "text",
        "passages",
    }
    for doc in docs:
        assert set(doc) == keys
        assert isinstance(doc["authors"], list)
        assert doc["passages"], doc["doc_id"]
        for p in doc["passages"]:
            assert set(p) == {"passage_id", "start", "end"}
            assert 0 <= p["start"] < p["end"] <= len(doc["text"])
    source_ids = {d["source_id"] for d in docs}
    assert source_ids == {p.name for p in SEEDS.iterdir()}


def test_search_prints_one_line_per_query_with_one_hit_per_document(
    seeds_db: Path, tmp_path: Path
) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        json.dumps({"_id": "q1", "text": "joint air patrol over the Sea of Japan"})
        + "\n"
        + json.dumps({"id": "q2", "text": "Arctic Northern Sea Route"})
        + "\n",
        encoding="utf-8",
    )
    result = run_cli(
        "search", "--db", str(seeds_db), "--queries", str(queries), "--k", "3", "--json"
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query_id"] for line in lines] == ["q1", "q2"]
    export = {
        d["doc_id"]: d
        for d in map(json.loads, run_cli("export", "--db", str(seeds_db)).stdout.splitlines())
    }
    for line in lines:
        hits = line["hits"]
        assert 1 <= len(hits) <= 3
        assert len({h["doc_id"] for h in hits}) == len(hits)
        scores = [h["score"] for h in hits]
        assert scores == sorted(scores, reverse=True)
        for h in hits:
            assert set(h) == {
                "passage_id",
                "doc_id",
                "source_id",
                "title",
                "quote",
                "start",
                "end",
                "score",
            }
            assert export[h["doc_id"]]["text"][h["start"] : h["end"]] == h["quote"]
    assert "patrol" in lines[0]["hits"][0]["quote"]


def test_a_bad_query_line_stops_the_search_with_an_error_naming_the_line(
    seeds_db: Path, tmp_path: Path
) -> None:
    # Unlike a corpus, a query file is the user's own: running the rest would give results
    # that silently miss a query, so the line is named and nothing is searched.
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "q1", "text": "Arctic"}\n{"id": "q2", "text": \n', encoding="utf-8")
    result = run_cli("search", "--db", str(seeds_db), "--queries", str(queries), "--json")
    assert result.returncode == 2
    assert "q.jsonl line 2: not valid JSON" in result.stderr
    assert result.stdout == ""


def test_brief_json_quotes_are_exact_substrings_of_their_documents(seeds_db: Path) -> None:
    result = run_cli("brief", "--db", str(seeds_db), "joint air patrol", "--json")
    assert result.returncode == 0, result.stderr
    brief = json.loads(result.stdout)
    export = {
        d["doc_id"]: d
        for d in map(json.loads, run_cli("export", "--db", str(seeds_db)).stdout.splitlines())
    }
    assert brief["topic"] == "joint air patrol" and brief["quotes"]
    for q in brief["quotes"]:
        assert "text" not in q  # "quote", as in search and digest
        assert export[q["doc_id"]]["text"][q["start"] : q["end"]] == q["quote"]
        assert q["passage_id"] in {p["passage_id"] for p in export[q["doc_id"]]["passages"]}


@pytest.mark.parametrize(
    ("topic", "message"),
    [("   ", "empty"), ("x" * 120_000, "120,000 characters")],
)
def test_bad_topics_get_a_clear_error(seeds_db: Path, topic: str, message: str) -> None:
    result = run_cli("brief", "--db", str(seeds_db), topic)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_sources_of_an_unknown_passage_says_so(seeds_db: Path) -> None:
    result = run_cli("sources", "--db", str(seeds_db), "P999999")
    assert result.returncode == 2 and "P999999" in result.stderr


def test_commands_on_a_missing_index_explain_how_to_build_one(tmp_path: Path) -> None:
    result = run_cli("brief", "--db", str(tmp_path / "none.db"), "russia")
    assert result.returncode == 2 and "briefbot index" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_docs_lists_documents_with_passage_counts(seeds_db: Path) -> None:
    result = run_cli("docs", "--db", str(seeds_db), "--json")
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(entries) >= 5 and all(e["passages"] > 0 for e in entries)


def test_settings_in_dot_env_apply_to_the_command_line(seeds_db: Path, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"BRIEFBOT_DB={seeds_db}\n", encoding="utf-8")
    result = run_cli("docs", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) >= 5


def _pasted_page(seeds_db: Path) -> tuple[str, dict]:
    """A 10,000-character paste: one document's text, repeated to length, and that document."""
    export = [json.loads(line) for line in run_cli("export", "--db", str(seeds_db), "--json")
              .stdout.splitlines()]  # fmt: skip
    doc = max(export, key=lambda d: len(d["passages"]))
    text = doc["text"]
    return (text * (10_000 // len(text) + 1))[:10_000], doc


def test_search_answers_a_query_of_ten_thousand_characters(seeds_db: Path, tmp_path: Path) -> None:
    pasted, doc = _pasted_page(seeds_db)
    queries = tmp_path / "long.jsonl"
    queries.write_text(json.dumps({"id": "long", "text": pasted}) + "\n", encoding="utf-8")
    result = run_cli("search", "--db", str(seeds_db), "--queries", str(queries), "--json")
    assert result.returncode == 0, result.stderr
    [line] = [json.loads(x) for x in result.stdout.splitlines()]
    assert line["hits"] and line["hits"][0]["doc_id"] == doc["doc_id"]


def test_sources_finds_where_a_pasted_ten_thousand_character_text_comes_from(
    seeds_db: Path,
) -> None:
    pasted, doc = _pasted_page(seeds_db)
    result = run_cli("sources", "--db", str(seeds_db), "--text", "-", "--json", input_=pasted)
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert view["quote"]["doc_id"] == doc["doc_id"]
    assert {"same_elsewhere", "related"} <= view.keys()


def test_start_indexes_the_corpus_then_runs_the_demo_without_a_token(tmp_path: Path) -> None:
    db = tmp_path / "start.db"
    result = run_cli("start", "--db", str(db), "--corpus", str(SEEDS), input_="")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    docs = run_cli("docs", "--db", str(db), "--collection", "shared")
    assert docs.returncode == 0 and docs.stdout.strip(), docs.stderr  # the seeds, shared
