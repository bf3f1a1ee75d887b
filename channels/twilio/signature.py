"""``X-Twilio-Signature``: the check of a webhook's signature, and the signing the fake
Twilio does.

Twilio signs the URL it called (scheme, host, path, query) followed by every POST
parameter name and value, names sorted, each name's distinct values sorted, with
HMAC-SHA1 keyed by the account's auth token, base64 (twilio-python
``RequestValidator.compute_signature``). Twilio's back end is not consistent about the
port: a URL is accepted signed with and without it (``:443``/``:80`` added, or any port
removed), as ``RequestValidator.validate`` does.

:func:`sign` is twilio-python's own code (the fake Twilio's signing, and the reference
the tests hold :func:`verify` to). :func:`verify` computes the same algorithm itself,
because it runs on every webhook: the parameters' part of the signed text is built once
per request and each URL variant is prepended to it (the variants of a public URL and
path are cached), the HMAC is the standard library's one-shot, and the check stops at
the first (token, variant) that matches: the variants are public and the order is
fixed, so stopping on success tells nothing about a token, and a wrong signature is
still compared with every variant under every token.

The URL is never rebuilt from what the request says of itself (a proxy changes scheme,
host and port): it is the configured public base URL followed by the request's path and
query as received (aiohttp's ``request.raw_path``, not decoded).

An account may have Twilio sign with a SharedKey instead (twilio 9.13): the webhook then
carries ``X-Twilio-Webhooks-Signature-Settings: key=<id>,algorithm=HMAC_SHA256`` and the
HMAC is keyed by the shared key's secret; pass that header as ``settings``.

``RequestValidator.compare`` is a loop over characters in Python, whose time is not
promised to be constant, and a missing header makes it raise TypeError: this module
compares with :func:`hmac.compare_digest` and answers False for a missing signature.
"""

import base64
import functools
import hashlib
import hmac
from collections.abc import Iterator, Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import (  # type: ignore[import-untyped]
    HMAC_SHA1,
    RequestValidator,
    add_port,
    get_signature_algorithm,
    remove_port,
)

__all__ = [
    "SETTINGS_HEADER",
    "SIGNATURE_HEADER",
    "public_request_url",
    "sign",
    "verify",
    "verify_body",
]

SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
"""Present when the webhook is signed with a SharedKey rather than the auth token
(twilio 9.13): ``key=<sharedKeyId>,algorithm=HMAC_SHA256``."""
SUPPORTED = frozenset({"HMAC_SHA1", "HMAC_SHA256"})
_DIGESTS = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}
"""The hash of each supported algorithm, by the name :func:`hmac.digest` takes."""
VARIANTS_CACHED = 256
"""(public URL, path and query) pairs whose URL variants are kept: the path of a
webhook is fixed, but its query is whatever the caller sent."""


class _Params:
    """A mapping of multi-values as ``RequestValidator`` reads one (``getall``, like
    aiohttp's and Flask's MultiDict)."""

    def __init__(self, params: Mapping[str, Sequence[str]]) -> None:
        self._params = params

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def getall(self, name: str) -> list[str]:
        return list(self._params[name])


def public_request_url(public_url: str, path: str) -> str:
    """The URL Twilio called: the public base URL (``https://vb.example.pe``, maybe with a
    path prefix) followed by the request's path and query as received."""
    if not path.startswith("/"):
        path = "/" + path
    return public_url.rstrip("/") + path


def sign(
    token: str, url: str, params: Mapping[str, Sequence[str]], algorithm: str = HMAC_SHA1
) -> str:
    """The ``X-Twilio-Signature`` of a request to ``url`` with these POST parameters."""
    validator = RequestValidator(token)
    signature: str = validator.compute_signature(url, _Params(params), algorithm)
    return signature


