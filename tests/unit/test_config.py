"""Settings come from the environment only and a mis-set variable fails up front, naming itself."""

from __future__ import annotations

import pytest

from dnsbatch.config import DEFAULT_API_BASE_URL, MAX_BATCH_SIZE, ConfigError, Settings, parse_zones

ZONE_ID = "023e105f4ecef8ad9ca31a8372d0c353"
TOKEN = "cfut-CONFIG-secret-0123456789"


def test_from_env_with_nothing_set_gives_documented_defaults() -> None:
    settings = Settings.from_env({})

    assert settings.zones == {}
    assert settings.api_base_url == DEFAULT_API_BASE_URL
    assert settings.api_token is None
    assert settings.api_token_secret is None
    assert settings.changeset_queue_url is None
    assert settings.fallback_queue_url is None
    assert settings.rejected_queue_url is None
    assert settings.ledger_table is None
    assert settings.batch_change_size == 200
    assert settings.batch_change_interval == 1.0
    assert settings.fallback_request_interval == 2.0
    assert settings.owner_id == "dnsbatch"
    assert settings.adopt_unowned is False
    assert settings.dry_run is False
    assert settings.ledger_ttl_days == 30
    assert settings.request_timeout == 10.0


def test_from_env_reads_os_environ_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZONES", "example.com")
    monkeypatch.setenv("BATCH_CHANGE_SIZE", "42")

    settings = Settings.from_env()

    assert settings.zones == {"example.com": None}
    assert settings.batch_change_size == 42


def test_from_env_parses_every_variable() -> None:
    env = {
        "ZONES": f"Example.COM., shop.example={ZONE_ID}",
        "CLOUDFLARE_API_BASE_URL": "http://127.0.0.1:8787/client/v4",
        "CLOUDFLARE_API_TOKEN": TOKEN,
        "CLOUDFLARE_API_TOKEN_SECRET": "dnsbatch/cloudflare-token",
        "CHANGESET_QUEUE_URL": "http://q/changeset.fifo",
        "FALLBACK_QUEUE_URL": "http://q/fallback.fifo",
        "REJECTED_QUEUE_URL": "http://q/rejected",
        "LEDGER_TABLE": "ledger",
        "BATCH_CHANGE_SIZE": "3500",
        "BATCH_CHANGE_INTERVAL": "0.25",
        "FALLBACK_REQUEST_INTERVAL": "0",
        "OWNER_ID": "team-a.prod_1",
        "ADOPT_UNOWNED": "yes",
        "DRY_RUN": "ON",
        "LEDGER_TTL_DAYS": "7",
        "CLOUDFLARE_REQUEST_TIMEOUT": "0.5",
    }

    settings = Settings.from_env(env)

    assert settings.zones == {"example.com": None, "shop.example": ZONE_ID}
    assert settings.api_base_url == "http://127.0.0.1:8787/client/v4"
    assert settings.api_token == TOKEN
    assert settings.api_token_secret == "dnsbatch/cloudflare-token"
    assert settings.changeset_queue_url == "http://q/changeset.fifo"
    assert settings.fallback_queue_url == "http://q/fallback.fifo"
    assert settings.rejected_queue_url == "http://q/rejected"
    assert settings.ledger_table == "ledger"
    assert settings.batch_change_size == MAX_BATCH_SIZE
    assert settings.batch_change_interval == 0.25
    assert settings.fallback_request_interval == 0.0
    assert settings.owner_id == "team-a.prod_1"
    assert settings.adopt_unowned is True
    assert settings.dry_run is True
    assert settings.ledger_ttl_days == 7
    assert settings.request_timeout == 0.5


def test_empty_strings_mean_unset_so_sam_blank_parameters_fall_back_to_defaults() -> None:
    env = dict.fromkeys(
        (
            "CLOUDFLARE_API_BASE_URL",
            "CLOUDFLARE_API_TOKEN",
            "LEDGER_TABLE",
            "BATCH_CHANGE_SIZE",
            "BATCH_CHANGE_INTERVAL",
            "OWNER_ID",
            "DRY_RUN",
        ),
        "",
    )

    settings = Settings.from_env(env)

    assert settings.api_base_url == DEFAULT_API_BASE_URL
    assert settings.api_token is None
    assert settings.ledger_table is None
    assert settings.batch_change_size == 200
    assert settings.batch_change_interval == 1.0
    assert settings.owner_id == "dnsbatch"
    assert settings.dry_run is False


@pytest.mark.parametrize(
    ("name", "raw", "allowed"),
    [
        ("BATCH_CHANGE_SIZE", "0", "1..3500"),
        ("BATCH_CHANGE_SIZE", "3501", "1..3500"),
        ("BATCH_CHANGE_SIZE", "x", "1..3500"),
        ("BATCH_CHANGE_SIZE", "2.5", "1..3500"),
        ("LEDGER_TTL_DAYS", "0", "1..3650"),
        ("BATCH_CHANGE_INTERVAL", "-0.1", "0.0..60.0"),
        ("BATCH_CHANGE_INTERVAL", "61", "0.0..60.0"),
        ("BATCH_CHANGE_INTERVAL", "soon", "0.0..60.0"),
        ("FALLBACK_REQUEST_INTERVAL", "100", "0.0..60.0"),
        ("CLOUDFLARE_REQUEST_TIMEOUT", "0.1", "0.5..120.0"),
    ],
)
def test_out_of_range_or_malformed_number_names_the_variable_and_the_allowed_range(
    name: str, raw: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        Settings.from_env({name: raw})

    message = str(excinfo.value)
    assert message.startswith(f"{name}:")
    assert allowed in message


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("True", True), ("off", False), ("NO", False)])
def test_booleans_accept_the_usual_spellings(raw: str, expected: bool) -> None:
    assert Settings.from_env({"DRY_RUN": raw}).dry_run is expected
    assert Settings.from_env({"ADOPT_UNOWNED": raw}).adopt_unowned is expected


