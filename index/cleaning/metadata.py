"""What a page declares about itself: front matter, scraper headers, info lists, JSON blobs.

``read_declared`` lifts those blocks out of the page text, so they never reach passages, and
leaves every other line as it was. Keys are the general vocabulary of front matter, scrapers
and JSON-LD (the shared Schema vocabulary), never the names of one site.
"""

from __future__ import annotations

import html
import json
import re
import tomllib
from collections.abc import Iterator
from typing import Any

from index.cleaning.articles import PageMeta, names_of
from index.cleaning.dates import normalise_date
from index.cleaning.markup import strip_markup

# Normalised key (lower case, letters and digits only) → the field it declares.
_FIELDS: dict[str, str] = {
    **dict.fromkeys(["title", "headline", "articletitle", "ogtitle", "pagetitle"], "title"),
    **dict.fromkeys(
        [
            "url",
            "urlsource",
            "link",
            "sourceurl",
            "canonical",
            "canonicalurl",
            "permalink",
            "originalurl",
            "articleurl",
            "originallink",
        ],
        "url",
    ),
    **dict.fromkeys(
        [
            "date",
            "published",
            "publishedtime",
            "publishedat",
            "publishedon",
            "publishdate",
            "publicationdate",
            "datepublished",
            "pubdate",
            "posted",
            "postedat",
            "postedon",
        ],
        "published",
    ),
    **dict.fromkeys(
        ["author", "authors", "byline", "writer", "writers", "writtenby", "creator", "creators"],
        "authors",
    ),
    **dict.fromkeys(
        ["site", "sitename", "publisher", "domain", "website", "publication", "outlet"], "site"
    ),
    # "source" is a URL or a site name, decided by its value
    "source": "source",
}
# Keys a scraper writes that say nothing a reader cites (or not the publication date).
_IGNORED = frozenset(
    [
        "fetchedat",
        "fetched",
        "fetchdate",
        "scrapedat",
        "scraped",
        "crawledat",
        "crawled",
        "retrieved",
        "retrievedat",
        "accessed",
        "accessedat",
        "downloadedat",
        "description",
        "summary",
        "subtitle",
        "excerpt",
        "tags",
        "categories",
        "category",
        "keywords",
        "language",
        "lang",
        "updated",
        "lastmodified",
        "modified",
        "datemodified",
        "image",
        "thumbnail",
        "type",
        "id",
        "slug",
        "layout",
        "draft",
        "wordcount",
        "readingtime",
        "markdowncontent",
        "content",
    ]
)
# A scraper header that only a tool writes, never a page: enough on its own to mark a header.
_TOOL_KEYS = frozenset(["urlsource", "publishedtime", "markdowncontent"])
# Headings that label a block of declared metadata, or the body after it.
_INFO_HEADINGS = frozenset(
    ["information", "info", "metadata", "meta", "details", "articleinfo", "articledetails"]
)
_BODY_HEADINGS = frozenset(["article", "content", "body", "text", "markdowncontent", "articletext"])
_URL_HEADINGS = frozenset(
    ["url", "link", "source", "sourceurl", "originalurl", "original", "canonical", "permalink"]
)

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*(?P<text>.*?)\s*#*\s*$")
_KEY_LINE = re.compile(
    r"^\s*(?:[-+*•]\s+)?(?:\*\*|__)?(?P<key>[A-Za-z][\w \-]{0,30}?)\s*(?:\*\*|__)?\s*:\s*"
    r"(?:\*\*|__)?\s*(?P<value>.*?)\s*$"
)
_LIST_KEY_LINE = re.compile(r"^\s*[-+*•]\s+")
_URL = re.compile(r"https?://[^\s<>\"'\])]+[^\s<>\"'\]).,;:!?]")
_LINK_TARGET = re.compile(r"\]\((?P<url>https?://[^)\s]+)\)")
_FRONT_FENCES = {"---": ("---", "..."), "+++": ("+++",)}
_HEADER_SCAN_LINES = 40
_ARTICLE_TYPE = re.compile(r"article|posting|report|newsletter|blog", re.IGNORECASE)


