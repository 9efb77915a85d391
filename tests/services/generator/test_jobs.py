"""A bug while making one job answers that job with internal_error, and says nothing of the code."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from services.contract import RenderJob
from services.generator.jobs import JobRunner


class BrokenStore:
    """An object store whose upload has a bug (not an outage: those are TransientError)."""

    bucket = "barcodes"

    async def put_new(self, key: str, body: bytes, content_type: str) -> bool:
        raise KeyError("internal_detail_of_the_store")


async def test_an_unexpected_exception_is_internal_error_without_its_name() -> None:
    with ThreadPoolExecutor(1) as executor:
        runner = JobRunner(BrokenStore(), executor, attempts=1, backoff_s=0.0)  # type: ignore[arg-type]
        result = await runner.run(RenderJob(job_id="job-7", company="Default", data="ABC", symbology="code128",
                                            format="png", options={}, engine="zint"))
    assert result.status == "failed" and result.error is not None
    assert result.error.code == "internal_error" and result.error.retryable
    assert "KeyError" not in result.error.message and "internal_detail" not in result.error.message
    assert "job-7" in result.error.message


class MemoryStore:
    bucket = "barcodes"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def put_new(self, key: str, body: bytes, content_type: str) -> bool:
        self.objects[key] = body
        return True


async def test_a_job_over_the_pixel_budget_fails_output_too_large_before_drawing() -> None:
    """The gateway checks the request's options; the company profile's merged in are checked
    here. The attacker's QR: the old estimate (modules only) said 7.8 M pixels and it completed as
    a 12201 x 12201 PNG; with its quiet zones counted it fails before drawing."""
    store = MemoryStore()
    with ThreadPoolExecutor(1) as executor:
        runner = JobRunner(store, executor, attempts=1, backoff_s=0.0)  # type: ignore[arg-type]
        result = await runner.run(RenderJob(job_id="job-8", company="Default", data="A", symbology="qrcode",
                                            format="png", engine="zint",
                                            options={"version": 10, "dpi": 2400, "module_width": 0.52,
                                                     "quiet_zone": 50}))
    assert result.status == "failed" and result.error is not None
    assert (result.error.code, result.error.retryable) == ("output_too_large", False)
    assert "pixels" in result.error.message and not store.objects


async def test_a_batch_row_says_whether_its_image_prints_its_text_even_when_cached() -> None:
    """The label sheet captions a row only when the image has no text line of its own; the
    second run of the same row is a cache hit and must say the same."""
    def job(n: int, symbology: str, options: dict[str, object], batch: str | None = "b1") -> RenderJob:
        return RenderJob(job_id=f"job-{n}", company="Default", data="ABC123", symbology=symbology, format="png",
                         options=options, engine="zint", batch_id=batch, row=n if batch else None)

    with ThreadPoolExecutor(1) as executor:
        runner = JobRunner(MemoryStore(), executor, attempts=1, backoff_s=0.0)  # type: ignore[arg-type]
        printed = [(await runner.run(job(n, name, options))).text_printed
                   for n, (name, options) in enumerate([("code128", {}), ("code128", {}), ("qrcode", {}),
                                                        ("code128", {"write_text": False})])]
        single = await runner.run(job(9, "code128", {}, batch=None))
    assert printed == [True, True, False, False]
    assert single.text_printed is None  # single jobs carry nothing extra


async def test_a_small_file_comes_back_in_the_result_only_when_asked() -> None:
    """An image URL's job asks for its file in the result (the gateway answers with it, no store
    read); a large one, and every job that does not ask, carries none."""
    import base64

    def job(n: int, inline: bool | None, fmt: str = "png", data: str = "INLINE") -> RenderJob:
        return RenderJob(job_id=f"job-i{n}", company="Default", data=f"{data}-{n}", symbology="qrcode",
                         format=fmt, options={}, engine="zint", inline_file=inline)

    with ThreadPoolExecutor(1) as executor:
        store = MemoryStore()
        runner = JobRunner(store, executor, attempts=1, backoff_s=0.0)  # type: ignore[arg-type]
        asked = await runner.run(job(1, True))
        not_asked = await runner.run(job(2, None))
        large = await runner.run(job(3, True, "svg", "X" * 1500))  # an SVG of a dense QR code: ~48 KB
    assert asked.file_b64 is not None and base64.b64decode(asked.file_b64) == store.objects[asked.key or ""]
    assert not_asked.file_b64 is None
    assert large.size_bytes is not None and large.size_bytes > 16 * 1024 and large.file_b64 is None


async def test_a_repeat_answered_from_the_known_keys_says_its_file_was_verified() -> None:
    """Found by `make test` (CI, 2026-12-07): two batches with the same rows at once; a row whose
    twin had been drawn first was answered from the known keys without `verified`, and the
    manifest said the row's file was not verified."""
    def job(n: int, symbology: str = "ean13", data: str = "590000000003") -> RenderJob:
        return RenderJob(job_id=f"job-v{n}", company="Default", data=data, symbology=symbology, format="png",
                         options={}, engine="zint")

    with ThreadPoolExecutor(1) as executor:
        runner = JobRunner(MemoryStore(), executor, attempts=1, backoff_s=0.0)  # type: ignore[arg-type]
        first, repeat = await runner.run(job(1)), await runner.run(job(2))
    assert (first.cached, first.verified) == (False, True)
    assert (repeat.cached, repeat.verified, repeat.key) == (True, True, first.key)
