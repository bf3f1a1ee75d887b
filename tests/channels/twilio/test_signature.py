"""X-Twilio-Signature: twilio-python's own test vectors (tests/unit/test_request_validator.py),
the port variants Twilio's back end produces, token rotation, and what is refused."""

import random
from urllib.parse import urlencode, urlsplit

import pytest
from multidict import MultiDict
from twilio.request_validator import (  # type: ignore[import-untyped]
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    add_port,
    remove_port,
)

from channels.twilio import signature as signature_module
from channels.twilio.form import parse_form
from channels.twilio.signature import public_request_url, sign, verify, verify_body

TOKEN = "12345"
BASE = "https://mycompany.com"
PATH = "/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": ["CA1234567890ABCDE"],
    "Caller": ["+14158675309"],
    "Digits": ["1234"],
    "From": ["+14158675309"],
    "To": ["+18005551212"],
}
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
BODY = '{"property": "value", "boolean": true}'
BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://mycompany.com/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("https://mycompany.com:443/myapp.php?foo=1&bar=2", "kvajT1Ptam85bY51eRf/AJRuM3w="),
        ("http://mycompany.com:80/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="),
        ("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
    ],
)
def test_the_vectors_of_twilio_python(url: str, expected: str) -> None:
    assert sign(TOKEN, url, PARAMS) == expected


