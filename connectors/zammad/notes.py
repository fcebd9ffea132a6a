"""Note bodies for Zammad articles: HTML carrying the escalator's marker as visible text.

The marker (`connectors.base.marker_text`) is how the ticket itself remembers that an
action was done. It is written as a small trailing paragraph, not as an HTML comment
or a data attribute: Zammad sanitises every HTML article body on save
(lib/html_sanitizer/scrubber/wipe.rb drops nodes outside its tag allow-list, which
includes comments, and strips attributes outside its attribute allow-list), and
the marker must survive that to be found again. Visible, it also tells the reader
which rule wrote the note.

A person is mentioned the way Zammad's own editor does: a link carrying the user's id in
`data-mention-user-id` (an attribute the sanitiser keeps on `a`, config/initializers/html_sanitizer.rb).
Creating the article subscribes every user so named to the ticket
(app/models/ticket/article.rb, `check_mentions`, before validation on create: the body is
parsed as HTML whatever its content type, unknown ids are skipped), and Zammad notifies them.
"""

from __future__ import annotations

import html
import re

from connectors.base import Person, marker_text, plain, split_mentions

#: Zammad article type and sender for the escalator's notes. A `note` is not a
#: communication article (docs.zammad.org, API → Ticket → Articles: it does not
#: affect SLA calculation and sends no e-mail); `internal: false` only shows it in
#: the customer web interface, so a duty addressed to the customer is a reply
#: (`REPLY_TYPE`) and a public note only where no e-mail can be sent.
ARTICLE_TYPE = "note"
ARTICLE_SENDER = "Agent"
#: An agent's `email` article is what the agent UI's "reply" creates: Zammad fills in
#: `from` (the group's e-mail address), `message_id` and the subject if empty
#: (app/models/ticket/article/adds_metadata_email.rb) and sends it to `to` in a
#: background job that leaves an `email` history entry naming the recipients
#: (app/jobs/ticket_article_communicate_email_job.rb). The body is stored as sent
#: (sanitised HTML), so the marker paragraph stays findable as on a note.
REPLY_TYPE = "email"

_TAGS = re.compile(r"<[^>]+>")


def mention_html(person: Person) -> str:
    """A person as Zammad's mention link; one without a Zammad user id is named only."""
    if not person.mention_id:
        return html.escape(person.shown)
    return (f'<a data-mention-user-id="{html.escape(person.mention_id)}" rel="nofollow">'
            f"{html.escape(person.shown)}</a>")


def _line_html(line: str) -> str:
    return "".join(mention_html(part) if isinstance(part, Person) else html.escape(part)
                   for part in split_mentions(line))


def note_html(text: str, marker: str) -> str:
    """Plain text (paragraphs separated by blank lines) as HTML, the marker last."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    body = "".join("<p>" + "<br>".join(_line_html(line) for line in p.splitlines()) + "</p>"
                   for p in paragraphs)
    return body + f"<p><small>{html.escape(marker_text(marker))}</small></p>"


def article_payload(ticket_id: str, subject: str, text: str, marker: str, *, public: bool) -> dict:
    return {"ticket_id": int(ticket_id), "type": ARTICLE_TYPE, "sender": ARTICLE_SENDER,
            "internal": not public, "content_type": "text/html", "subject": plain(subject),
            "body": note_html(text, marker)}


def reply_payload(ticket_id: str, subject: str, text: str, marker: str, *, to: str) -> dict:
    """An agent's e-mail reply to `to` (the ticket's customer), public by nature."""
    return {"ticket_id": int(ticket_id), "type": REPLY_TYPE, "sender": ARTICLE_SENDER, "internal": False,
            "to": to, "content_type": "text/html", "subject": plain(subject), "body": note_html(text, marker)}


def has_marker(body: str | None, marker: str) -> bool:
    """True when an article body (HTML or plain text) carries the marker."""
    if not body:
        return False
    wanted = marker_text(marker)
    return wanted in body or wanted in html.unescape(body)


def plain_text(body: str | None, content_type: str | None = None) -> str:
    """An article body as one line of plain text (for the §4.1.4 symptom fact)."""
    if not body:
        return ""
    if content_type is None or "html" in content_type.lower():
        body = html.unescape(_TAGS.sub(" ", body.replace("<br>", "\n")))
    return " ".join(body.split())
