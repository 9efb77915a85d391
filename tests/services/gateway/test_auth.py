from __future__ import annotations

import time
from pathlib import Path

import pytest

from services.gateway.auth import KeyRing, Limits, RateLimited, TokenBucket, key_hash
from services.gateway.errors import ApiError
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
    assert ring.may_read(a, "CompanyA") and not ring.may_read(anonymous, "CompanyA")
    assert ring.may_read(anonymous, None)


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
