from __future__ import annotations

import time
from pathlib import Path

import pytest

from services.gateway.edge.auth import Caller, KeyRing, Limits, RateLimited, TokenBucket, key_hash
from services.gateway.edge.errors import ApiError
from services.settings import ConfigError


def test_keys_from_env_and_file_are_hashes_mapped_to_companies(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# ops file\n{key_hash('b-key')} CompanyB  # warehouse\n")
    ring = KeyRing.load(f"{key_hash('a-key')}=CompanyA", str(path))
    assert ring.caller("a-key", "1.2.3.4").company == "CompanyA"
    assert ring.caller("b-key", "1.2.3.4").company == "CompanyB"
    assert ring.caller(None, "1.2.3.4").identity == "anonymous:1.2.3.4"
    with pytest.raises(ApiError) as caught:
        ring.caller("wrong", "1.2.3.4")
    assert (caught.value.status, caught.value.code) == (401, "invalid_api_key")


def test_a_plain_key_in_the_config_is_refused() -> None:
    with pytest.raises(ConfigError, match="digest"):
        KeyRing.load("my-secret-key=CompanyA", "")


def test_company_rules() -> None:
    ring = KeyRing({key_hash("a"): "CompanyA"})
    a, anonymous = ring.caller("a", "x"), ring.caller(None, "x")
    assert ring.effective_company(a, None) == "CompanyA"
    assert ring.effective_company(anonymous, "Whatever") == "Whatever"  # routed to Default
    for caller, company in ((a, "CompanyB"), (anonymous, "CompanyA")):
        with pytest.raises(ApiError):
            ring.effective_company(caller, company)
    # Before the request is read, the company decides (as this replica knows it).
    assert ring.may_read(a, None, "CompanyA") and not ring.may_read(anonymous, None, "CompanyA")
    assert ring.may_read(anonymous, None, None)


def test_a_keyed_job_is_its_companys_even_on_a_replica_without_keys() -> None:
    """Issue 14 item 20: replicas with different key settings on the same topics exposed keyed
    jobs through the keyless one. The owner travels with the request."""
    keyed = KeyRing({key_hash("a"): "CompanyA"}, owner_salt=b"s")
    keyless = KeyRing({}, owner_salt=b"s")
    owner = keyed.caller("a", "x").owner
    assert owner == "company:CompanyA"
    assert not keyless.may_read(keyless.caller(None, "x"), owner, "CompanyA")
    assert keyed.may_read(keyed.caller("a", "y"), owner, "CompanyA")
    anonymous_job = keyless.caller(None, "10.0.0.1").owner
    assert keyless.may_read(keyless.caller(None, "10.0.0.2"), anonymous_job, None)  # the id is the capability


def test_anonymous_owners_are_per_address_and_hide_the_address() -> None:
    ring = KeyRing({}, owner_salt=b"secret")
    one, again, other = (ring.caller(None, ip).owner for ip in ("10.0.0.1", "10.0.0.1", "10.0.0.2"))
    assert one == again != other
    assert "10.0.0.1" not in one and one.startswith("anonymous:")
    assert KeyRing({}, owner_salt=b"other").caller(None, "10.0.0.1").owner != one


def test_the_anonymous_set_of_companies_is_a_setting() -> None:
    """Issue 14 item 11: with no keys configured, anonymous callers could pick any company."""
    ring = KeyRing({}, anonymous_companies=frozenset({"Default"}))
    anonymous = ring.caller(None, "x")
    assert ring.effective_company(anonymous, None) is None
    assert ring.effective_company(anonymous, "Default") == "Default"
    with pytest.raises(ApiError) as refused:
        ring.effective_company(anonymous, "CompanyA")
    assert refused.value.code == "company_not_allowed"
    assert KeyRing({}).effective_company(anonymous, "CompanyA") == "CompanyA"  # "*" (the default)


def test_wrong_keys_from_one_address_run_out_of_budget_right_keys_included() -> None:
    """Issue 14 item 15: 60 wrong keys in 0.76 s were all answered 401."""
    limits = Limits(rate=0, burst=1, max_sockets=1, auth_failures_per_minute=6, auth_failure_burst=3)
    for _ in range(3):
        limits.check_auth_budget("10.0.0.1")
        limits.auth_failed("10.0.0.1")
    with pytest.raises(ApiError) as refused:
        limits.check_auth_budget("10.0.0.1")
    assert (refused.value.status, refused.value.code) == (429, "too_many_auth_failures")
    assert refused.value.retry_after is not None and 0 < refused.value.retry_after <= 10
    limits.check_auth_budget("10.0.0.2")  # another address is not affected


def test_token_bucket_allows_the_burst_then_says_how_long_to_wait() -> None:
    bucket = TokenBucket(rate=10, burst=3)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = bucket.take()
    assert 0 < wait <= 0.1
    time.sleep(wait + 0.01)
    assert bucket.take() == 0.0


def test_limits_per_caller() -> None:
    ring = KeyRing({})
    limits = Limits(rate=1, burst=1, max_sockets=1)
    one, two = ring.caller(None, "1"), ring.caller(None, "2")
    limits.take(one)
    with pytest.raises(RateLimited):
        limits.take(one)
    limits.take(two)  # another caller has its own bucket
    limits.open_socket(one)
    with pytest.raises(ApiError):
        limits.open_socket(one)
    limits.close_socket(one)
    limits.open_socket(one)


@pytest.mark.parametrize("key", ["\udcff\udcfe", "caf\udce9", "ключ"])
def test_a_key_that_is_not_utf8_is_an_unknown_key_not_an_error(key: str) -> None:
    """A non-UTF-8 byte in X-API-Key reaches us escaped; it used to raise UnicodeEncodeError (a 500)."""
    ring = KeyRing.load(f"{key_hash('right-key')}=CompanyA", "")
    with pytest.raises(ApiError) as refused:
        ring.caller(key, "127.0.0.1")
    assert refused.value.code == "invalid_api_key" and refused.value.status == 401


def test_a_costly_charge_puts_the_caller_in_debt_until_refilled() -> None:
    """costs.py: a request admitted with tokens in hand is charged in full; the caller then
    waits until the debt is refilled (a new bucket is full, a bucket in debt is not)."""
    limits = Limits(200, 400, 10)
    caller = Caller("anonymous:203.0.113.9", None)
    limits.take(caller)
    limits.charge(caller, 300)
    limits.check_budget(caller)  # 99 left: still served
    limits.charge(caller, 300)
    with pytest.raises(RateLimited) as refused:
        limits.check_budget(caller)
    assert refused.value.retry_after is not None and refused.value.retry_after > 0.9
    with pytest.raises(RateLimited):
        limits.take(caller)
    limits.charge(caller, -1000)  # a refund: back to the burst, never above
    limits.take(caller)