def read_declared(raw: str) -> tuple[PageMeta, str]:
    """The metadata a page declares, and the page text with those blocks removed."""
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    fields, drop = _front_matter(lines)
    found = [fields]
    after_front = max(drop) + 1 if drop else 0
    for take in (_header_lines, _info_lists, _url_sections, _json_blobs):
        fields, dropped = take(lines, after_front)
        found.append(fields)
        drop |= dropped
    meta = PageMeta()
    for fields in found:
        _fill(meta, fields)
    kept = [line for index, line in enumerate(lines) if index not in drop]
    return meta, "\n".join(kept)


def key_of(text: str) -> str:
    """A key as compared: lower case, letters and digits only ("URL Source" → "urlsource")."""
    return re.sub(r"[^a-z0-9]", "", strip_markup(text).lower())


def url_in(value: str) -> str | None:
    """The URL a value holds: a markdown link's target, an ``<autolink>`` or a bare URL."""
    target = _LINK_TARGET.search(value)
    if target:
        return target.group("url")
    bare = _URL.search(value)
    return bare.group() if bare else None


def _fill(meta: PageMeta, fields: dict[str, Any]) -> None:
    """Set the fields of ``meta`` still empty from one block's declared ``fields``."""
    title = fields.get("title")
    if isinstance(title, str) and not meta.title:
        meta.title = html.unescape(strip_markup(title))
    url = fields.get("url")
    if isinstance(url, str) and not meta.url:
        meta.url = url_in(url)
    source = fields.get("source")
    if isinstance(source, str):
        if url_in(source) and not meta.url:
            meta.url = url_in(source)
        elif not url_in(source) and not meta.site and strip_markup(source):
            meta.site = strip_markup(source)
    published = fields.get("published")
    if published is not None and meta.published is None:
        meta.published = normalise_date(str(published))
    authors = fields.get("authors")
    if authors and not meta.authors:
        meta.authors = tuple(names_of(authors))
    site = fields.get("site")
    if isinstance(site, str) and not meta.site and strip_markup(site):
        meta.site = strip_markup(site)


def _field(key: str) -> str | None:
    return _FIELDS.get(key_of(key))


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value


def _front_matter(lines: list[str]) -> tuple[dict[str, Any], set[int]]:
    """YAML (``---``) or TOML (``+++``) front matter opening the page."""
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None or lines[start].strip() not in _FRONT_FENCES:
        return {}, set()
    fence = lines[start].strip()
    end = next(
        (
            i
            for i in range(start + 1, min(len(lines), start + 200))
            if lines[i].strip() in _FRONT_FENCES[fence]
        ),
        None,
    )
    if end is None:
        return {}, set()
    body = lines[start + 1 : end]
    data = _toml(body) if fence == "+++" else _yaml(body)
    if not data:
        return {}, set()
    fields: dict[str, Any] = {}
    for key, value in data.items():
        field = _field(key)
        if field and field not in fields and value not in (None, "", []):
            fields[field] = value
    return fields, set(range(start, end + 1))


def _toml(body: list[str]) -> dict[str, Any]:
    try:
        return tomllib.loads("\n".join(body))
    except tomllib.TOMLDecodeError:
        return {}


def _yaml(body: list[str]) -> dict[str, Any]:
    """The flat ``key: value`` mapping of YAML front matter (lists of scalars included)."""
    data: dict[str, Any] = {}
    current: str | None = None
    for line in body:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = re.match(r"^\s+-\s+(?P<value>.+)$|^-\s+(?P<top>.+)$", line)
        if item and current is not None:
            value = _scalar(item.group("value") or item.group("top"))
            previous = data.get(current)
            data[current] = [*previous, value] if isinstance(previous, list) else [value]
            continue
        pair = re.match(r"^(?P<key>[A-Za-z_][\w\-. ]*?)\s*:\s*(?P<value>.*)$", line)
        if pair is None:
            if line.startswith((" ", "\t")):
                continue  # a nested mapping or a folded value: not a field we read
            return {}
        current = pair.group("key")
        value = pair.group("value").strip()
        if value.startswith("[") and value.endswith("]"):
            data[current] = [_scalar(v) for v in value[1:-1].split(",") if v.strip()]
        elif value in ("", "|", ">", "|-", ">-"):
            data[current] = []
        else:
            data[current] = _scalar(value)
    return data


