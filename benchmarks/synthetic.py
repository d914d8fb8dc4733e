"""Synthetic news for scale benchmarks: realistic three-sentence passages, random unit vectors.

Everything is drawn from one seeded generator, so a size and a seed always give the same
corpus. Words follow a Zipf-like law within topics (a few names recur, most are rare), which
is what makes bm25 posting lists long or short the way real news does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from benchmarks.bulk import bulk_load
from index.models import Document
from index.pipeline import content_hash
from index.store import NewPassage, Store

PASSAGES_PER_DOCUMENT = 8

_PLACES = [
    "China",
    "Russia",
    "Ukraine",
    "Taiwan",
    "India",
    "Japan",
    "Korea",
    "Iran",
    "Israel",
    "Gaza",
    "Syria",
    "Turkey",
    "Egypt",
    "Nigeria",
    "Kenya",
    "Ethiopia",
    "Brazil",
    "Argentina",
    "Mexico",
    "Canada",
    "Germany",
    "France",
    "Italy",
    "Spain",
    "Poland",
    "Hungary",
    "Britain",
    "Ireland",
    "Sweden",
    "Norway",
    "Finland",
    "Estonia",
    "Serbia",
    "Georgia",
    "Armenia",
    "Azerbaijan",
    "Kazakhstan",
    "Pakistan",
    "Afghanistan",
    "Indonesia",
    "Vietnam",
    "Philippines",
    "Australia",
    "Beijing",
    "Moscow",
    "Kyiv",
    "Taipei",
    "Delhi",
    "Tokyo",
    "Seoul",
    "Tehran",
    "Ankara",
    "Cairo",
    "Lagos",
    "Nairobi",
    "Brussels",
    "Berlin",
    "Paris",
    "Warsaw",
    "London",
    "Washington",
    "Geneva",
    "Vienna",
    "Singapore",
    "Jakarta",
    "Manila",
    "Canberra",
    "Ottawa",
    "Brasilia",
]
_ORGS = [
    "NATO",
    "EU",
    "UN",
    "IMF",
    "WTO",
    "OPEC",
    "ASEAN",
    "G7",
    "G20",
    "BRICS",
    "Kremlin",
    "Pentagon",
    "Commission",
    "Parliament",
    "Senate",
    "Congress",
    "Treasury",
    "Fed",
    "ECB",
    "Politburo",
    "ministry",
    "regulator",
    "cabinet",
    "tribunal",
    "council",
]
_TOPICS = {
    "trade": "tariffs exports imports trade deal quota surplus deficit customs supply chain "
    "shipping port container freight semiconductor chips rare earths",
    "energy": "oil gas pipeline LNG refinery crude barrel output sanctions price cap "
    "electricity grid nuclear reactor coal solar wind turbine",
    "security": "military troops drills missile drone border ceasefire offensive artillery "
    "navy warship airspace alliance deterrence treaty arms",
    "economy": "inflation interest rates bond yields currency recession growth unemployment "
    "wages budget debt stimulus bank lending housing",
    "diplomacy": "summit talks envoy minister visit communique partnership agreement "
    "negotiations delegation embassy sanctions relations cooperation",
    "technology": "AI model chips export controls cloud data privacy cyberattack hackers "
    "satellite telecom startup software platform regulation",
    "climate": "emissions carbon drought floods heatwave wildfire climate targets finance "
    "adaptation glacier rainfall harvest",
    "health": "vaccine outbreak hospital virus WHO doctors patients drug trial pandemic "
    "malaria cholera funding",
    "politics": "election vote coalition opposition protest parliament president premier "
    "campaign ballot reform court ruling constitution",
    "markets": "stocks shares index investors earnings profit merger acquisition IPO bonds "
    "commodities gold copper wheat futures",
}
_VERBS = [
    "said",
    "announced",
    "warned",
    "agreed",
    "rejected",
    "signed",
    "urged",
    "denied",
    "confirmed",
    "pledged",
    "accused",
    "approved",
    "blocked",
    "criticised",
    "welcomed",
    "proposed",
    "launched",
    "suspended",
    "expanded",
    "cut",
    "raised",
]
_PEOPLE = [
    "officials",
    "analysts",
    "diplomats",
    "economists",
    "lawmakers",
    "ministers",
    "executives",
    "traders",
    "spokespeople",
    "negotiators",
    "researchers",
    "observers",
    "investors",
]
_TIMES = [
    "on Monday",
    "on Tuesday",
    "on Wednesday",
    "on Thursday",
    "on Friday",
    "over the weekend",
    "last week",
    "this month",
    "earlier this year",
    "in recent days",
    "late on Sunday",
]
_QUALIFIERS = [
    "sharply",
    "modestly",
    "for the first time",
    "amid rising tensions",
    "despite objections",
    "after months of talks",
    "under pressure from allies",
    "in a surprise move",
    "as expected",
    "for a second year",
]

_TEMPLATES = (
    "{Place} {verb} {time} that {topic1} and {topic2} with {place2} would be reviewed {qual}.",
    "{People} in {place} said the {org} was weighing new {topic1} measures {time}.",
    "The {org} {verb} a plan on {topic1} {qual}, citing {topic2} concerns in {place}.",
    "{Place} and {place2} {verb} {topic1} talks {time}, {people} said.",
    "According to {people}, {topic1} in {place} rose {qual} while {topic2} fell.",
    "A report by the {org} {verb} that {topic1} risks for {place} remain high.",
    "{People} expect {topic1} to dominate the agenda when {place} hosts {place2} {time}.",
    "The dispute over {topic1} between {place} and {place2} deepened {qual}.",
)

QUERIES = (
    "sino-russian energy partnership",
    "China Russia gas pipeline",
    "tariffs on semiconductor exports",
    "Ukraine ceasefire talks",
    "inflation interest rates ECB",
    "NATO troops border drills",
    "oil price cap sanctions",
    "rare earths supply chain",
    "Taiwan military drills navy",
    "IMF debt Argentina",
    "election protest opposition court",
    "AI regulation export controls chips",
    "climate finance emissions targets",
    "vaccine outbreak WHO funding",
    "Iran nuclear talks envoy",
    "Gaza ceasefire negotiations",
    "India Pakistan border",
    "LNG exports Europe winter",
    "bond yields recession fears",
    "OPEC output cut crude",
    "cyberattack hackers ministry",
    "drought harvest wheat futures",
    "merger acquisition investors shares",
    "Brazil election ballot",
    "Germany coalition budget",
    "Japan Korea summit",
    "Kremlin sanctions banks",
    "Beijing trade surplus",
    "Pentagon missile drone",
    "ASEAN shipping port freight",
    "Turkey currency inflation",
    "Nigeria oil refinery",
    "floods heatwave wildfire",
    "Fed stimulus housing lending",
    "satellite telecom startup",
    "gold copper commodities",
    "Poland Hungary EU funding",
    "G20 summit communique",
    "Kazakhstan Azerbaijan pipeline",
    "nuclear reactor electricity grid",
    "wages unemployment growth",
    "Serbia Kosovo relations",
    "data privacy platform regulation",
    "malaria cholera hospital",
    "Canada Mexico customs quota",
    "Vietnam Philippines warship",
    "BRICS currency cooperation",
    "Congress Treasury debt",
    "Australia China relations trade",
    "Egypt Ethiopia dam talks",
)


@dataclass(frozen=True)
class SyntheticCorpus:
    """A deterministic corpus of ``passages`` passages in documents of eight."""

    passages: int
    dim: int = 384
    seed: int = 6

    @property
    def documents(self) -> int:
        return -(-self.passages // PASSAGES_PER_DOCUMENT)

    def _sentences(self, rng: np.random.Generator, count: int) -> list[str]:
        topics = list(_TOPICS.values())
        topic_words = [t.split() for t in topics]
        zipf_places = np.minimum(rng.zipf(1.3, size=(count, 2)) - 1, len(_PLACES) - 1)
        topic_ids = rng.integers(0, len(topics), size=count)
        picks = rng.integers(0, 1 << 30, size=(count, 8))
        out = []
        for i in range(count):
            words = topic_words[topic_ids[i]]
            p = picks[i]
            place = _PLACES[(zipf_places[i, 0] + p[0]) % len(_PLACES)]
            place2 = _PLACES[(zipf_places[i, 1] + p[1]) % len(_PLACES)]
            template = _TEMPLATES[p[2] % len(_TEMPLATES)]
            out.append(
                template.format(
                    Place=place,
                    place=place,
                    place2=place2,
                    verb=_VERBS[p[3] % len(_VERBS)],
                    time=_TIMES[p[4] % len(_TIMES)],
                    topic1=words[p[5] % len(words)],
                    topic2=words[p[6] % len(words)],
                    qual=_QUALIFIERS[p[7] % len(_QUALIFIERS)],
                    org=_ORGS[p[0] % len(_ORGS)],
                    people=_PEOPLE[p[1] % len(_PEOPLE)],
                    People=_PEOPLE[p[1] % len(_PEOPLE)].capitalize(),
                ).replace("  ", " ")
            )
        return out

    def passage_texts(self, limit: int | None = None) -> list[str]:
        """The first ``limit`` passage texts (for encoding benchmarks)."""
        rng = np.random.default_rng(self.seed)
        count = min(limit or self.passages, self.passages)
        sentences = self._sentences(rng, count * 3)
        return [" ".join(sentences[i * 3 : i * 3 + 3]) for i in range(count)]

    def batches(
        self, batch_documents: int = 2_000
    ) -> Iterator[tuple[list[tuple[Document, str]], list[NewPassage]]]:
        """(documents with content hashes, their passages with unit vectors), batch by batch."""
        rng = np.random.default_rng(self.seed)
        vector_rng = np.random.default_rng(self.seed + 1)
        made = 0
        doc_number = 0
        while made < self.passages:
            count = min(batch_documents * PASSAGES_PER_DOCUMENT, self.passages - made)
            sentences = self._sentences(rng, count * 3)
            vectors = vector_rng.standard_normal((count, self.dim), dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            documents: list[tuple[Document, str]] = []
            passages: list[NewPassage] = []
            for first in range(0, count, PASSAGES_PER_DOCUMENT):
                doc_id = f"syn{doc_number:07d}"
                day = 1 + doc_number % 365
                texts = [
                    " ".join(sentences[(first + j) * 3 : (first + j) * 3 + 3])
                    for j in range(min(PASSAGES_PER_DOCUMENT, count - first))
                ]
                text = "\n\n".join(texts)
                title = sentences[first * 3].split(",")[0].rstrip(".")[:90]
                doc = Document(
                    doc_id=doc_id,
                    source_id=doc_id,
                    text=text,
                    title=title,
                    published=f"2025-{1 + (day - 1) // 31 % 12:02d}-{1 + (day - 1) % 28:02d}",
                    site=f"news{doc_number % 40}.example",
                )
                documents.append((doc, content_hash(doc)))
                start = 0
                for j, passage_text in enumerate(texts):
                    end = start + len(passage_text)
                    passages.append(
                        NewPassage(doc_id, j, start, end, passage_text, vectors[first + j])
                    )
                    start = end + 2
                doc_number += 1
            made += count
            yield documents, passages

    def load_into(self, store: Store, *, defer_fts: bool = False) -> int:
        """Bulk-load the corpus into ``store``, one transaction per batch; returns passages."""
        written = 0
        for documents, passages in self.batches(batch_documents=20_000):
            written += bulk_load(store, documents, passages, defer_fts=defer_fts)
        return written

    def query_vectors(self, count: int) -> np.ndarray:
        """Random unit query vectors (dense search over random data has no better truth)."""
        rng = np.random.default_rng(self.seed + 2)
        vectors = rng.standard_normal((count, self.dim), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