def test_repeated_values_are_deduplicated_and_sorted() -> None:
    params = {"Sid": ["CA123"], "SidAccount": ["AC123"], "Digits": ["5678", "1234"]}
    assert sign(TOKEN, BASE + PATH, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    twice = {"Sid": ["CA123"], "SidAccount": ["AC123"], "Digits": ["1234", "5678", "1234"]}
    assert sign(TOKEN, BASE + PATH, twice) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_a_signed_request_is_accepted() -> None:
    assert verify(public_url=BASE, path=PATH, params=PARAMS, signature=EXPECTED, tokens=[TOKEN])


@pytest.mark.parametrize(
    ("public_url", "signature"),
    [
        # signed with :443 spelled out, configured without it
        ("https://mycompany.com", "kvajT1Ptam85bY51eRf/AJRuM3w="),
        # configured with :443, signed without
        ("https://mycompany.com:443", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        # http, signed with :80
        ("http://mycompany.com", "0ZXoZLH/DfblKGATFgpif+LLRf4="),
        # configured with another port: signed with it, or without any port
        ("https://mycompany.com:1234", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("http://mycompany.com:1234", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
    ],
)
def test_the_port_variants_are_accepted(public_url: str, signature: str) -> None:
    assert verify(
        public_url=public_url, path=PATH, params=PARAMS, signature=signature, tokens=[TOKEN]
    )


def test_the_url_is_the_public_base_and_the_path_as_received() -> None:
    assert public_request_url("https://vb.example.pe/", "/webhooks/twilio/sms") == (
        "https://vb.example.pe/webhooks/twilio/sms"
    )
    assert public_request_url("https://vb.example.pe/lima", "/webhooks/twilio/sms?x=1") == (
        "https://vb.example.pe/lima/webhooks/twilio/sms?x=1"
    )
    assert public_request_url("https://vb.example.pe", "sms") == "https://vb.example.pe/sms"


def test_what_a_proxy_saw_is_not_what_twilio_signed() -> None:
    """Behind a proxy the app sees http://127.0.0.1:8080: a URL rebuilt from it fails."""
    assert not verify(
        public_url="http://127.0.0.1:8080",
        path=PATH,
        params=PARAMS,
        signature=EXPECTED,
        tokens=[TOKEN],
    )


def test_either_token_of_a_rotation_is_accepted() -> None:
    for tokens in ([TOKEN, "new-token"], ["new-token", TOKEN], ["", TOKEN]):
        assert verify(public_url=BASE, path=PATH, params=PARAMS, signature=EXPECTED, tokens=tokens)


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("signature", None),
        ("signature", ""),
        ("signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8"),  # one character short
        ("signature", "rSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=ñ"),  # not ASCII: no TypeError
        ("tokens", []),
        ("tokens", [""]),
        ("tokens", ["54321"]),
        ("path", "/myapp.php?foo=1&bar=3"),
        ("path", "/myapp.php"),
        ("params", {**PARAMS, "Body": ["added by someone"]}),
        ("params", {**PARAMS, "Digits": ["1234", "9"]}),
        ("params", {k: v for k, v in PARAMS.items() if k != "Digits"}),
    ],
)
def test_what_is_refused(change: str, value: object) -> None:
    arguments: dict[str, object] = {
        "public_url": BASE,
        "path": PATH,
        "params": PARAMS,
        "signature": EXPECTED,
        "tokens": [TOKEN],
    }
    arguments[change] = value
    assert verify(**arguments) is False  # type: ignore[arg-type]


def test_a_json_body_is_checked_by_its_hash() -> None:
    path = PATH + "&bodySHA256=" + BODY_HASH
    signature = "a9nBmqA0ju/hNViExpshrM61xv4="
    assert verify_body(public_url=BASE, path=path, body=BODY, signature=signature, tokens=[TOKEN])
    assert not verify_body(
        public_url=BASE, path=path, body=BODY + " ", signature=signature, tokens=[TOKEN]
    )
    assert not verify_body(
        public_url=BASE, path=PATH, body=BODY, signature=signature, tokens=[TOKEN]
    )
    assert not verify_body(public_url=BASE, path=path, body=BODY, signature=None, tokens=[TOKEN])
    assert not verify_body(
        public_url=BASE, path=path, body=BODY, signature=signature, tokens=["54321"]
    )


def test_a_shared_key_signature_with_hmac_sha256() -> None:
    """twilio 9.13: X-Twilio-Webhooks-Signature-Settings names the algorithm."""
    secret = "shared-key-secret"
    signature = sign(secret, BASE + PATH, PARAMS, "HMAC_SHA256")
    assert signature != sign(secret, BASE + PATH, PARAMS)
    assert len(signature) == 44  # base64 of 32 bytes

    def check(signature: str, token: str, settings: str | None) -> bool:
        return verify(
            public_url=BASE,
            path=PATH,
            params=PARAMS,
            signature=signature,
            tokens=[token],
            settings=settings,
        )

    assert check(signature, secret, "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256")
    assert not check(signature, secret, None)
    assert not check(signature, secret, "key=k,algorithm=HMAC_MD5")
    assert check(EXPECTED, TOKEN, "")  # an empty header: the auth token's HMAC-SHA1
    assert check(EXPECTED, TOKEN, "key=k")


# verify's own computation, held to twilio-python's RequestValidator on a table: the
# vectors above, and generated forms (repeated names and values, empty values, Spanish,
# emoji, the characters a form encodes), every URL with and without its port, both
# algorithms.

ALGORITHMS = (HMAC_SHA1, HMAC_SHA256)
URLS = (
    "https://mycompany.com/myapp.php?foo=1&bar=2",
    "https://mycompany.com:443/myapp.php?foo=1&bar=2",
    "http://mycompany.com:80/myapp.php?foo=1&bar=2",
    "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
    "https://vb.example.pe/webhooks/twilio/sms",
    "https://vb.example.pe:443/lima/webhooks/twilio/sms?x=%C3%B1&y=",
    "http://127.0.0.1:8080/webhooks/twilio/sms",
)
NAMES = ("Body", "body", "From", "To", "Sid", "SidAccount", "MediaUrl0", "Ñandú", "a", "")
VALUES = (
    "",
    "1234",
    "+51987654321",
    "¿Algún herido? Sí, en Jr. Huallaga 450 — ¡rápido!",
    "ñ",
    "🚑🔥",
    "a&b=c+d%20e",
    "<b>\"x\" 'y'</b>",
    " espacios ",
    "línea\nnueva\ttab",
    "漢字",
)


def _generated_forms(count: int) -> list[dict[str, list[str]]]:
    rng = random.Random(20260509)
    forms = []
    for _ in range(count):
        pairs = [(rng.choice(NAMES), rng.choice(VALUES)) for _ in range(rng.randrange(0, 12))]
        if pairs and rng.random() < 0.5:
            pairs.append(rng.choice(pairs))  # a name and a value given twice
        # what the webhook verifies: the body as parse_form reads it
        forms.append(parse_form(urlencode(pairs).encode("utf-8")))
    return forms


FORMS = [
    PARAMS,
    {"Sid": ["CA123"], "SidAccount": ["AC123"], "Digits": ["5678", "1234"]},
    {"Sid": ["CA123"], "SidAccount": ["AC123"], "Digits": ["1234", "5678", "1234"]},
    {},
    {"Body": [""], "To": ["", ""]},
    *_generated_forms(40),
]


def _split(url: str) -> tuple[str, str]:
    """``url`` as verify takes it: the public base URL, and the path with its query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}", url[len(f"{parts.scheme}://{parts.netloc}") :]


def _other_form(url: str) -> str:
    """The URL with its port if it has none, without it if it has one."""
    parts = urlsplit(url)
    return add_port(parts) if parts.port is None else remove_port(parts)  # type: ignore[no-any-return]


def _multidict(params: dict[str, list[str]]) -> MultiDict[str]:
    """The form as RequestValidator reads one from a web framework (``getall``)."""
    return MultiDict([(name, value) for name, values in params.items() for value in values])


def _fast(token: str, url: str, params: dict[str, list[str]], algorithm: str) -> str:
    data = signature_module._signed_params(params)
    digest = signature_module._DIGESTS[algorithm]
    return signature_module._signature(token.encode(), url.encode(), data, digest).decode()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("url", URLS)
def test_the_fast_signature_is_twilios(url: str, algorithm: str) -> None:
    for token in (TOKEN, "fedcba9876543210" * 2, "clave-ñ"):
        validator = RequestValidator(token)
        for params in FORMS:
            for signed_url in (url, _other_form(url)):
                expected = validator.compute_signature(signed_url, _multidict(params), algorithm)
                assert _fast(token, signed_url, params, algorithm) == expected
                assert sign(token, signed_url, params, algorithm) == expected


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("url", URLS)
def test_verify_agrees_with_request_validator(url: str, algorithm: str) -> None:
    settings = None if algorithm == HMAC_SHA1 else f"key=k1,algorithm={algorithm}"
    public_url, path = _split(url)
    for params in FORMS:
        right = sign(TOKEN, url, params, algorithm)
        with_other_port = sign(TOKEN, _other_form(url), params, algorithm)
        other_token = sign("54321", url, params, algorithm)
        changed = right[:5] + ("A" if right[5] != "A" else "B") + right[6:]
        for signature in (right, with_other_port, other_token, changed, right[:-1]):
            for tokens in ([TOKEN], ["54321", TOKEN], ["", TOKEN, "x"], ["x"]):
                expected = any(
                    RequestValidator(token).validate(url, _multidict(params), signature, algorithm)
                    for token in tokens
                    if token
                )
                assert (
                    verify(
                        public_url=public_url,
                        path=path,
                        params=params,
                        signature=signature,
                        tokens=tokens,
                        settings=settings,
                    )
                    is expected
                ), (url, params, signature, tokens)
        assert right != other_token


def test_a_match_stops_the_check_a_wrong_signature_checks_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stopping on success tells nothing about the token (the variants are public and
    tried in a fixed order); a wrong signature is computed for every variant and token."""
    calls: list[tuple[bytes, bytes]] = []
    computed = signature_module._signature

    def counting(key: bytes, url: bytes, data: bytes, digest: str) -> bytes:
        calls.append((key, url))
        return computed(key, url, data, digest)

    monkeypatch.setattr(signature_module, "_signature", counting)

    def check(signature: str, tokens: list[str]) -> bool:
        calls.clear()
        return verify(public_url=BASE, path=PATH, params=PARAMS, signature=signature, tokens=tokens)

    assert check(EXPECTED, [TOKEN, "new-token"])
    assert calls == [(b"12345", b"https://mycompany.com/myapp.php?foo=1&bar=2")]
    assert check("kvajT1Ptam85bY51eRf/AJRuM3w=", ["new-token", TOKEN])  # :443, second token
    assert len(calls) == 4
    assert not check("A" * 28, ["new-token", "", TOKEN])
    assert calls == [
        (key, url)
        for key in (b"new-token", b"12345")
        for url in (
            b"https://mycompany.com/myapp.php?foo=1&bar=2",
            b"https://mycompany.com:443/myapp.php?foo=1&bar=2",
        )
    ]
