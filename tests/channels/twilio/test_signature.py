"""X-Twilio-Signature: twilio-python's own test vectors (tests/unit/test_request_validator.py),
the port variants Twilio's back end produces, token rotation, and what is refused."""

import pytest

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
