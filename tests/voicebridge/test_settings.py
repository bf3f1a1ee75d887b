import re
from pathlib import Path

import pytest

from voicebridge.errors import SettingsError
from voicebridge.settings import CONFIG_VARIABLE, SPECS, load_settings

ALL_INTERFACES = "0.0.0.0"  # noqa: S104
ROOT = Path(__file__).parents[2]
VARIABLE = re.compile(r"\bVOICEBRIDGE_[A-Z0-9_]*[A-Z0-9]\b")


def test_defaults_need_no_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings({})
    assert s.database_url == f"sqlite:///{tmp_path}/var/voicebridge.sqlite3"
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert (s.http_host, s.http_port) == ("127.0.0.1", 8080)
    assert s.public_url == "http://127.0.0.1:8080"
    assert s.incident_prefix == "LIM"
    assert s.auto_migrate is True


def test_environment_variables(tmp_path: Path) -> None:
    s = load_settings(
        {
            "VOICEBRIDGE_DATABASE_URL": "postgresql://vb:secret@db.internal:5432/voicebridge",
            "VOICEBRIDGE_REDIS_URL": "redis://cache:6379/2",
            "VOICEBRIDGE_HTTP_HOST": ALL_INTERFACES,
            "VOICEBRIDGE_HTTP_PORT": "9000",
            "VOICEBRIDGE_PUBLIC_URL": "https://cic.example.pe/voicebridge/",
            "VOICEBRIDGE_AUTO_MIGRATE": "no",
            "VOICEBRIDGE_TEST_AMI": "ignored: a variable of the test suites",
            "PATH": "/usr/bin",
        }
    )
    assert s.database_url == "postgresql+psycopg://vb:secret@db.internal:5432/voicebridge"
    assert s.http_port == 9000
    assert s.public_url == "https://cic.example.pe/voicebridge"
    assert s.auto_migrate is False
    assert (
        s.redacted()["database_url"] == "postgresql+psycopg://vb:***@db.internal:5432/voicebridge"
    )


def test_the_public_url_defaults_to_a_reachable_address() -> None:
    s = load_settings({"VOICEBRIDGE_HTTP_HOST": ALL_INTERFACES, "VOICEBRIDGE_HTTP_PORT": "9000"})
    assert s.public_url == "http://127.0.0.1:9000"


def test_a_toml_file_and_the_environment_over_it(tmp_path: Path) -> None:
    config = tmp_path / "voicebridge.toml"
    config.write_text('http_port = 9100\nincident_prefix = "CAL"\nauto_migrate = false\n')
    s = load_settings({"VOICEBRIDGE_CONFIG": str(config)})
    assert (s.http_port, s.incident_prefix, s.auto_migrate) == (9100, "CAL", False)
    s = load_settings({"VOICEBRIDGE_CONFIG": str(config), "VOICEBRIDGE_HTTP_PORT": "9200"})
    assert s.http_port == 9200