@pytest.mark.parametrize("name", ["DRY_RUN", "ADOPT_UNOWNED"])
def test_malformed_boolean_names_the_variable_and_what_is_allowed(name: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{name}: 'maybe' is not a boolean \(allowed: true/false\)"):
        Settings.from_env({name: "maybe"})


@pytest.mark.parametrize(
    "raw", ["a" * 33, "has space", "owner|id", "owner=id", "ünïcode-ok?", "-leading", ".x"]
)
def test_owner_id_outside_the_marker_alphabet_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^OWNER_ID: .*1-32 characters"):
        Settings.from_env({"OWNER_ID": raw})


def test_owner_id_of_32_allowed_characters_is_accepted() -> None:
    assert Settings.from_env({"OWNER_ID": "a" * 32}).owner_id == "a" * 32


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", {}),
        ("example.com", {"example.com": None}),
        ("Example.COM.", {"example.com": None}),
        (" a.example , b.example ;c.example,", {"a.example": None, "b.example": None, "c.example": None}),
        (f"example.com={ZONE_ID.upper()}", {"example.com": ZONE_ID}),
        (f"a.example={ZONE_ID},b.example", {"a.example": ZONE_ID, "b.example": None}),
    ],
)
def test_parse_zones_accepts_names_and_name_equals_id_separated_by_commas_or_semicolons(
    raw: str, expected: dict[str, str | None]
) -> None:
    assert parse_zones(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "example.com=1234",  # too short
        "example.com=" + "g" * 32,  # not hex
        "example.com=" + ZONE_ID + "0",  # too long
    ],
)
def test_parse_zones_refuses_a_zone_id_that_is_not_32_hex_characters(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^ZONES: zone id for 'example.com' must be 32 hex characters"):
        parse_zones(raw)


@pytest.mark.parametrize("raw", [f"={ZONE_ID}", "bad name.example", "."])
def test_parse_zones_refuses_an_item_that_is_not_a_zone_name(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^ZONES: .* is not a zone name"):
        parse_zones(raw)


def test_bad_zones_variable_fails_from_env_too() -> None:
    with pytest.raises(ConfigError, match=r"^ZONES:"):
        Settings.from_env({"ZONES": "example.com=nothex"})


def test_require_lists_every_missing_variable_at_once() -> None:
    settings = Settings.from_env({})

    with pytest.raises(ConfigError) as excinfo:
        settings.require(
            "changeset_queue_url", "fallback_queue_url", "rejected_queue_url", "ledger_table", "token"
        )

    message = str(excinfo.value)
    for name in (
        "CHANGESET_QUEUE_URL",
        "FALLBACK_QUEUE_URL",
        "REJECTED_QUEUE_URL",
        "LEDGER_TABLE",
        "CLOUDFLARE_API_TOKEN_SECRET",
        "ZONES",
    ):
        assert name in message


def test_require_passes_when_everything_asked_for_is_set() -> None:
    settings = Settings.from_env(
        {"ZONES": "example.com", "LEDGER_TABLE": "t", "CLOUDFLARE_API_TOKEN_SECRET": "name"}
    )

    settings.require("ledger_table", "token")


def test_require_names_only_what_is_missing() -> None:
    settings = Settings.from_env({"ZONES": "example.com", "LEDGER_TABLE": "t"})

    with pytest.raises(ConfigError) as excinfo:
        settings.require("ledger_table", "rejected_queue_url")

    assert str(excinfo.value) == "missing configuration: REJECTED_QUEUE_URL"


def test_token_never_appears_in_the_settings_repr() -> None:
    settings = Settings.from_env({"ZONES": "example.com", "CLOUDFLARE_API_TOKEN": TOKEN})

    assert settings.api_token == TOKEN
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)


def test_zone_read_interval_defaults_to_ten_minutes_and_zero_means_every_window() -> None:
    assert Settings.from_env({}).zone_read_interval == 600.0
    assert Settings.from_env({"ZONE_READ_INTERVAL": "0"}).zone_read_interval == 0.0
    assert Settings.from_env({"ZONE_READ_INTERVAL": "900"}).zone_read_interval == 900.0
    with pytest.raises(ConfigError, match=r"ZONE_READ_INTERVAL: 90000\.0 is out of range"):
        Settings.from_env({"ZONE_READ_INTERVAL": "90000"})
    with pytest.raises(ConfigError, match="ZONE_READ_INTERVAL"):
        Settings.from_env({"ZONE_READ_INTERVAL": "soon"})
