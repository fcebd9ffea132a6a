"""Note bodies for Jira: Atlassian Document Format (Cloud, REST v3) and wiki markup (DC, v2).

Every note the escalator writes ends with its marker line (`connectors.base.marker_text`)
in small grey text, so people can ignore it and the connector can find it again before
writing twice. `body_text` turns either body format back into plain text for that search.

ADF: https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/ —
paragraphs of text nodes, `hardBreak` for a line break, the `textColor` mark for colour, and
for a person the `mention` node (attrs `id`, the accountId, required; `text`, "@" and the
display name, what readers see; developer.atlassian.com/cloud/jira/platform/apis/document/nodes/mention/):
Jira shows it as the person's name and tells them they were mentioned.
Wiki markup: https://jira.atlassian.com/secure/WikiRendererHelpAction.jspa — `{color:#hex}`
for colour, a backslash before characters that would otherwise format, and `[~username]` for
a person (Data Center keys users by their name; it renders the display name and notifies).
"""

from __future__ import annotations

import re
from typing import Any

from connectors.base import Person, marker_text, plain, split_mentions

#: The marker line's colour: Atlassian's "subtlest" text grey.
MARKER_COLOUR = "#97a0af"

_WIKI_SPECIAL = re.compile(r"([\\\[\]{}|*_+^~#-])")


def _paragraphs(text: str) -> list[list[str]]:
    """Blank lines separate paragraphs; single newlines are line breaks inside one."""
    blocks = re.split(r"\n\s*\n", text.strip())
    return [block.split("\n") for block in blocks if block.strip()]


def adf_doc(text: str) -> dict:
    """An ADF document of plain text (e.g. the description of an issue the escalator files)."""
    doc = adf_note(text, "")
    doc["content"].pop()  # no marker line
    return doc


def adf_mention(person: Person) -> dict:
    """A person as an ADF mention node: the accountId, and the name readers see."""
    return {"type": "mention", "attrs": {"id": person.key, "text": f"@{person.shown}"}}


def _inline(line: str) -> list[dict]:
    """One line of a note as ADF inline nodes: text, and a mention node for each person."""
    return [adf_mention(part) if isinstance(part, Person) else {"type": "text", "text": part}
            for part in split_mentions(line)]


def adf_note(text: str, marker: str) -> dict:
    """An ADF document: the text, then the marker line in grey."""
    content: list[dict] = []
    for lines in _paragraphs(text):
        nodes: list[dict] = []
        for i, line in enumerate(lines):
            if i:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes += _inline(line)
        content.append({"type": "paragraph", "content": nodes})
    content.append({"type": "paragraph", "content": [{
        "type": "text", "text": marker_text(marker),
        "marks": [{"type": "textColor", "attrs": {"color": MARKER_COLOUR}}],
    }]})
    return {"type": "doc", "version": 1, "content": content}


def wiki_escape(text: str) -> str:
    """Plain text as wiki markup: every formatting character escaped (a mention becomes the name)."""
    return _WIKI_SPECIAL.sub(r"\\\1", plain(text))


def wiki_line(text: str) -> str:
    """A line of a note as wiki markup: the text escaped, each person as `[~username]`."""
    return "".join(f"[~{part.key}]" if isinstance(part, Person) else _WIKI_SPECIAL.sub(r"\\\1", part)
                   for part in split_mentions(text))


def wiki_body(text: str) -> str:
    """A text of paragraphs as wiki markup (an issue's description the escalator files)."""
    return "\n\n".join("\n".join(wiki_line(line) for line in lines) for lines in _paragraphs(text))


def wiki_note(text: str, marker: str) -> str:
    """A wiki-markup body: the text, escaped, then the marker line in grey."""
    body = wiki_body(text)
    # the marker only needs its brackets escaped (else `[...]` is a link), and stays greppable
    mark = marker_text(marker).replace("[", "\\[").replace("]", "\\]")
    return f"{body}\n\n{{color:{MARKER_COLOUR}}}{mark}{{color}}"


def adf_text(node: Any) -> str:
    """The plain text of an ADF node (or document), paragraphs on their own lines."""
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text") or "")
    if node.get("type") == "hardBreak":
        return "\n"
    if node.get("type") == "mention":
        return str((node.get("attrs") or {}).get("text") or "")
    inner = "".join(adf_text(child) for child in node.get("content") or [])
    if node.get("type") in {"paragraph", "heading", "codeBlock", "listItem", "blockquote"}:
        return inner + "\n"
    return inner


def wiki_text(body: str) -> str:
    """Wiki markup with its escapes and colour macros undone: close enough to the text."""
    body = re.sub(r"\{color(?::[^}]*)?\}", "", body)
    return re.sub(r"\\(.)", r"\1", body)


def body_text(body: Any) -> str:
    """Plain text of a comment or description body in either format (None -> '')."""
    if body is None:
        return ""
    if isinstance(body, str):
        return wiki_text(body)
    return adf_text(body)