def test_the_ivr_bridges_the_urgent_categories_unless_told_otherwise() -> None:
    assert load_settings({}).ivr_bridge == {"incendio", "emergencia_medica", "asalto", "fuga_gas"}
    assert load_settings({"VOICEBRIDGE_IVR_BRIDGE": "none"}).ivr_bridge == frozenset()
    given = load_settings({"VOICEBRIDGE_IVR_BRIDGE": " incendio , robo "})
    assert given.ivr_bridge == {"incendio", "robo"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"VOICEBRIDGE_HTTP_PORT": "eighty"},
            "VOICEBRIDGE_HTTP_PORT: expected a TCP port: an integer from 0 to 65535, got 'eighty'",
        ),
        ({"VOICEBRIDGE_HTTP_PORT": "70000"}, "VOICEBRIDGE_HTTP_PORT: expected a TCP port"),
        (
            {"VOICEBRIDGE_DATABASE_URL": "mysql://x"},
            "VOICEBRIDGE_DATABASE_URL: expected sqlite:///path/to/file.db or postgresql://",
        ),
        ({"VOICEBRIDGE_DATABASE_URL": "sqlite:///:memory:"}, "in-memory database loses everything"),
        ({"VOICEBRIDGE_REDIS_URL": "localhost:6379"}, "VOICEBRIDGE_REDIS_URL: expected redis://"),
        (
            {"VOICEBRIDGE_PUBLIC_URL": "cic.example.pe"},
            "VOICEBRIDGE_PUBLIC_URL: expected an absolute http(s) URL",
        ),
        ({"VOICEBRIDGE_LOG_LEVEL": "chatty"}, "VOICEBRIDGE_LOG_LEVEL: expected one of DEBUG"),
        ({"VOICEBRIDGE_INCIDENT_PREFIX": "lima"}, "expected 2 to 8 capital letters"),
        ({"VOICEBRIDGE_AUTO_MIGRATE": "maybe"}, "VOICEBRIDGE_AUTO_MIGRATE: expected true or false"),
        ({"VOICEBRIDGE_IVR_BRIDGE": "incendio,fuego"}, "VOICEBRIDGE_IVR_BRIDGE: expected category"),
        # 0 would pass here and refuse every citizen's report when it is filed
        (
            {"VOICEBRIDGE_JOIN_RADIUS": "0"},
            "VOICEBRIDGE_JOIN_RADIUS: expected metres: an integer from 1 to 5000",
        ),
        (
            {"VOICEBRIDGE_JOIN_WINDOW": "0"},
            "VOICEBRIDGE_JOIN_WINDOW: expected minutes: an integer from 1 to 1440",
        ),
        ({"VOICEBRIDGE_IVR_BRIDGE": "Incendio"}, "VOICEBRIDGE_IVR_BRIDGE: expected category"),
        (
            {"VOICEBRIDGE_DATABSE_URL": "sqlite:///x.db"},
            "VOICEBRIDGE_DATABSE_URL: unknown setting (did you mean VOICEBRIDGE_DATABASE_URL?)",
        ),
        (
            {"VOICEBRIDGE_CONFIG": "/nonexistent/voicebridge.toml"},
            "VOICEBRIDGE_CONFIG (/nonexistent/voicebridge.toml): no such file",
        ),
    ],
)
def test_an_invalid_setting_names_itself_and_what_is_expected(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert message in str(caught.value)


def test_toml_mistakes_name_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "vb.toml"
    config.write_text("http_prot = 80\n")
    with pytest.raises(
        SettingsError, match=r"vb.toml\): unknown setting 'http_prot' \(did you mean http_port\?\)"
    ):
        load_settings({"VOICEBRIDGE_CONFIG": str(config)})
    config.write_text("http_port = [80]\n")
    with pytest.raises(SettingsError, match="http_port must be a string, integer or boolean"):
        load_settings({"VOICEBRIDGE_CONFIG": str(config)})
    config.write_text("http_port = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings({"VOICEBRIDGE_CONFIG": str(config)})
    config.write_text('http_port = "x"\n')
    with pytest.raises(SettingsError, match=r"vb.toml\) key http_port: expected a TCP port"):
        load_settings({"VOICEBRIDGE_CONFIG": str(config)})


def test_the_readme_lists_every_setting() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for spec in SPECS:
        assert f"`{spec.variable}`" in readme, f"README.md does not list {spec.variable}"
    assert "`VOICEBRIDGE_CONFIG`" in readme


@pytest.mark.parametrize(
    "variable",
    [
        "VOICEBRIDGE_TEST_AMI_TRACES",
        "VOICEBRIDGE_TEST_POSTGRES_URL",
        "VOICEBRIDGE_TEST_AMI_ADMIN",
        "VOICEBRIDGE_TEST_WHATEVER_COMES_NEXT",
    ],
)
def test_the_test_suites_variables_are_ignored(variable: str) -> None:
    assert load_settings({variable: "ami://x:y@z:1"}) == load_settings({})


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        # the traces' old name: a test-only variable must say so with VOICEBRIDGE_TEST_
        ("VOICEBRIDGE_AMI_TRACES", "VOICEBRIDGE_AMI_TRACES: unknown setting"),
        ("VOICEBRIDGE_TESTING", "VOICEBRIDGE_TESTING: unknown setting"),
        ("VOICEBRIDGE_TEST", "VOICEBRIDGE_TEST: unknown setting"),
        ("VOICEBRIDGE_TESTS_URL", "VOICEBRIDGE_TESTS_URL: unknown setting"),
    ],
)
def test_only_the_test_prefix_is_ignored(variable: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: "x"})
    assert message in str(caught.value)


def test_every_variable_people_are_told_to_set_is_a_setting_or_test_only() -> None:
    """What the README, the benchmarks, the scripts and the packages name: a setting
    (or VOICEBRIDGE_CONFIG), or a VOICEBRIDGE_TEST_* variable the settings ignore."""
    settings = {spec.variable for spec in SPECS} | {CONFIG_VARIABLE}
    files = [ROOT / "README.md", ROOT / "Makefile"]
    for package in ("bench", "scripts", "voicebridge", "routing", "dialplans", "channels", "tetra"):
        files += sorted((ROOT / package).rglob("*.py"))
    named = {
        (name, str(path.relative_to(ROOT)))
        for path in files
        for name in VARIABLE.findall(path.read_text(encoding="utf-8"))
    }
    refused = sorted(
        (name, where)
        for name, where in named
        if name not in settings and not name.startswith("VOICEBRIDGE_TEST_")
    )
    assert refused == []


