import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.gateway.tokens import new_client_id, resume_token, token_valid


def test_tokens_verify_only_for_their_client_and_secret() -> None:
    client = new_client_id()
    token = resume_token(b"secret", client)
    assert token_valid(b"secret", client, token)
    assert not token_valid(b"secret", new_client_id(), token)
    assert not token_valid(b"other", client, token)
    assert not token_valid(b"secret", client, token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_tokens_expire() -> None:
    client = new_client_id()
    token = resume_token(b"secret", client, ttl_s=60, now=1000.0)
    assert token_valid(b"secret", client, token, now=1059.0)
    assert not token_valid(b"secret", client, token, now=1061.0)
    assert not token_valid(b"secret", client, "not-a-token")


@given(client_id=st.text(), token=st.text())
@settings(max_examples=2000, deadline=None)
def test_any_pair_of_strings_is_refused_without_an_exception(client_id: str, token: str) -> None:
    """Malformed resume tokens (non-ASCII digits, a 5000-digit expiry, non-ASCII MAC text) used to
    raise inside the check and drop the socket (1006) instead of answering invalid_resume_token."""
    assert token_valid(b"secret", client_id, token) is False


@pytest.mark.parametrize("token", ["١٢٣.abc", "²." + "A" * 43, "9" * 5000 + "." + "A" * 43, "1.é" + "A" * 42,
                                   "99999999999." + "\u00ff" * 43, ""])
def test_the_tokens_an_attacker_sent_are_refused(token: str) -> None:
    assert token_valid(b"secret", new_client_id(), token) is False


@given(junk=st.text(min_size=1))
@settings(max_examples=300, deadline=None)
def test_a_valid_token_with_anything_appended_is_refused(junk: str) -> None:
    client = new_client_id()
    assert token_valid(b"secret", client, resume_token(b"secret", client) + junk) is False
