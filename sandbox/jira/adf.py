"""The sandbox Jira Cloud's check of an Atlassian Document Format body, as the real one validates it.

Jira Cloud validates every ADF document it is sent against the ADF JSON schema
(http://go.atlassian.com/adf-json-schema; https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/)
and refuses one that breaks it with 400 INVALID_INPUT. The sandbox checks the nodes and marks
a Jira comment is made of — enough that a malformed node the escalator might send (a mention
without its account id, an attribute the schema does not know, an empty text node) is refused
here as there:

- `mention` (developer.atlassian.com/cloud/jira/platform/apis/document/nodes/mention/): an
  inline node with `attrs`; `attrs.id` (the accountId) is required and a string; `text`,
  `accessLevel`, `localId` strings; `userType` one of DEFAULT, SPECIAL, APP; nothing else, and
  no content or marks;
- `text`: a non-empty `text`, marks from the schema's list; `hardBreak`; the block nodes a
  comment uses (paragraph, heading, lists, code block, quote, rule, panel).

`adf_invalid` returns why a document is refused, or None.
"""

from __future__ import annotations

import re
from typing import Any

_BLOCK = {"paragraph", "heading", "bulletList", "orderedList", "codeBlock", "blockquote", "rule", "panel",
          "mediaSingle", "mediaGroup", "table", "expand"}
_INLINE = {"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status", "mediaInline"}
_INNER = {"listItem", "tableRow", "tableHeader", "tableCell", "media", "nestedExpand"}
_MARKS = {"strong", "em", "code", "strike", "underline", "link", "subsup", "textColor", "backgroundColor"}
_MENTION_ATTRS = {"id", "text", "accessLevel", "userType", "localId"}
_USER_TYPES = {"DEFAULT", "SPECIAL", "APP"}
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def adf_invalid(doc: Any) -> str | None:
    """Why Jira would refuse this ADF document, or None when it is valid."""
    if not isinstance(doc, dict) or doc.get("type") != "doc":
        return "the root is not a doc node"
    if doc.get("version") != 1:
        return "doc.version must be 1"
    if set(doc) - {"type", "version", "content"}:
        return f"doc has unknown properties {sorted(set(doc) - {'type', 'version', 'content'})}"
    return _content(doc.get("content"), "doc", blocks=True)


def _content(content: Any, where: str, *, blocks: bool) -> str | None:
    if not isinstance(content, list):
        return f"{where}.content must be an array"
    for i, node in enumerate(content):
        problem = _node(node, f"{where}.content[{i}]", blocks=blocks)
        if problem:
            return problem
    return None


def _node(node: Any, where: str, *, blocks: bool) -> str | None:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return f"{where} is not a node"
    kind = node["type"]
    if kind not in ((_BLOCK | _INNER) if blocks else _INLINE):
        return f"{where}: a {kind!r} node cannot stand here"
    if kind == "text":
        if not isinstance(node.get("text"), str) or not node["text"]:
            return f"{where}: a text node needs a non-empty text"
        return _marks(node.get("marks"), where)
    if kind == "hardBreak":
        return None
    if kind == "mention":
        return _mention(node, where)
    if kind in _INLINE:
        return None  # the other inline nodes: not used by comments the sandbox checks further
    if "content" in node:
        # a paragraph or heading holds inline nodes; a list, quote or panel holds blocks
        return _content(node["content"], where, blocks=kind not in {"paragraph", "heading", "codeBlock"})
    return None


def _marks(marks: Any, where: str) -> str | None:
    if marks is None:
        return None
    if not isinstance(marks, list):
        return f"{where}.marks must be an array"
    for mark in marks:
        if not isinstance(mark, dict) or mark.get("type") not in _MARKS:
            return f"{where}: unknown mark {mark!r}"
        if mark["type"] == "textColor" and not _COLOUR.match(str((mark.get("attrs") or {}).get("color", ""))):
            return f"{where}: textColor needs attrs.color like #97a0af"
    return None


def _mention(node: dict, where: str) -> str | None:
    if set(node) - {"type", "attrs"}:
        return f"{where}: a mention node takes only type and attrs"
    attrs = node.get("attrs")
    if not isinstance(attrs, dict):
        return f"{where}: a mention node needs attrs"
    if not isinstance(attrs.get("id"), str) or not attrs["id"]:
        return f"{where}: a mention needs attrs.id, the accountId"
    unknown = set(attrs) - _MENTION_ATTRS
    if unknown:
        return f"{where}: unknown mention attrs {sorted(unknown)}"
    for key in ("text", "accessLevel", "localId"):
        if key in attrs and not isinstance(attrs[key], str):
            return f"{where}: mention attrs.{key} must be a string"
    if "userType" in attrs and attrs["userType"] not in _USER_TYPES:
        return f"{where}: mention attrs.userType must be one of {sorted(_USER_TYPES)}"
    return None
