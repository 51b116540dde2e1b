"""One worked example per record type Cloudflare serves: the shared table for round-trip tests and docs.

Each :class:`RecordExample` holds

- ``value``: what a producer writes, in standard zone-file presentation format (what dnspython's
  ``dns.rdata.from_text`` accepts with ``origin=dns.name.root``: host names are absolute whether or not
  they end in a dot);
- ``equivalents``: other spellings of the *same* value (dnspython parses them to an equal rdata): upper
  case hex, leading zeros, mnemonics, a chunked key, omitted defaults. Parsed and written back, they must
  give no change at Cloudflare;
- ``cloudflare``: the request fields the value maps to, following ``devstack/emulator/openapi-dns.json``
  (``content`` for flat types, ``data`` for structured ones, ``priority`` for MX and URI), in the form
  dnsbatch sends: host names lowercase without the trailing dot, hex lowercase, base64 in one piece;
- ``content``: the ``content`` Cloudflare returns for those fields (as the emulator formats it; see
  docs/emulator.md for which formats are observed and which are guessed);
- ``invalid``: values dnspython refuses for the type.

Notes on values that are easy to get wrong:

- TXT: dnspython splits unquoted text at spaces into several character-strings, so the example quotes it.
- SVCB/HTTPS: dnspython compares the target name case-sensitively; the equivalents change only quoting,
  leading zeros and the trailing dot.
- LOC: a value without size and precisions means 1 m, 10,000 m and 10 m (RFC 1876), while Cloudflare's
  ``data`` defaults them to 0, so the mapping always sends all four.
- NAPTR: regex and replacement are exclusive (RFC 3403); the emulator refuses both set.

This module is plain data (no dnsbatch import): ``tests/unit/test_record_examples.py`` checks it against
dnspython and the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecordExample:
    type: str
    name: str  # relative to the zone (example.com), as in the README's examples
    value: str
    equivalents: tuple[str, ...]
    cloudflare: dict[str, Any]
    content: str
    invalid: tuple[str, ...]


TLSA_HASH = "0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"
SMIMEA_HASH = "8cc4d3c6f1c8e1b2a0e5b1a1f3e2d4c5b6a7980716253443526170819a0b0c0d"
SSHFP_HASH = "123456789abcdef67890123456789abcdef67890123456789abcdef123456789"
DS_DIGEST = "1f987cc6583e92df0890718c42c04b4a7e09a4d0ea53f3f76ee2ea8a7d9a6db4"
CERT_B64 = (
    "MIIBCgKCAQEA1I0IdGb8zZ6N3d3YBPesoHK4BK3QXq/h41PF5vf2CXI/Q7GxudI7ffnouAOxt1+UfSZpICyobWI3Z9hWfE73Ng=="
)
DNSKEY_B64 = "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="
PGP_B64 = "mDMEXRT+epxEk5ID60oimXze/J7tMXMEu1EB0oGbJUS0SOTgsYBdBiDa4wQRLFuF4l1Oymz3G0SCNSDv+iBF8A=="
# RFC 7929: the first 28 octets of SHA-256 of the local part ("alice"), in hex, under _openpgpkey.
PGP_OWNER = "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db._openpgpkey"
SMIMEA_OWNER = "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6._smimecert"


def _chunked(text: str, size: int) -> str:
    return " ".join(text[i : i + size] for i in range(0, len(text), size))


EXAMPLES: tuple[RecordExample, ...] = (
    RecordExample(
        type="A",
        name="www",
        value="192.0.2.10",
        equivalents=("  192.0.2.10  ",),
        cloudflare={"content": "192.0.2.10"},
        content="192.0.2.10",
        invalid=("192.0.2.300", "192.0.2.010", "2001:db8::10"),
    ),
    RecordExample(
        type="AAAA",
        name="www",
        value="2001:db8::10",
        equivalents=("2001:0DB8:0000:0000:0000:0000:0000:0010", "2001:DB8:0:0::10"),
        cloudflare={"content": "2001:db8::10"},
        content="2001:db8::10",
        invalid=("2001:db8::g", "192.0.2.10"),
    ),
    RecordExample(
        type="CAA",
        name="@",
        value='0 issue "letsencrypt.org"',
        equivalents=("0 issue letsencrypt.org", '000   issue   "letsencrypt.org"'),
        cloudflare={"data": {"flags": 0, "tag": "issue", "value": "letsencrypt.org"}},
        content='0 issue "letsencrypt.org"',
        invalid=('256 issue "letsencrypt.org"', '0 is-sue "letsencrypt.org"', "0 issue"),
    ),
    RecordExample(
        type="CERT",
        name="alice",
        value=f"PKIX 12345 RSASHA256 {CERT_B64}",
        equivalents=(f"1 12345 8 {CERT_B64}", f"PKIX 12345 8 {_chunked(CERT_B64, 32)}"),
        cloudflare={"data": {"type": 1, "key_tag": 12345, "algorithm": 8, "certificate": CERT_B64}},
        content=f"1 12345 8 {CERT_B64}",
        invalid=("PKIX 12345 RSASHA256 not-base64!", f"PKIX 70000 RSASHA256 {CERT_B64}"),
    ),
    RecordExample(
        type="CNAME",
        name="shop",
        value="shops.example.net",
        equivalents=("Shops.Example.NET.",),
        cloudflare={"content": "shops.example.net"},
        content="shops.example.net",
        invalid=("shops..example.net", "x" * 64 + ".example.net"),
    ),
    RecordExample(
        type="DNSKEY",
        name="@",
        value=f"257 3 13 {DNSKEY_B64}",
        equivalents=(f"257 3 ECDSAP256SHA256 {_chunked(DNSKEY_B64, 32)}",),
        cloudflare={"data": {"flags": 257, "protocol": 3, "algorithm": 13, "public_key": DNSKEY_B64}},
        content=f"257 3 13 {DNSKEY_B64}",
        invalid=(f"257 3 13 {DNSKEY_B64[:-1]}", "257 3 13", f"65536 3 13 {DNSKEY_B64}"),
    ),
    RecordExample(
        type="DS",
        name="dev",
        value=f"2371 13 2 {DS_DIGEST}",
        equivalents=(f"2371 ECDSAP256SHA256 2 {DS_DIGEST.upper()}", f"2371 13 2 {_chunked(DS_DIGEST, 16)}"),
        cloudflare={"data": {"key_tag": 2371, "algorithm": 13, "digest_type": 2, "digest": DS_DIGEST}},
        content=f"2371 13 2 {DS_DIGEST}",
        invalid=("2371 13 2 xyz", f"70000 13 2 {DS_DIGEST}"),
    ),
    RecordExample(
        type="HTTPS",
        name="@",
        value='1 . alpn="h3,h2" ipv4hint="192.0.2.10"',
        equivalents=("1 . ipv4hint=192.0.2.10 alpn=h3,h2", '01 . alpn="h3,h2" ipv4hint="192.0.2.10"'),
        cloudflare={"data": {"priority": 1, "target": ".", "value": 'alpn="h3,h2" ipv4hint="192.0.2.10"'}},
        content='1 . alpn="h3,h2" ipv4hint="192.0.2.10"',
        invalid=("1 . port=notaport", "1 . foo=bar"),
    ),
    RecordExample(
        type="LOC",
        name="office",
        value="52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m",
        # Omitted size and precisions take RFC 1876's defaults; the last is Cloudflare's own content.
        equivalents=("52 22 23 N 4 53 32 E -2m", "52 22 23.000 N 4 53 32.000 E -2.00 1.00 10000.00 10.00"),
        cloudflare={
            "data": {
                "lat_degrees": 52,
                "lat_minutes": 22,
                "lat_seconds": 23,
                "lat_direction": "N",
                "long_degrees": 4,
                "long_minutes": 53,
                "long_seconds": 32,
                "long_direction": "E",
                "altitude": -2,
                "size": 1,
                "precision_horz": 10000,
                "precision_vert": 10,
            }
        },
        content="52 22 23.000 N 4 53 32.000 E -2.00 1.00 10000.00 10.00",
        invalid=("91 0 0.000 N 4 53 32.000 E 0m", "52 60 23 N 4 53 32 E 0m", "52 22 23 N 4 53 32 E"),
    ),
    RecordExample(
        type="MX",
        name="@",
        value="10 mx1.example.com",
        equivalents=("010 MX1.Example.COM.",),
        cloudflare={"content": "mx1.example.com", "priority": 10},
        content="mx1.example.com",
        invalid=("mx1.example.com", "70000 mx1.example.com"),
    ),
    RecordExample(
        type="NAPTR",
        name="@",
        value='100 10 "S" "SIP+D2U" "" _sip._udp.example.com.',
        equivalents=(
            '100 10 S SIP+D2U "" _SIP._udp.Example.com',
            '0100 010 "S" "SIP+D2U" "" _sip._udp.example.com',
        ),
        cloudflare={
            "data": {
                "order": 100,
                "preference": 10,
                "flags": "S",
                "service": "SIP+D2U",
                "regex": "",
                "replacement": "_sip._udp.example.com",
            }
        },
        content='100 10 "S" "SIP+D2U" "" _sip._udp.example.com',
        invalid=('100 10 "S" "SIP+D2U"', '70000 10 "S" "SIP+D2U" "" _sip._udp.example.com.'),
    ),
    RecordExample(
        type="NS",
        name="dev",
        value="ns1.example.net",
        equivalents=("NS1.example.net.",),
        cloudflare={"content": "ns1.example.net"},
        content="ns1.example.net",
        invalid=("ns1..example.net", "ns1.example.net extra"),
    ),
    RecordExample(
        type="OPENPGPKEY",
        name=PGP_OWNER,
        value=PGP_B64,
        equivalents=(_chunked(PGP_B64, 32),),
        cloudflare={"content": PGP_B64},
        content=PGP_B64,
        invalid=("not base64!", PGP_B64[:-1]),
    ),
    RecordExample(
        type="PTR",
        name="10",
        value="host10.example.com",
        equivalents=("HOST10.example.com.",),
        cloudflare={"content": "host10.example.com"},
        content="host10.example.com",
        invalid=("host10..example.com",),
    ),
    RecordExample(
        type="SMIMEA",
        name=SMIMEA_OWNER,
        value=f"3 0 1 {SMIMEA_HASH}",
        equivalents=(f"3 0 1 {SMIMEA_HASH.upper()}", f"3 0 1 {_chunked(SMIMEA_HASH, 32)}"),
        cloudflare={"data": {"usage": 3, "selector": 0, "matching_type": 1, "certificate": SMIMEA_HASH}},
        content=f"3 0 1 {SMIMEA_HASH}",
        invalid=("3 0 1 xyz", f"256 0 1 {SMIMEA_HASH}"),
    ),
    RecordExample(
        type="SRV",
        name="_sip._tcp",
        value="10 5 5060 sip.example.com",
        equivalents=("010 05 5060 SIP.example.com.",),
        cloudflare={"data": {"priority": 10, "weight": 5, "port": 5060, "target": "sip.example.com"}},
        content="5 5060 sip.example.com",
        invalid=("10 5 70000 sip.example.com", "10 5 sip.example.com"),
    ),
    RecordExample(
        type="SSHFP",
        name="host",
        value=f"4 2 {SSHFP_HASH}",
        equivalents=(f"4 2 {SSHFP_HASH.upper()}",),
        cloudflare={"data": {"algorithm": 4, "type": 2, "fingerprint": SSHFP_HASH}},
        content=f"4 2 {SSHFP_HASH}",
        invalid=("4 2 xyz", f"256 2 {SSHFP_HASH}"),
    ),
    RecordExample(
        type="SVCB",
        name="_dns",
        value="1 dns.example.net alpn=dot port=853",
        equivalents=('1 dns.example.net. alpn="dot" port="0853"',),
        cloudflare={"data": {"priority": 1, "target": "dns.example.net", "value": 'alpn="dot" port="853"'}},
        content='1 dns.example.net alpn="dot" port="853"',
        invalid=("1 dns.example.net port=notaport", "1 dns.example.net alpn=dot alpn=h2"),
    ),
    RecordExample(
        type="TLSA",
        name="_443._tcp.www",
        value=f"3 1 1 {TLSA_HASH}",
        equivalents=(f"3 1 1 {TLSA_HASH.upper()}", f"03 01 01 {_chunked(TLSA_HASH, 8)}"),
        cloudflare={"data": {"usage": 3, "selector": 1, "matching_type": 1, "certificate": TLSA_HASH}},
        content=f"3 1 1 {TLSA_HASH}",
        invalid=("3 1 1 xyz", f"3 1 1 {TLSA_HASH[:-1]}"),
    ),
    RecordExample(
        type="TXT",
        name="@",
        value='"v=spf1 include:_spf.example.net -all"',
        equivalents=(
            '"v=spf1 include:_spf.example.net \\045all"',
            '"v=spf1\\032include:_spf.example.net -all"',
        ),
        cloudflare={"content": '"v=spf1 include:_spf.example.net -all"'},
        content='"v=spf1 include:_spf.example.net -all"',
        invalid=('"unbalanced', '"' + "a" * 256 + '"'),
    ),
    RecordExample(
        type="URI",
        name="_ftp._tcp",
        value='10 1 "ftp://ftp.example.com/pub/"',
        equivalents=("10 1 ftp://ftp.example.com/pub/", '010 001 "ftp://ftp.example.com/pub/"'),
        cloudflare={"data": {"weight": 1, "target": "ftp://ftp.example.com/pub/"}, "priority": 10},
        content='1 "ftp://ftp.example.com/pub/"',
        invalid=('10 1 ""', "10 1"),
    ),
)

BY_TYPE: dict[str, RecordExample] = {example.type: example for example in EXAMPLES}
