"""A synthetic news corpus that grows week by week (BBC-like topics, made-up sentences).

Each week's articles go into their own JSONL file, so indexing the corpus folder after each
week adds exactly that week's documents, as a running bot's hourly re-scan would.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

TOPICS = {
    "football": ["league title", "cup final", "transfer window", "penalty shootout",
                 "injury list", "home crowd", "youth academy"],
    "markets": ["interest rates", "share prices", "quarterly profits", "oil prices",
                "central bank", "bond yields", "trade deficit"],
    "elections": ["general election", "opposition leader", "party conference", "tax plans",
                  "polling day", "campaign trail", "postal votes"],
    "technology": ["mobile phones", "broadband speeds", "video games", "software firms",
                   "online security", "search engines", "digital music"],
}  # fmt: skip
PLACES = ["London", "Manchester", "Leeds", "Glasgow", "Cardiff", "Bristol", "Belfast"]
SITES = ["daily-herald.example", "northern-post.example", "the-courier.example",
         "city-times.example", "evening-wire.example"]  # fmt: skip
STANDALONE = [
    "Officials said the {a} and the {b} shaped the {c}.",
    "Analysts expect the {a} to change the {b} and the {c}.",
    "The {a} surprised {place} before the {b} and the {c}.",
    "Critics argued the {a} ignored the {b} and the {c}.",
    "Residents of {place} called the {a} and the {b} vital to the {c}.",
    "The {a} lifted the {b} while the {c} stalled.",
]
LEANING = ["But the {a} remains uncertain.", "This was not the first time.", "So nothing moved."]


def article(rng: random.Random, topic: str, number: int) -> dict[str, str]:
    """One article: a headline and three short paragraphs on ``topic``."""
    phrases = TOPICS[topic]
    paragraphs = []
    for _ in range(3):
        sentences = []
        for template in [*rng.sample(STANDALONE, 2), rng.choice(LEANING)]:
            a, b, c = rng.sample(phrases, 3)
            sentences.append(template.format(a=a, b=b, c=c, place=rng.choice(PLACES)))
        paragraphs.append(" ".join(sentences))
    a, b = rng.sample(phrases, 2)
    return {
        "id": f"{topic}-{number:03d}",
        "title": f"{a.capitalize()} and {b} in {rng.choice(PLACES)}",
        "text": "\n\n".join(paragraphs),
        "site": rng.choice(SITES),
    }


def write_week(folder: Path, week: int, count: int, topics: list[str], seed: int = 11) -> list[str]:
    """Write week ``week``'s ``count`` articles (cycling through ``topics``); their ids."""
    rng = random.Random(seed * 1000 + week)
    docs = [article(rng, topics[i % len(topics)], week * 100 + i) for i in range(count)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"week-{week}.jsonl").write_text(
        "".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8"
    )
    return [d["id"] for d in docs]
