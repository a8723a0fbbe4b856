"""Whole-review caching: a stored review comes back as it was; transient ones are never stored."""

from __future__ import annotations

import redis
from huggingface_hub.hf_api import BlobSecurityInfo

from checks.findings import Finding, Severity, Verdict
from checks.report import CheckSummary, FileReport, Report
from reviewbot.platforms.hub_security import describe_security
from reviewbot.render.markdown import render_markdown
from reviewbot.review_cache import (
    KEY_PREFIX,
    MemoryReviewCache,
    RedisReviewCache,
    review_key,
    storable,
)

DEAD_REDIS = "redis://127.0.0.1:9/0"


def _report(*findings: Finding) -> Report:
    return Report(
        findings=list(findings),
        files=[
            FileReport("model.bin", "pytorch-zip", "ab" * 32, Verdict.FAIL, bytes_read=132_000),
            FileReport("README.md", "text", None, Verdict.PASS, bytes_read=40),
        ],
        checks=[CheckSummary("weights", "weight-file scan", ["2 files"])],
    )


CRITICAL = Finding("weights", "unsafe-import", Severity.CRITICAL, "model.bin", "os.system", "op 12")


def test_a_stored_review_comes_back_with_the_same_verdict_and_comment() -> None:
    cache = MemoryReviewCache()
    report = _report(CRITICAL)
    cache.put("k", report)

    again = cache.get("k")

    assert again is not None
    assert again.to_dict() == report.to_dict()
    assert render_markdown(again) == render_markdown(report)


def test_the_memory_cache_keeps_only_the_most_recent_reviews() -> None:
    cache = MemoryReviewCache(size=2)
    for key in ("a", "b", "c"):
        cache.put(key, _report())
    assert cache.get("a") is None
    assert cache.get("c") is not None


def test_reviews_are_shared_through_redis(redis_url: str) -> None:
    writer, reader = RedisReviewCache(redis_url), RedisReviewCache(redis_url)
    key = review_key("github", "octo/models", "head1", "base1")
    writer.put(key, _report(CRITICAL))

    got = reader.get(key)

    assert got is not None and got.verdict is Verdict.FAIL
    client = redis.Redis.from_url(redis_url)
    assert 0 < int(client.ttl(KEY_PREFIX + key)) <= 24 * 3600
    client.set(KEY_PREFIX + key, b"not json")
    assert reader.get(key) is None  # a value it cannot read is a miss, not a crash
    client.close()


def test_an_unreachable_redis_is_a_miss_not_a_failed_review() -> None:
    cache = RedisReviewCache(DEAD_REDIS)
    cache.put("k", _report())
    assert cache.get("k") is None


def test_the_key_changes_with_any_input() -> None:
    base = review_key("github", "octo/models", "head1", "base1", 1 << 20)
    assert base == review_key("github", "octo/models", "head1", "base1", 1 << 20)
    assert base != review_key("github", "octo/models", "head2", "base1", 1 << 20)
    assert base != review_key("github", "octo/models", "head1", "base2", 1 << 20)  # policy moved
    assert base != review_key("github", "octo/models", "head1", "base1", 2 << 20)


def test_reviews_that_say_something_about_the_transfer_are_not_stored() -> None:
    unreadable = Finding("weights", "unreadable-file", Severity.HIGH, "model.bin", "HTTP 503")
    crashed = Finding("evals", "check-crashed", Severity.HIGH, "(evals)", "boom")
    assert storable(_report(CRITICAL))
    assert not storable(_report(unreadable))
    assert not storable(_report(crashed))
    no_card = _report()
    no_card.checks.append(CheckSummary("hub", "base models", ["base model x: unreachable"]))
    assert not storable(no_card)


def _security(status: str, imports: list[dict[str, str]] | None = None) -> BlobSecurityInfo:
    return BlobSecurityInfo(
        safe=status == "safe",
        status=status,
        av_scan={"virusFound": False, "virusNames": None},
        pickle_import_scan={"highestSafetyLevel": "dangerous", "imports": imports or []},
    )


def test_the_hubs_scan_reads_in_a_few_words() -> None:
    assert describe_security(None) is None
    assert describe_security(_security("safe")) == "safe"
    unsafe = _security(
        "unsafe",
        [
            {"module": "torch", "name": "FloatStorage", "safety": "innocuous"},
            {"module": "os", "name": "system", "safety": "dangerous"},
        ],
    )
    assert describe_security(unsafe) == "unsafe: os.system (dangerous)"


def test_the_files_table_shows_the_hubs_scan_and_what_was_read() -> None:
    report = _report(CRITICAL)
    report.files[0].platform_scan = "unsafe: os.system (dangerous)"
    report.files[1].cached = True

    body = render_markdown(report)

    assert "| File | Format | Verdict | Read | Hub scan |" in body
    assert "| 132.0 KB | unsafe: os.system \\(dangerous\\) |" in body  # markdown-escaped
    assert "| `README.md` | text | pass | cached |  |" in body
    assert "Files (2; 132.0 KB read, 1 from earlier reviews)" in body
    plain = render_markdown(_report())
    assert "Hub scan" not in plain  # GitHub files have no platform scan: no empty column