def _header_lines(lines: list[str], start: int) -> tuple[dict[str, Any], set[int]]:
    """``Title:`` / ``URL Source:`` / ``Published Time:`` lines a scraper puts atop a page."""
    fields: dict[str, Any] = {}
    dropped: set[int] = set()
    keys: list[str] = []
    headings = 0
    for index in range(start, min(len(lines), start + _HEADER_SCAN_LINES)):
        line = lines[index]
        if not line.strip():
            continue
        if _HEADING.match(line) and headings == 0 and not _LIST_KEY_LINE.match(line):
            headings += 1  # the title a converter repeats as a heading stays in the text
            continue
        match = _KEY_LINE.match(line)
        if not match or _LIST_KEY_LINE.match(line):
            break
        key = key_of(match.group("key"))
        value = match.group("value")
        if key not in _FIELDS and (key in _IGNORED or key in _TOOL_KEYS):
            keys.append(key)
            dropped.add(index)
            continue
        field = _FIELDS.get(key)
        if field is None or not value:
            break
        if field == "url" and not url_in(value):
            break
        fields.setdefault(field, value)
        keys.append(key)
        dropped.add(index)
    lone_url = (
        len(keys) == 1
        and keys[0] in ("source", "url", "link")
        and url_in(str(fields.get("source") or fields.get("url") or ""))
    )
    if len(keys) >= 2 or lone_url or any(key in _TOOL_KEYS for key in keys):
        return fields, dropped
    return {}, set()


def _info_lists(lines: list[str], start: int) -> tuple[dict[str, Any], set[int]]:
    """A ``## Information`` / ``## Metadata`` heading over ``+ Key: value`` list items.

    Near the top of the page a run of two or more such items needs no heading.
    """
    fields: dict[str, Any] = {}
    dropped: set[int] = set()
    index = start
    while index < len(lines):
        heading = _HEADING.match(lines[index])
        end, items = index + 1, dict[str, Any]()
        if heading and key_of(heading.group("text")) in _INFO_HEADINGS:
            end, items = _key_items(lines, index + 1)
        elif _LIST_KEY_LINE.match(lines[index]) and index < start + _HEADER_SCAN_LINES:
            end, items = _key_items(lines, index)
            if len(items) < 2:
                items = {}
        if not items:
            index = max(end, index + 1)
            continue
        for key, value in items.items():
            fields.setdefault(key, value)
        dropped |= set(range(index, end))
        after = next((i for i in range(end, len(lines)) if lines[i].strip()), None)
        if after is not None:
            body = _HEADING.match(lines[after])
            if body and key_of(body.group("text")) in _BODY_HEADINGS:
                dropped.add(after)  # the "## Article:" label over the body
        index = end
    return fields, dropped


def _key_items(lines: list[str], start: int) -> tuple[int, dict[str, Any]]:
    """The ``- **Key**: value`` list items from ``start`` (blank lines between allowed)."""
    fields: dict[str, Any] = {}
    index = start
    end = start
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        match = _KEY_LINE.match(line) if _LIST_KEY_LINE.match(line) else None
        if not match:
            break
        key = key_of(match.group("key"))
        field = _FIELDS.get(key)
        if field is None and key not in _IGNORED:
            break
        if field is not None and match.group("value"):
            fields.setdefault(field, match.group("value"))
        index += 1
        end = index
    return end, fields


def _url_sections(lines: list[str], start: int) -> tuple[dict[str, Any], set[int]]:
    """A ``## URL`` (or Link/Source) section that holds one URL and nothing else."""
    for index in range(start, len(lines)):
        heading = _HEADING.match(lines[index])
        if not heading or key_of(heading.group("text")) not in _URL_HEADINGS:
            continue
        body = [i for i in range(index + 1, len(lines)) if lines[i].strip()]
        content: list[int] = []
        for i in body:
            if _HEADING.match(lines[i]):
                break
            content.append(i)
        if len(content) != 1:
            continue
        value = lines[content[0]].strip()
        url = url_in(value)
        if url and len(strip_markup(value).split()) <= 2:
            return {"url": url}, {index, content[0]}
    return {}, set()


