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


def test_idna_2008_keeps_sharp_s_where_idna_2003_made_it_ss() -> None:
    # IDNA 2003 (the standard library's codec) mapped ß to ss: another domain. UTS 46 non-transitional
    # processing, as registries and browsers do, keeps it.
    assert normalize_name("straße", "example.com") == "xn--strae-oqa.example.com"
    assert normalize_name("Straße.Example.COM.", "example.com") == "xn--strae-oqa.example.com"
    assert normalize_hostname("straße.example.com.") == "xn--strae-oqa.example.com"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("BÜCHER", "xn--bcher-kva.example.com"),  # UTS 46 maps case before IDNA 2008
        ("www\uff0ebücher", "www.xn--bcher-kva.example.com"),  # a full-width dot separates labels
        ("_sip._tcp.bücher", "_sip._tcp.xn--bcher-kva.example.com"),  # ASCII labels keep their rules
        ("*.bücher", "*.xn--bcher-kva.example.com"),
    ],
)
def test_internationalised_names_mix_with_the_ascii_rules(name: str, expected: str) -> None:
    assert normalize_name(name, "example.com") == expected


@pytest.mark.parametrize("name", ["😀", "www.😀", "a\u2665b", "a\ue000b"])
def test_a_label_idna_2008_refuses_is_rejected_with_the_reason(name: str) -> None:
    with pytest.raises(NameError_, match=r"not a valid internationalised (label|name) .*IDNA 2008"):
        normalize_name(name, "example.com")
    with pytest.raises(NameError_, match="IDNA 2008"):
        normalize_hostname(f"{name}.example.net")


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


def test_a_host_name_over_253_characters_is_rejected() -> None:
    with pytest.raises(NameError_, match=r"255 characters long .*at most 253"):
        normalize_hostname(".".join(["a" * 63] * 4))
