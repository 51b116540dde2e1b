"""The HTTP contract over real sockets: envelope, auth, routing, listing, counters, spec checks."""

from __future__ import annotations

import json
import socket

import httpx

from devstack.emulator import EmulatorServer


def errors(resp: httpx.Response) -> list[int]:
    body = resp.json()
    assert set(body) >= {"success", "errors", "messages", "result"}
    return [e["code"] for e in body["errors"]]


def test_every_answer_is_a_cloudflare_envelope(client: httpx.Client, emu: EmulatorServer) -> None:
    ok = client.get("/zones", params={"name": "example.com"})
    assert ok.status_code == 200 and ok.json()["success"] is True
    assert ok.json()["result"][0]["id"] == emu.zone_id("example.com")
    assert ok.json()["result_info"] == {
        "page": 1,
        "per_page": 20,
        "count": 1,
        "total_count": 1,
        "total_pages": 1,
    }
    missing = client.get("/no/such/route")
    assert (missing.status_code, errors(missing)) == (404, [7000])
    assert missing.json()["result"] is None and missing.json()["success"] is False


def test_authentication_errors(emu: EmulatorServer) -> None:
    url = f"{emu.base_url}/zones"
    assert errors(r := httpx.get(url)) == [9106] and r.status_code == 400
    assert (
        errors(r := httpx.get(url, headers={"Authorization": "Bearer wrong"})) == [10000]
        and r.status_code == 403
    )
    assert (
        errors(r := httpx.get(url, headers={"Authorization": "Basic abc"})) == [6111] and r.status_code == 400
    )


def test_malformed_ids_and_wrong_methods(client: httpx.Client, emu: EmulatorServer) -> None:
    z = emu.zone_id("example.com")
    assert (r := client.get("/zones/not-an-id/dns_records")).status_code == 400 and errors(r) == [7003]
    assert (r := client.get(f"/zones/{z}/dns_records/xyz")).status_code == 400 and errors(r) == [7003]
    assert (r := client.get(f"/zones/{'a' * 32}")).status_code == 404 and errors(r) == [7003]
    assert (r := client.get(f"/zones/{z}/dns_records/batch")).status_code == 405 and errors(r) == [7001]
    assert (r := client.get(f"/zones/{z}/dns_records/{'f' * 32}")).status_code == 404 and errors(r) == [81044]


def test_malformed_bodies_are_4xx_never_5xx(client: httpx.Client, emu: EmulatorServer) -> None:
    z = emu.zone_id("example.com")
    url = f"/zones/{z}/dns_records"
    for raw in [b"{", b"[]", b"null", b'{"type": 1e999999}', b"9" * 5000, b"\xff\xfe", b"[" * 100000, b"NaN"]:
        resp = client.post(url, content=raw, headers={"Content-Type": "application/json"})
        assert 400 <= resp.status_code < 500, raw[:20]
        assert resp.json()["success"] is False
    for params in [
        {"per_page": "0"},
        {"per_page": "5000001"},
        {"page": "abc"},
        {"order": "bogus"},
        {"type": "SPF"},
    ]:
        assert client.get(url, params=params).status_code == 400


def test_create_get_patch_put_delete_roundtrip(client: httpx.Client, emu: EmulatorServer) -> None:
    z = emu.zone_id("example.com")
    created = client.post(
        f"/zones/{z}/dns_records", json={"type": "A", "name": "www", "content": "192.0.2.1"}
    ).json()
    rid = created["result"]["id"]
    assert len(rid) == 32 and created["result"]["name"] == "www.example.com"
    assert created["result"]["created_on"].endswith("Z") and "." in created["result"]["created_on"]
    assert client.get(f"/zones/{z}/dns_records/{rid}").json()["result"]["content"] == "192.0.2.1"
    patched = client.patch(f"/zones/{z}/dns_records/{rid}", json={"ttl": 120}).json()["result"]
    assert patched["ttl"] == 120
    put = client.put(
        f"/zones/{z}/dns_records/{rid}", json={"type": "A", "name": "www", "content": "192.0.2.2"}
    )
    assert put.json()["result"]["ttl"] == 1
    assert client.delete(f"/zones/{z}/dns_records/{rid}").json()["result"] == {"id": rid}
    assert emu.records("example.com") == []
    assert emu.spec_violations == []


