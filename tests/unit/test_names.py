"""Name normalisation: every spelling of a name gives one lowercase punycode FQDN inside the zone."""

from __future__ import annotations

import pytest

from dnsbatch.names import NameError_, normalize_hostname, normalize_name, normalize_zone


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("@", "example.com"),
        ("www", "www.example.com"),
        ("WWW", "www.example.com"),
        ("www.example.com", "www.example.com"),
        ("www.example.com.", "www.example.com"),
        ("Www.Example.COM.", "www.example.com"),
        ("example.com", "example.com"),
        ("example.com.", "example.com"),
        ("a.b", "a.b.example.com"),
        ("  www  ", "www.example.com"),
        ("_sip._tcp", "_sip._tcp.example.com"),
        ("*", "*.example.com"),
        ("*.www", "*.www.example.com"),
        ("a.*.b", "a.*.b.example.com"),  # a literal star, kept as Cloudflare keeps it
        ("bücher", "xn--bcher-kva.example.com"),
        ("xn--bcher-kva", "xn--bcher-kva.example.com"),
        ("0/25.2", "0/25.2.example.com"),
    ],
)
def test_normalize_name_gives_lowercase_fqdn_inside_zone(name: str, expected: str) -> None:
    assert normalize_name(name, "example.com") == expected


def test_normalize_name_accepts_zone_in_any_spelling() -> None:
    assert normalize_name("www", "Example.COM.") == "www.example.com"


def test_idna_uses_2003_mapping_documented_for_sharp_s() -> None:
    # IDNA 2003 maps ß to ss; documented in names.py because IDNA 2008 would keep it.
    assert normalize_name("straße", "example.com") == "strasse.example.com"


def test_idn_zone_is_punycoded() -> None:
    assert normalize_zone("bücher.de") == "xn--bcher-kva.de"
    assert normalize_name("www", "bücher.de") == "www.xn--bcher-kva.de"


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (".", "root"),
        ("www.other.com.", "outside the zone"),
        ("notexample.com.", "outside the zone"),
        ("a..b", "empty label"),
        (".www", "empty label"),
        ("a" * 64, "at most 63"),
        (".".join(["a" * 60] * 4), "at most 253"),
        ("has space", "not allowed"),
        ('quo"te', "not allowed"),
    ],
)
def test_normalize_name_rejects_bad_names_with_a_reason(name: str, fragment: str) -> None:
    with pytest.raises(NameError_, match=fragment):
        normalize_name(name, "example.com")


def test_relative_name_that_becomes_too_long_is_rejected() -> None:
    with pytest.raises(NameError_, match="at most 253"):
        normalize_name(".".join(["a" * 60] * 4)[:245], "example.com")


def test_name_error_is_a_value_error() -> None:
    assert issubclass(NameError_, ValueError)


@pytest.mark.parametrize("zone", ["", ".", "*.example.com", "a..com"])
def test_normalize_zone_rejects_bad_zones(zone: str) -> None:
    with pytest.raises(NameError_):
        normalize_zone(zone)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("Mail.Example.NET.", "mail.example.net"),
        ("a-b_c.example", "a-b_c.example"),
        ("bücher.de", "xn--bcher-kva.de"),
    ],
)
def test_normalize_hostname_is_lowercase_without_trailing_dot(target: str, expected: str) -> None:
    assert normalize_hostname(target) == expected


@pytest.mark.parametrize("target", ["", ".", "*.example.com", "a/b.com", "a b.com"])
def test_normalize_hostname_rejects_non_host_names(target: str) -> None:
    with pytest.raises(NameError_):
        normalize_hostname(target)
