"""TwiML for an inbound SMS webhook's answer: the messages Twilio sends back to the
sender (each an outbound message of direction ``outbound-reply``). Pure.

Serve :func:`twiml_reply`'s text as ``text/xml``; no reply is ``<Response />``, which
tells Twilio to send nothing (CHANNELS.md B3).

The document is written here, byte for byte what twilio-python's ``MessagingResponse``
(``to_xml``, ElementTree in UTF-8) makes of the same texts, without building the tree:
the declaration, and each body with ``&``, ``<`` and ``>`` escaped (quotes and non-ASCII
characters as they are); the tests hold it to ``MessagingResponse``.
"""

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from xml.sax.saxutils import escape

from channels.twilio.errors import BadForm

__all__ = ["CONTENT_TYPE", "parse_twiml", "twiml_reply"]

CONTENT_TYPE = "text/xml"

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot carry (most control characters, lone surrogates)."""


_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
_NOTHING = _DECLARATION + "<Response />"


def twiml_reply(texts: Sequence[str]) -> str:
    """The TwiML document answering with one ``<Message>`` per text, in order (empty
    texts skipped; characters XML cannot carry removed)."""
    messages = []
    for text in texts:
        clean = _NOT_XML.sub("", text)
        if clean:
            messages.append("<Message>" + escape(clean) + "</Message>")
    if not messages:
        return _NOTHING
    return _DECLARATION + "<Response>" + "".join(messages) + "</Response>"


def parse_twiml(document: str | bytes) -> tuple[str, ...]:
    """The bodies of a TwiML answer's ``<Message>`` verbs (their text, or their
    ``<Body>``'s), as Twilio reads them. Not TwiML: :class:`BadForm`."""
    if isinstance(document, str):
        document = document.encode("utf-8")
    if not document.strip():
        return ()  # an empty 200 answer sends nothing
    try:
        root = ET.fromstring(document)  # noqa: S314 - our own app's answer, in the fake
    except ET.ParseError as exc:
        raise BadForm("(TwiML)", f"no es XML: {exc}") from exc
    if root.tag != "Response":
        raise BadForm("(TwiML)", f"la raíz es <{root.tag}>, no <Response>")
    bodies = []
    for message in root.iter("Message"):
        body = message.find("Body")
        text = body.text if body is not None else message.text
        bodies.append((text or "").strip())
    return tuple(bodies)