def test_list_filters_and_pagination(client: httpx.Client, emu: EmulatorServer) -> None:
    z = emu.zone_id("example.com")
    emu.seed("example.com", [{"type": "A", "name": f"h{i}", "content": f"192.0.2.{i}"} for i in range(1, 8)])
    emu.seed("example.com", [{"type": "TXT", "name": "h1", "content": "hello"}])
    url = f"/zones/{z}/dns_records"
    assert len(client.get(url, params={"name.exact": "H1.example.com"}).json()["result"]) == 2
    assert len(client.get(url, params={"name": "h1.example.com", "type": "TXT"}).json()["result"]) == 1
    assert client.get(url, params={"content": '"HELLO"'}).json()["result_info"]["count"] == 1
    assert client.get(url, params={"name.startswith": "h7"}).json()["result_info"]["count"] == 1
    page = client.get(url, params={"per_page": 3, "page": 3, "order": "name", "direction": "desc"}).json()
    assert page["result_info"] == {"page": 3, "per_page": 3, "count": 2, "total_count": 8, "total_pages": 3}
    past = client.get(url, params={"per_page": 3, "page": 9})
    assert past.status_code == 200 and past.json()["result"] == []
    assert emu.spec_violations == []


def test_zone_name_filter_operators(client: httpx.Client) -> None:
    def names(query: str) -> list[str]:
        return sorted(z["name"] for z in client.get("/zones", params={"name": query}).json()["result"])

    assert names("contains:.example") == ["ent.example", "shop.example"]
    assert names("starts_with:SHOP") == ["shop.example"]
    assert names("starts_with_case_sensitive:SHOP") == []
    assert names("not_equal:example.com") == ["ent.example", "shop.example"]
    assert client.get("/zones", params={"per_page": 4}).status_code == 400


def test_counters_are_keyed_by_method_and_path_template(client: httpx.Client, emu: EmulatorServer) -> None:
    z = emu.zone_id("example.com")
    client.post(f"/zones/{z}/dns_records/batch", json={})
    client.post(f"/zones/{z}/dns_records/batch", json={"posts": []})
    client.get(f"/zones/{z}/dns_records")
    assert emu.counters() == {
        "POST /zones/{zone_id}/dns_records/batch": 2,
        "GET /zones/{zone_id}/dns_records": 1,
    }
    assert httpx.get(f"{emu.admin_url}/counters").json()["result"] == emu.counters()
    httpx.post(f"{emu.admin_url}/counters/reset")
    assert emu.counters() == {}


def test_spec_violations_name_method_path_and_problem(client: httpx.Client, emu: EmulatorServer) -> None:
    z = emu.zone_id("example.com")
    client.post(f"/zones/{z}/dns_records", json={"type": "MX", "name": "m", "content": "mx.example.com"})
    (violation,) = emu.spec_violations
    assert violation.startswith(f"POST /client/v4/zones/{z}/dns_records:") and "priority" in violation
    assert httpx.get(f"{emu.admin_url}/spec-violations").json()["result"] == [violation]


def test_token_never_appears_in_violations_or_repr(emu: EmulatorServer, token: str) -> None:
    httpx.get(f"{emu.base_url}/nowhere", headers={"Authorization": f"Bearer {token}"})
    assert emu.spec_violations and token not in json.dumps(emu.spec_violations)
    assert token not in repr(emu)


def test_stop_releases_the_port_and_cuts_keepalive_connections(token: str) -> None:
    emu = EmulatorServer(token=token, validate_requests=False).start()
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get(f"{emu.base_url}/zones").status_code == 200
        emu.stop()
        try:
            c.get(f"{emu.base_url}/zones", timeout=2)
        except httpx.TransportError:
            pass
        else:
            raise AssertionError("served after stop()")
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the cut connection lingers in TIME_WAIT
        s.bind(("127.0.0.1", emu.port))