def _algorithm(settings: str | None) -> str | None:
    """The algorithm a ``X-Twilio-Webhooks-Signature-Settings`` header names (HMAC-SHA1
    without one); None when this code does not know it."""
    if not settings:
        return "HMAC_SHA1"  # what get_signature_algorithm answers for no header
    name: str = get_signature_algorithm(settings).upper()
    return name if name in SUPPORTED else None


@functools.lru_cache(maxsize=VARIANTS_CACHED)
def _variants(public_url: str, path: str) -> tuple[str, ...]:
    """The URL Twilio called (:func:`public_request_url`) without and with its port, as
    ``RequestValidator.validate`` tries them (one when both are the same)."""
    parsed = urlsplit(public_request_url(public_url, path))
    return tuple(dict.fromkeys((remove_port(parsed), add_port(parsed))))


def _signed_params(params: Mapping[str, Sequence[str]]) -> bytes:
    """The parameters' part of the text Twilio signs, UTF-8: each name (sorted) followed
    by each of its distinct values (sorted), as ``RequestValidator.compute_signature``
    appends them to the URL."""
    parts: list[str] = []
    for name in sorted(params):
        values = params[name]
        if len(values) == 1:
            parts.append(name + values[0])
        else:
            parts.extend(name + value for value in sorted(set(values)))
    return "".join(parts).encode("utf-8")


def _signature(key: bytes, url: bytes, data: bytes, digest: str) -> bytes:
    """``RequestValidator.compute_signature`` of the URL and the parameters' part
    (:func:`_signed_params`), ASCII base64."""
    return base64.b64encode(hmac.digest(key, url + data, digest))


def _matches(
    signature: str, tokens: Sequence[str], urls: Sequence[str], data: bytes, algorithm: str
) -> bool:
    """Whether ``signature`` is the HMAC of any of ``urls`` followed by ``data`` under any
    non-empty token; compared in constant time, stopping at the first match."""
    keys = [token.encode("utf-8") for token in tokens if token]
    if not keys:
        return False
    given = signature.encode("utf-8")
    digest = _DIGESTS[algorithm]
    encoded = [url.encode("utf-8") for url in urls]
    for key in keys:
        for url in encoded:
            if hmac.compare_digest(_signature(key, url, data, digest), given):
                return True
    return False


def verify(
    *,
    public_url: str,
    path: str,
    params: Mapping[str, Sequence[str]],
    signature: str | None,
    tokens: Sequence[str],
    settings: str | None = None,
) -> bool:
    """Whether ``signature`` (the ``X-Twilio-Signature`` header, None when missing) signs a
    form POST to ``public_url`` + ``path`` (path and query as received) with ``params``
    (every POST parameter, each with all its values) under any of ``tokens`` (the auth
    token, and during a rotation the second one; empty ones are ignored).

    ``settings``: the ``X-Twilio-Webhooks-Signature-Settings`` header, when Twilio signs
    with a SharedKey (then ``tokens`` are its secrets); an algorithm other than
    HMAC_SHA1/HMAC_SHA256 is refused."""
    algorithm = _algorithm(settings)
    if not signature or algorithm is None:
        return False
    urls = _variants(public_url, path)
    if not any(tokens):
        return False
    return _matches(signature, tokens, urls, _signed_params(params), algorithm)


def verify_body(
    *,
    public_url: str,
    path: str,
    body: str,
    signature: str | None,
    tokens: Sequence[str],
    settings: str | None = None,
) -> bool:
    """Whether a request with a JSON (non-form) body is Twilio's: its URL's query carries
    ``bodySHA256``, the hex SHA-256 of the body, and the signature signs the URL alone."""
    algorithm = _algorithm(settings)
    if not signature or algorithm is None:
        return False
    url = public_request_url(public_url, path)
    claimed = parse_qs(urlsplit(url).query).get("bodySHA256")
    if not claimed:
        return False
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    if not hmac.compare_digest(digest.encode("ascii"), claimed[0].encode("utf-8")):
        return False
    return _matches(signature, tokens, _variants(public_url, path), b"", algorithm)