def _json_blobs(lines: list[str], start: int) -> tuple[dict[str, Any], set[int]]:
    """A JSON object (JSON-LD or an export's record) in the text with article metadata."""
    text = "\n".join(lines)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    decoder = json.JSONDecoder()
    for index in range(start, len(lines)):
        line = lines[index]
        stripped = line.lstrip()
        if not stripped.startswith(("{", "[{", "[ {")):
            continue
        position = starts[index] + len(line) - len(stripped)
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            continue
        fields = json_fields(value)
        if not fields:
            continue
        last = next(i for i in range(index, len(lines)) if starts[i + 1] > end - 1)
        if text[end : starts[last + 1]].strip():
            continue  # the object shares its last line with text: not a blob of its own
        return fields, set(range(index, last + 1))
    return {}, set()


def json_fields(value: Any) -> dict[str, Any]:
    """Title/authors/date/url/site of the article objects in a JSON value, most specific first."""
    fields: dict[str, Any] = {}
    for obj in sorted(_objects(value), key=_article_rank):
        if _article_rank(obj) >= 3:
            break
        picks = {
            "title": obj.get("headline") or obj.get("title"),
            "authors": _json_authors(obj),
            "published": obj.get("datePublished")
            or obj.get("published")
            or obj.get("publishedAt")
            or obj.get("published_at")
            or obj.get("pubDate")
            or obj.get("date"),
            "url": _json_url(obj),
            "site": _json_name(obj.get("publisher")),
        }
        if _article_rank(obj) == 2 and not (picks["authors"] or picks["published"]):
            continue
        for key, pick in picks.items():
            if pick and key not in fields and (key != "title" or isinstance(pick, str)):
                fields[key] = pick
    return fields


def _article_rank(obj: dict[str, Any]) -> int:
    """0: an article by type; 1: has a headline; 2: title plus author/date keys; 3: other."""
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    if any(isinstance(k, str) and _ARTICLE_TYPE.search(k) for k in kinds):
        return 0
    if isinstance(obj.get("headline"), str):
        return 1
    keys = {key_of(k) for k in obj}
    if "title" in keys and keys & {"author", "authors", "datepublished", "published"}:
        return 2
    return 3


def _objects(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 6:
        return
    if isinstance(value, dict):
        yield value
        for child in value.values():
            if isinstance(child, (dict, list)):
                yield from _objects(child, depth + 1)
    elif isinstance(value, list):
        for child in value:
            yield from _objects(child, depth + 1)


def _json_name(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return value["name"].strip() or None
    return None


def _json_authors(obj: dict[str, Any]) -> list[str]:
    value = obj.get("author") or obj.get("authors") or obj.get("creator")
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        name = _json_name(item)
        if name and not url_in(name):
            names.append(name)
    return names


def _json_url(obj: dict[str, Any]) -> str | None:
    for key in ("url", "canonical", "mainEntityOfPage"):
        value = obj.get(key)
        if isinstance(value, dict):
            value = value.get("@id")
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None


def script_json_fields(scripts: list[str]) -> dict[str, Any]:
    """Article metadata from JSON in page scripts: JSON-LD, or ``x = {...}`` data objects."""
    decoder = json.JSONDecoder()
    merged: dict[str, Any] = {}
    ranked: list[tuple[int, dict[str, Any]]] = []
    for script in scripts:
        if not re.search(r'"(?:headline|author|datePublished)"', script):
            continue
        body = script.strip()
        candidates = [0] if body.startswith(("{", "[")) else []
        candidates += [m.end() - 1 for m in re.finditer(r"[=(:,]\s*\{", body)]
        for position in candidates:
            try:
                value, _ = decoder.raw_decode(body, position)
            except json.JSONDecodeError:
                continue
            fields = json_fields(value)
            if fields:
                rank = min(_article_rank(o) for o in _objects(value))
                ranked.append((rank, fields))
                if position == 0:
                    break
    for _, fields in sorted(ranked, key=lambda pair: pair[0]):
        for key, value in fields.items():
            merged.setdefault(key, value)
    return merged


def fill_from_fields(meta: PageMeta, fields: dict[str, Any]) -> None:
    """Set the still-empty fields of ``meta`` from declared fields (as ``json_fields`` gives)."""
    _fill(meta, fields)
