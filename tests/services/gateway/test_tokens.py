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