def test_the_readme_lists_every_test_only_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("Test-only variables")
    paragraph = readme[start : readme.index("\n\n", start)]
    used = {
        name
        for folder in ("tests", "bench", "scripts")
        for path in (ROOT / folder).rglob("*.py")
        if path != Path(__file__)  # its examples are made up
        for name in VARIABLE.findall(path.read_text(encoding="utf-8"))
        if name.startswith("VOICEBRIDGE_TEST_")
    }
    assert used, "no test-only variable found: the scan is broken"
    missing = sorted(name for name in used if f"`{name}`" not in paragraph)
    assert missing == [], f"README.md's 'Test-only variables' paragraph lacks {missing}"


def test_the_ami_url() -> None:
    assert load_settings({}).ami_url is None
    settings = load_settings({"VOICEBRIDGE_AMI_URL": "ami://vb:s3cr%3At@10.0.0.5:5038"})
    assert settings.ami_url == "ami://vb:s3cr%3At@10.0.0.5:5038"
    assert settings.redacted()["ami_url"] == "ami://vb:***@10.0.0.5:5038"
    for bad in ("http://vb:x@h:5038", "ami://h:5038", "ami://vb@h:5038", "ami://vb:x@h:99999"):
        with pytest.raises(
            SettingsError, match=r"VOICEBRIDGE_AMI_URL: expected ami://user:secret@host:port"
        ):
            load_settings({"VOICEBRIDGE_AMI_URL": bad})


def test_channel_secrets_are_masked_wherever_settings_are_shown() -> None:
    token = "123456:" + "A" * 35
    settings = load_settings(
        {
            "VOICEBRIDGE_TELEGRAM_TOKEN": token,
            "VOICEBRIDGE_TELEGRAM_SECRET": "s3cr3t-value",
            "VOICEBRIDGE_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "VOICEBRIDGE_TWILIO_AUTH_TOKEN": "f" * 32,
            "VOICEBRIDGE_TWILIO_AUTH_TOKEN_SECONDARY": "e" * 32,
            "VOICEBRIDGE_TWILIO_NUMBER": "+51987000000",
        }
    )
    assert settings.sms_configured
    assert settings.telegram_configured
    assert settings.twilio_tokens == ("f" * 32, "e" * 32)
    for shown in (str(settings.redacted()), str(settings.shown())):
        for secret in (token, "s3cr3t-value", "f" * 32, "e" * 32):
            assert secret not in shown
        assert "AC" + "0" * 32 in shown  # an account id is not a secret
    assert settings.as_environ()["VOICEBRIDGE_TELEGRAM_TOKEN"] == token


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("VOICEBRIDGE_TWILIO_ACCOUNT_SID", "ACxyz", "AC and 32 hex digits"),
        ("VOICEBRIDGE_TWILIO_NUMBER", "987000000", "E.164"),
        ("VOICEBRIDGE_TELEGRAM_SECRET", "no spaces", "A-Z a-z 0-9 _ -"),
        ("VOICEBRIDGE_TELEGRAM_MODE", "push", "polling"),
        ("VOICEBRIDGE_JOIN_RADIUS", "-1", "metres"),
    ],
)
def test_channel_settings_say_what_is_expected(variable: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError, match=variable) as info:
        load_settings({variable: value})
    assert expected in str(info.value)


@pytest.mark.parametrize(
    "value",
    [
        "https://tiles.example.pe;sandbox;report-uri/{z}/{x}/{y}",  # a CSP directive
        "https://tiles.example.pe/{z}/{x}/{y};script-src *",
        "https://a\x0c/{z}/{x}/{y}",  # a control character: no header could carry it
        "https://tíles.example.pe/{z}/{x}/{y}",  # not ASCII: no CSP source
        "https://[::1/{z}/{x}/{y}",
        "https://user:pass@tiles.example.pe/{z}/{x}/{y}",
        "https://tiles.example.pe/{z}/{x}.png",  # no {y}
        "ftp://tiles.example.pe/{z}/{x}/{y}",
    ],
)
def test_a_tile_server_is_a_plain_origin_with_z_x_y(value: str) -> None:
    with pytest.raises(SettingsError, match="VOICEBRIDGE_CONSOLE_TILES: expected a tile URL"):
        load_settings({"VOICEBRIDGE_CONSOLE_TILES": value})


def test_the_tile_servers_origin_is_what_the_map_page_allows() -> None:
    from voicebridge.settings import tile_origin

    osm = load_settings(
        {"VOICEBRIDGE_CONSOLE_TILES": "https://{s}.tile.example.pe/{z}/{x}/{y}.png"}
    )
    assert osm.console_tiles is not None
    assert tile_origin(osm.console_tiles) == "https://*.tile.example.pe"
    local = "http://10.0.0.5:8081/teselas/{z}/{x}/{y}.png"
    assert tile_origin(local) == "http://10.0.0.5:8081"
    assert load_settings({}).console_tiles is None
