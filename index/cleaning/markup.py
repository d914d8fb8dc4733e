"""Markdown and inline HTML → plain text, link text kept, targets dropped."""

from __future__ import annotations

import html
import re
from functools import lru_cache

_ESCAPABLE = "\\`*_{}[]()#+-.!|<>~"
_ESCAPED_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
_IMAGE_RE = re.compile(r"!\[[^\]]*\]\((?:[^()]|\([^)]*\))*\)")
_LINK_RE = re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)")
_REF_LINK_RE = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK_RE = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_STRONG_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EM_STAR_RE = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_EM_UNDERSCORE_RE = re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
_STRIKE_RE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_CODE_RE = re.compile(r"`([^`]+)`")
HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+")
_LIST_MARK_RE = re.compile(r"^(?:[-+•▪◦]\s+|\*\s+(?=\S)|\d{1,2}[.)]\s+(?=[A-Z]))")
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def _protect(match: re.Match[str]) -> str:
    return chr(0xE000 + ord(match.group(1)))


_PROTECTED_RE = re.compile("[\ue000-\ue07f]")


def _restore(text: str) -> str:
    return _PROTECTED_RE.sub(lambda m: chr(ord(m.group()) - 0xE000), text)


@lru_cache(maxsize=16384)
def strip_markup(line: str) -> str:
    """One line of markdown/HTML → plain text, keeping link text and dropping link targets."""
    text = _INVISIBLE_RE.sub("", line).replace("\u00a0", " ").strip()
    text = _ESCAPED_RE.sub(_protect, text)
    text = HEADING_RE.sub("", text)
    text = re.sub(r"\s+#+\s*$", "", text)
    text = re.sub(r"^(?:>\s?)+", "", text)
    text = _IMAGE_RE.sub("", text)
    text = _LINK_RE.sub(r"\1", text)
    text = _REF_LINK_RE.sub(r"\1", text)
    text = _AUTOLINK_RE.sub(r"\1", text)
    text = _TAG_RE.sub("", text)
    text = html.unescape(text)
    for pattern in (_STRONG_RE, _STRONG_RE):  # twice: bold nested in bold-italic
        text = pattern.sub(r"\2", text)
    text = _EM_STAR_RE.sub(r"\1", text)
    text = _EM_UNDERSCORE_RE.sub(r"\1", text)
    text = _STRIKE_RE.sub(r"\1", text)
    text = _CODE_RE.sub(r"\1", text)
    text = _LIST_MARK_RE.sub("", text.strip())
    text = _restore(text)
    return re.sub(r"\s+", " ", text).strip()


_LINKED_NAME_RE = re.compile(
    r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)|<(?:u|a|b|strong|em|i|span)\b[^>]*>(.*?)</(?:u|a|b|strong|em|i|span)>",
    re.IGNORECASE,
)
_NAME_GLUE_RE = re.compile(r"^(?:\s|,|&|;|\band\b|\*\*|\*)*$", re.IGNORECASE)


def linked_names_after_by(raw: str) -> list[str]:
    """Names a byline gives as links (``By [A](#) and [B](#)``), in order, or ``[]``."""
    head = re.match(r"^\s*(?:#+\s*)?(?:\*\*)?\s*(?:written\s+)?by\b:?\s*", raw, re.IGNORECASE)
    if not head:
        return []
    names: list[str] = []
    position = head.end()
    for match in _LINKED_NAME_RE.finditer(raw, position):
        if not _NAME_GLUE_RE.match(raw[position : match.start()]):
            break
        name = strip_markup(match.group(1) or match.group(2) or "")
        if name:
            names.append(name)
        position = match.end()
    return names
