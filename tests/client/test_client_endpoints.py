"""Each endpoint sends the right request and returns typed results (MockTransport, no sockets)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from client_fakes import BASE_URL, TOKEN, ZONE_ID, envelope, failure, record, zone_obj

from dnsbatch.cloudflare import (
    BatchResult,
    CloudflareClient,
    Record,
    RejectedError,
    Zone,
    ZoneNotFoundError,
)

MakeClient = Callable[..., CloudflareClient]
PREFIX = "/client/v4"


class Server:
    """Answers from a list of (status, body) in order and records every request."""

    def __init__(self, *answers: tuple[int, Any]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.answers.pop(0)
        return httpx.Response(status, json=body)

    def sent_json(self, i: int = -1) -> Any:
        return json.loads(self.requests[i].content)

    def params(self, i: int = -1) -> dict[str, str]:
        return dict(self.requests[i].url.params)


def test_zone_by_name_returns_a_typed_zone_and_sends_the_bearer_token(make_client: MakeClient) -> None:
    server = Server((200, envelope([zone_obj("example.com", plan="pro")])))
    zone = make_client(server).zone_by_name("Example.COM.")
    assert zone == Zone(id=ZONE_ID, name="example.com", plan="pro")
    request = server.requests[0]
    assert request.method == "GET"
    assert request.url.path == f"{PREFIX}/zones"
    assert server.params() == {"name": "example.com"}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(request.url)


def test_zone_lookups_are_cached_per_client(make_client: MakeClient) -> None:
    server = Server((200, envelope([zone_obj()])))
    client = make_client(server)
    assert client.zone_by_name("example.com") is client.zone_by_name("EXAMPLE.com")
    assert len(server.requests) == 1


def test_an_unknown_zone_raises_zone_not_found_and_is_not_cached(make_client: MakeClient) -> None:
    server = Server((200, envelope([])), (200, envelope([zone_obj("example.org")])))
    client = make_client(server)
    with pytest.raises(ZoneNotFoundError, match=r"no zone named 'example\.org'.*Zone Read"):
        client.zone_by_name("example.org")
    assert client.zone_by_name("example.org").name == "example.org"
    assert len(server.requests) == 2


def test_zone_lookup_ignores_zones_whose_name_only_contains_the_query(make_client: MakeClient) -> None:
    server = Server((200, envelope([zone_obj("sub.example.com", "a" * 32), zone_obj("example.com")])))
    assert make_client(server).zone_by_name("example.com").id == ZONE_ID


def page(records: list[dict[str, Any]], page_no: int, per_page: int, total: int) -> dict[str, Any]:
    info = {"page": page_no, "per_page": per_page, "count": len(records), "total_count": total}
    body: dict[str, Any] = envelope(records, result_info=info)
    return body


def test_list_records_reads_every_page_until_a_short_one(make_client: MakeClient) -> None:
    recs = [record(f"h{i}.example.com") for i in range(5)]
    server = Server(
        (200, page(recs[:2], 1, 2, 5)), (200, page(recs[2:4], 2, 2, 5)), (200, page(recs[4:], 3, 2, 5))
    )
    result = make_client(server, per_page=2).list_records(ZONE_ID)
    assert [r.name for r in result] == [f"h{i}.example.com" for i in range(5)]
    assert all(isinstance(r, Record) for r in result)
    assert [server.params(i) for i in range(3)] == [{"per_page": "2", "page": str(n)} for n in (1, 2, 3)]
    assert server.requests[0].url.path == f"{PREFIX}/zones/{ZONE_ID}/dns_records"


def test_list_records_asks_for_the_next_page_after_a_full_one_and_stops_on_empty(
    make_client: MakeClient,
) -> None:
    recs = [record(f"h{i}.example.com") for i in range(4)]
    server = Server((200, envelope(recs[:2])), (200, envelope(recs[2:])), (200, envelope([])))
    assert len(make_client(server, per_page=2).list_records(ZONE_ID)) == 4
    assert len(server.requests) == 3


def test_list_records_stops_at_total_pages(make_client: MakeClient) -> None:
    recs = [record(f"h{i}.example.com") for i in range(4)]
    info = {"page": 1, "per_page": 2, "total_pages": 2, "count": 2, "total_count": 4}
    server = Server(
        (200, envelope(recs[:2], result_info=info)),
        (200, envelope(recs[2:], result_info={**info, "page": 2})),
    )
    assert len(make_client(server, per_page=2).list_records(ZONE_ID)) == 4
    assert len(server.requests) == 2


def test_list_records_follows_a_server_capped_page_size(make_client: MakeClient) -> None:
    # Asked for 5,000 but the server only gives 2 a page: a 2-record page is full, not the last one.
    recs = [record(f"h{i}.example.com") for i in range(3)]
    server = Server((200, page(recs[:2], 1, 2, 3)), (200, page(recs[2:], 2, 2, 3)))
    assert len(make_client(server).list_records(ZONE_ID)) == 3
    assert server.params(0)["per_page"] == "5000"


def test_list_records_keeps_one_copy_of_a_record_seen_on_two_pages(make_client: MakeClient) -> None:
    a, b, c = (record(f"h{i}.example.com") for i in range(3))
    server = Server((200, page([a, b], 1, 2, 3)), (200, page([b, c], 2, 2, 3)), (200, page([], 3, 2, 3)))
    assert [r.id for r in make_client(server, per_page=2).list_records(ZONE_ID)] == [
        a["id"],
        b["id"],
        c["id"],
    ]


def test_list_records_stops_when_a_page_brings_nothing_new(make_client: MakeClient) -> None:
    a, b = record("a.example.com"), record("b.example.com")
    server = Server((200, envelope([a, b])), (200, envelope([a, b])), (200, envelope([a, b])))
    assert len(make_client(server, per_page=2).list_records(ZONE_ID)) == 2
    assert len(server.requests) == 2


def test_a_page_of_only_shifted_records_does_not_end_the_listing_early(make_client: MakeClient) -> None:
    # Deletes between page reads shifted page 2 back onto records already seen; total_pages says go on.
    a, b, c = (record(f"h{i}.example.com") for i in range(3))
    info = {"per_page": 2, "total_pages": 3}
    server = Server(
        (200, envelope([a, b], result_info=info)),
        (200, envelope([a, b], result_info=info)),
        (200, envelope([c], result_info=info)),
    )
    assert [r.id for r in make_client(server, per_page=2).list_records(ZONE_ID)] == [
        a["id"],
        b["id"],
        c["id"],
    ]


def test_list_records_filters_by_exact_name_and_type(make_client: MakeClient) -> None:
    server = Server((200, envelope([record("www.example.com", "AAAA", "2001:db8::1")])))
    result = make_client(server).list_records(ZONE_ID, name="www.example.com", type="AAAA")
    assert result[0].content == "2001:db8::1"
    assert server.params() == {
        "per_page": "5000",
        "page": "1",
        "name.exact": "www.example.com",
        "type": "AAAA",
    }


def test_an_empty_zone_costs_one_request(make_client: MakeClient) -> None:
    server = Server((200, page([], 1, 5000, 0)))
    assert make_client(server).list_records(ZONE_ID) == []
    assert len(server.requests) == 1


def test_batch_posts_the_body_and_returns_typed_results(make_client: MakeClient) -> None:
    posted = record("new.example.com")
    deleted = record("old.example.com")
    result = {"deletes": [deleted], "patches": [], "puts": [], "posts": [posted]}
    server = Server((200, envelope(result)))
    body = {
        "deletes": [{"id": deleted["id"]}],
        "posts": [{"name": "new", "type": "A", "content": "192.0.2.1"}],
    }
    out = make_client(server).batch(ZONE_ID, body)
    assert isinstance(out, BatchResult)
    assert [r.id for r in out.deletes] == [deleted["id"]]
    assert out.posts[0].name == "new.example.com"
    assert out.puts == ()
    assert server.requests[0].method == "POST"
    assert server.requests[0].url.path == f"{PREFIX}/zones/{ZONE_ID}/dns_records/batch"
    assert server.sent_json() == body


def test_individual_record_calls_use_the_right_verbs_paths_and_bodies(make_client: MakeClient) -> None:
    rec = record("www.example.com", id="f" * 32)
    server = Server(*[(200, envelope(rec))] * 4, (200, envelope({"id": rec["id"]})))
    client = make_client(server)
    body = {"name": "www", "type": "A", "content": "192.0.2.1"}
    assert client.get_record(ZONE_ID, rec["id"]).id == rec["id"]
    assert client.create_record(ZONE_ID, body).name == "www.example.com"
    assert client.put_record(ZONE_ID, rec["id"], body).type == "A"
    assert client.patch_record(ZONE_ID, rec["id"], {"content": "192.0.2.9"}).content == "192.0.2.1"
    assert client.delete_record(ZONE_ID, rec["id"]) == rec["id"]
    one = f"{PREFIX}/zones/{ZONE_ID}/dns_records/{rec['id']}"
    sent = [(r.method, r.url.path) for r in server.requests]
    assert sent == [
        ("GET", one),
        ("POST", f"{PREFIX}/zones/{ZONE_ID}/dns_records"),
        ("PUT", one),
        ("PATCH", one),
        ("DELETE", one),
    ]
    assert [server.sent_json(i) for i in (1, 2, 3)] == [body, body, {"content": "192.0.2.9"}]
    assert server.requests[0].content == b""
    assert server.requests[4].content == b""


def test_an_id_cannot_change_which_endpoint_is_called(make_client: MakeClient) -> None:
    server = Server((200, envelope(record())))
    make_client(server).get_record(ZONE_ID, "../../zones?x=1")
    assert (
        server.requests[0].url.raw_path.decode()
        == f"{PREFIX}/zones/{ZONE_ID}/dns_records/..%2F..%2Fzones%3Fx%3D1"
    )
    with pytest.raises(ValueError):
        make_client(server).get_record(ZONE_ID, "")


def test_repr_shows_the_base_url_but_never_the_token(make_client: MakeClient) -> None:
    client = make_client(Server())
    assert BASE_URL in repr(client)
    assert TOKEN not in repr(client)
    assert TOKEN not in repr(vars(client))


@pytest.mark.parametrize("bad", ["", "   ", "abc def", 'ab"c', "tök"])
def test_malformed_tokens_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        CloudflareClient(BASE_URL, bad)
    if bad.strip():
        assert bad not in str(info.value)


def test_surrounding_whitespace_of_a_stored_token_is_ignored() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json=envelope([zone_obj()]))

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        CloudflareClient(BASE_URL, f"  {TOKEN}\n", http=http).zone_by_name("example.com")
    assert seen == [f"Bearer {TOKEN}"]


def test_close_closes_only_a_connection_pool_the_client_created() -> None:
    injected = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    with CloudflareClient(BASE_URL, TOKEN, http=injected):
        pass
    assert not injected.is_closed
    injected.close()
    owned = CloudflareClient(BASE_URL, TOKEN)
    owned.close()
    assert owned._http.is_closed


def test_invalid_construction_arguments_are_refused() -> None:
    for kwargs in ({"per_page": 0}, {"timeout": 0.0}, {"min_interval": -1.0}):
        with pytest.raises(ValueError):
            CloudflareClient(BASE_URL, TOKEN, **kwargs)
    with pytest.raises(ValueError):
        CloudflareClient("api.cloudflare.com/client/v4", TOKEN)


def test_error_responses_surface_cloudflare_codes(make_client: MakeClient) -> None:
    server = Server((404, failure(81044, "Record does not exist.")))
    with pytest.raises(RejectedError) as info:
        make_client(server).delete_record(ZONE_ID, "e" * 32)
    assert info.value.codes == (81044,)
    assert str(info.value) == (
        f"DELETE /zones/{ZONE_ID}/dns_records/{'e' * 32} rejected (HTTP 404): 81044 Record does not exist."
    )
