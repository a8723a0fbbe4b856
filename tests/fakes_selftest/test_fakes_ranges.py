"""The fakes serve multi-gigabyte files by range, count every byte, and report the Hub's scan."""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub.hf_api import RepoFile, RepoFolder

from tests.fakes import big_models, fake_github, fake_hub
from tests.fakes.blobs import (
    SEND_CHUNK,
    Blob,
    RangeNotSatisfiable,
    git_blob_sha1,
    lfs_pointer,
    parse_range,
)
from tests.fakes.fake_github import FakeGitHub
from tests.fakes.fake_hub import FakeHub

GIB = 1 << 30
# Past 4 GiB, where a 32-bit offset or length would wrap; odd, so no arithmetic comes out round.
BIG_SIZE = 4 * GIB + (4 << 20) + 123
MARKS = {0: b"HEAD-MARK", 4 * GIB + 7: b"PAST-4GIB", BIG_SIZE - 9: b"TAIL-MARK"}
# Known rather than computed per run (8 s); the whole-stream test hashes what it is served.
BIG_SHA256 = "c3e431588d56ec45a5e1b270d1c6674da5600736d7cf1d2d17e9cd7f7b65711a"
HASH_LIMIT = 64 << 20  # a Blob bigger than this must never be hashed by a route under test


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sparse file over 4 GiB (no disk, no memory) with marks to find."""
    path = tmp_path_factory.mktemp("big") / "model.safetensors"
    with path.open("wb") as f:
        f.truncate(BIG_SIZE)
        for at, mark in MARKS.items():
            f.seek(at)
            f.write(mark)
    return path


@pytest.fixture
def big(big_file: Path, monkeypatch: pytest.MonkeyPatch) -> Blob:
    """The big file as a Blob whose sha256 is given; any route that would hash it fails."""
    real = Blob._digest

    def guarded(self: Blob, digest: Any) -> str:
        if self.size > HASH_LIMIT:
            raise AssertionError(f"a full read of {self!r} to hash it")
        return real(self, digest)

    monkeypatch.setattr(Blob, "_digest", guarded)
    return Blob.of_file(big_file, sha256=BIG_SHA256)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    yield from fake_hub.serve(tmp_path / "hub")


@pytest.fixture(scope="module")
def github(shared_dir: Path) -> Iterator[FakeGitHub]:
    _private, public = fake_github.app_key_pair()
    yield from fake_github.serve(shared_dir, 1, public)


@pytest.fixture
def token(github: FakeGitHub) -> str:
    """An installation token the fake accepts, as if the App had asked for one."""
    value = "ghs_" + os.urandom(8).hex()
    github.tokens[value] = datetime.now(UTC) + timedelta(hours=1)
    github.reset_counters()
    return value


def _get(url: str, range_: str | None = None, **headers: str) -> requests.Response:
    if range_ is not None:
        headers["Range"] = range_
    return requests.get(url, headers=headers, timeout=30)


# -- Blob and Range -------------------------------------------------------------------------


def test_bytes_and_file_blobs_agree(tmp_path: Path) -> None:
    data = os.urandom(3 * SEND_CHUNK + 17)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    for blob in (Blob.of_bytes(data), Blob.of_file(path)):
        assert blob.size == len(data)
        assert blob.sha256 == hashlib.sha256(data).hexdigest()
        assert blob.git_sha1 == git_blob_sha1(data)
        assert blob.read(5, 10) == data[5:15]
        assert blob.read(len(data) - 3, 10) == data[-3:]
        assert blob.read() == data
        pieces = list(blob.chunks(7, 2 * SEND_CHUNK + 5))
        assert [len(p) for p in pieces] == [SEND_CHUNK, SEND_CHUNK, 5]
        assert b"".join(pieces) == data[7 : 7 + 2 * SEND_CHUNK + 5]
        assert blob.startswith(data[:4])
    assert Blob.coerce(data).read() == data
    assert lfs_pointer(data) == lfs_pointer(Blob.of_file(path))


def test_file_blob_reads_only_what_is_asked(big: Blob) -> None:
    assert big.size == BIG_SIZE and not big.in_memory
    for at, mark in MARKS.items():
        assert big.read(at, len(mark)) == mark
    assert big.read(BIG_SIZE - 4) == b"MARK"
    assert big.sha256  # given, so the guard lets it through


@pytest.mark.parametrize(
    ("header", "size", "span"),
    [
        (None, 10, None),
        ("bytes=0-0", 10, (0, 1)),
        ("bytes=2-5", 10, (2, 6)),
        ("bytes=2-", 10, (2, 10)),
        ("bytes=2-99", 10, (2, 10)),
        ("bytes=-3", 10, (7, 10)),
        ("bytes=-30", 10, (0, 10)),
        ("bytes=5-2", 10, None),  # B < A: ignored, the whole file
        ("bytes=0-1,4-5", 10, None),  # more than one range: answered whole
        ("items=0-1", 10, None),
        ("bytes=10-", 10, RangeNotSatisfiable),
        ("bytes=10-20", 10, RangeNotSatisfiable),
        ("bytes=-0", 10, RangeNotSatisfiable),
        ("bytes=0-", 0, RangeNotSatisfiable),
    ],
)
def test_parse_range(header: str | None, size: int, span: object) -> None:
    if span is RangeNotSatisfiable:
        with pytest.raises(RangeNotSatisfiable):
            parse_range(header, size)
    else:
        assert parse_range(header, size) == span


# -- the fake Hub ---------------------------------------------------------------------------


def test_hub_lfs_entry_names_its_pointer_and_nothing_is_hashed(hub: FakeHub, big: Blob) -> None:
    hub.add_repo("org/big", {"model.safetensors": big, "README.md": "# big\n"})
    api = HfApi(endpoint=hub.endpoint)
    [info] = api.get_paths_info("org/big", ["model.safetensors"], revision="main")
    assert isinstance(info, RepoFile) and info.lfs is not None
    pointer = lfs_pointer(big)
    assert info.size == BIG_SIZE
    assert info.blob_id == git_blob_sha1(pointer)  # the pointer's oid, as on the Hub
    assert info.lfs.sha256 == big.sha256 and info.lfs.size == BIG_SIZE
    assert info.lfs.pointer_size == len(pointer)
    meta = get_hf_file_metadata(hf_hub_url("org/big", "model.safetensors", endpoint=hub.endpoint))
    assert meta.etag == big.sha256 and meta.size == BIG_SIZE
    assert meta.commit_hash == hub.commit("org/big")
    assert hub.file_requests == 0 and hub.bytes_served == 0  # a HEAD carries no body
    # linked into the repo folder, not copied
    assert (hub.root / "org/big/model.safetensors").resolve() == big.path


def test_hub_lfs_by_size_or_suffix(hub: FakeHub, tmp_path: Path) -> None:
    eleven = tmp_path / "eleven.txt"
    eleven.write_bytes(os.urandom(11 << 20))
    hub.add_repo(
        "org/m",
        {"big.txt": Blob.of_file(eleven), "small.txt": b"hello\n", "w.bin": b"\x80\x02N."},
    )
    infos = {i.path: i for i in HfApi(endpoint=hub.endpoint).list_repo_tree("org/m")}
    assert isinstance(infos["big.txt"], RepoFile) and infos["big.txt"].lfs is not None
    assert isinstance(infos["w.bin"], RepoFile) and infos["w.bin"].lfs is not None
    small = infos["small.txt"]
    assert isinstance(small, RepoFile) and small.lfs is None
    assert small.blob_id == git_blob_sha1(b"hello\n")


@pytest.mark.parametrize(
    ("header", "status", "start", "end"),
    [
        ("bytes=0-8", 206, 0, 9),
        (f"bytes={4 * GIB + 7}-{4 * GIB + 15}", 206, 4 * GIB + 7, 4 * GIB + 16),
        (f"bytes={BIG_SIZE - 9}-", 206, BIG_SIZE - 9, BIG_SIZE),
        ("bytes=-9", 206, BIG_SIZE - 9, BIG_SIZE),
        (f"bytes={BIG_SIZE - 9}-{BIG_SIZE + 1000}", 206, BIG_SIZE - 9, BIG_SIZE),
        (f"bytes={BIG_SIZE}-", 416, 0, 0),
    ],
)
def test_hub_resolve_ranges_of_a_big_file(
    hub: FakeHub, big: Blob, header: str, status: int, start: int, end: int
) -> None:
    hub.add_repo("org/big", {"model.safetensors": big})
    hub.open_pr("org/big", {"extra.safetensors": big})
    for rev, name in (("main", "model.safetensors"), ("refs%2Fpr%2F1", "extra.safetensors")):
        response = _get(f"{hub.endpoint}/org/big/resolve/{rev}/{name}", header)
        assert response.status_code == status
        if status == 416:
            assert response.headers["Content-Range"] == f"bytes */{BIG_SIZE}"
            assert response.content == b""
            continue
        assert response.headers["Content-Range"] == f"bytes {start}-{end - 1}/{BIG_SIZE}"
        assert int(response.headers["Content-Length"]) == end - start
        assert response.content == big.read(start, end - start)
    served = 0 if status == 416 else 2 * (end - start)
    assert hub.bytes_served == served and hub.file_requests == 2
    assert hub.served("org/big", "model.safetensors") == served // 2
    halves = {"org/big/model.safetensors": served // 2, "org/big/extra.safetensors": served // 2}
    assert hub.bytes_by_path == ({} if status == 416 else halves)
    assert [t.status for t in hub.transfers.log] == [status, status]
    hub.reset_counters()
    assert (hub.bytes_served, hub.file_requests, hub.bytes_by_path) == (0, 0, {})


def test_hub_counts_exactly_under_concurrency(hub: FakeHub, big: Blob) -> None:
    hub.add_repo("org/big", {"model.safetensors": big})
    url = f"{hub.endpoint}/org/big/resolve/main/model.safetensors"
    rng = random.Random(7)
    spans = []
    for _ in range(96):
        start = rng.randrange(BIG_SIZE)
        spans.append((start, min(BIG_SIZE, start + rng.randrange(1, 3 * SEND_CHUNK))))

    def fetch(span: tuple[int, int]) -> int:
        with requests.get(
            url, headers={"Range": f"bytes={span[0]}-{span[1] - 1}"}, timeout=60
        ) as r:
            assert r.status_code == 206
            return len(r.content)

    with ThreadPoolExecutor(max_workers=12) as pool:
        got = list(pool.map(fetch, spans))
    assert got == [end - start for start, end in spans]
    assert hub.bytes_served == sum(got) and hub.file_requests == len(spans)
    assert hub.requests_by_path == {"org/big/model.safetensors": len(spans)}


def test_hub_client_that_hangs_up_costs_what_it_took(hub: FakeHub, big: Blob) -> None:
    """A reader that stops early: the count is what reached the socket, far from the file."""
    hub.add_repo("org/big", {"model.safetensors": big})
    url = f"{hub.endpoint}/org/big/resolve/main/model.safetensors"
    with requests.get(url, stream=True, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["Accept-Ranges"] == "bytes"
        assert int(response.headers["Content-Length"]) == BIG_SIZE
        first = response.raw.read(9)
    assert first == MARKS[0]
    assert 9 <= _settled(lambda: hub.bytes_served) < 64 << 20  # socket buffers, not the file


def _settled(count: Callable[[], int]) -> int:
    """The count once the server thread has stopped writing (it has not moved for 0.3 s)."""
    deadline = time.monotonic() + 10
    last = count()
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = count()
        if now == last:
            break
        last = now
    return last


@pytest.mark.slow
def test_hub_streams_a_whole_big_file_without_holding_it(hub: FakeHub, big: Blob) -> None:
    hub.add_repo("org/big", {"model.safetensors": big})
    url = f"{hub.endpoint}/org/big/resolve/main/model.safetensors"
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    digest = hashlib.sha256()
    with requests.get(url, stream=True, timeout=60) as response:
        assert response.status_code == 200
        for piece in response.iter_content(SEND_CHUNK):
            digest.update(piece)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert digest.hexdigest() == BIG_SHA256
    assert hub.bytes_served == BIG_SIZE and hub.file_requests == 1
    assert grown < 256 * 1024, f"peak memory grew {grown} KiB serving {BIG_SIZE} bytes"


def test_hub_download_of_a_file_backed_blob(hub: FakeHub, tmp_path: Path) -> None:
    data = os.urandom(12 << 20)
    (tmp_path / "w.bin").write_bytes(data)
    hub.add_repo("org/m", {"README.md": "hi\n"})
    number = hub.open_pr("org/m", {"pytorch_model.bin": Blob.of_file(tmp_path / "w.bin")})
    path = hf_hub_download(
        "org/m",
        "pytorch_model.bin",
        revision=f"refs/pr/{number}",
        endpoint=hub.endpoint,
        cache_dir=tmp_path / "cache",
    )
    assert Path(path).read_bytes() == data
    assert hub.served("org/m", "pytorch_model.bin") == len(data) == hub.bytes_served


def test_hub_add_repo_replaces_a_link_without_touching_its_target(
    hub: FakeHub, tmp_path: Path
) -> None:
    original = tmp_path / "keep.bin"
    original.write_bytes(b"original")
    hub.add_repo("org/m", {"w.bin": Blob.of_file(original)})
    hub.add_repo("org/m", {"w.bin": b"replaced"})
    assert original.read_bytes() == b"original"
    assert hub.read("org/m", "w.bin") == b"replaced"
    assert not (hub.root / "org/m/w.bin").is_symlink()


def test_hub_security_scan_defaults_and_what_a_test_sets(hub: FakeHub) -> None:
    hub.add_repo(
        "org/m",
        {"README.md": "# m\n", "model.safetensors": b"\0" * 64, "pytorch_model.bin": b"PK"},
    )
    api = HfApi(endpoint=hub.endpoint)
    paths = ["README.md", "model.safetensors", "pytorch_model.bin"]
    plain = api.get_paths_info("org/m", paths, revision="main")
    assert all(isinstance(i, RepoFile) and i.security is None for i in plain)
    assert all(i.last_commit is None for i in plain)

    infos = {i.path: i for i in api.get_paths_info("org/m", paths, expand=True, revision="main")}
    for info in infos.values():
        assert isinstance(info, RepoFile) and info.security is not None
        assert info.security.status == "safe" and info.security.safe
        assert info.security.av_scan == {"virusFound": False, "virusNames": None}
        assert info.last_commit is not None and info.last_commit.oid == hub.commit("org/m")
    assert isinstance(infos["README.md"], RepoFile)
    assert infos["README.md"].security is not None
    assert infos["README.md"].security.pickle_import_scan is None
    pickled = infos["pytorch_model.bin"]
    assert isinstance(pickled, RepoFile) and pickled.security is not None
    assert pickled.security.pickle_import_scan is not None
    assert pickled.security.pickle_import_scan["highestSafetyLevel"] == "innocuous"

    hub.set_security(
        "org/m",
        "pytorch_model.bin",
        status="unsafe",
        pickle_imports=[
            ("torch._utils", "_rebuild_tensor_v2", "innocuous"),
            ("os", "system", "dangerous"),
        ],
    )
    hub.set_security("org/m", "model.safetensors", status="caution", virus_names=["Eicar-Test"])
    hub.set_security("org/m", "README.md", status="unscanned")
    got = {i.path: i for i in api.get_paths_info("org/m", paths, expand=True, revision="main")}
    bad = got["pytorch_model.bin"]
    assert isinstance(bad, RepoFile) and bad.security is not None
    assert bad.security.status == "unsafe" and not bad.security.safe
    assert bad.security.pickle_import_scan == {
        "highestSafetyLevel": "dangerous",
        "imports": [
            {"module": "torch._utils", "name": "_rebuild_tensor_v2", "safety": "innocuous"},
            {"module": "os", "name": "system", "safety": "dangerous"},
        ],
    }
    virus = got["model.safetensors"]
    assert isinstance(virus, RepoFile) and virus.security is not None
    assert virus.security.status == "caution" and not virus.security.safe
    assert virus.security.av_scan == {"virusFound": True, "virusNames": ["Eicar-Test"]}
    unscanned = got["README.md"]
    assert isinstance(unscanned, RepoFile) and unscanned.security is not None
    # huggingface_hub reads only status == "safe" as safe: unscanned is not
    assert unscanned.security.status == "unscanned" and not unscanned.security.safe
    assert unscanned.security.av_scan is None and unscanned.security.pickle_import_scan is None

    tree = {e.path: e for e in api.list_repo_tree("org/m", recursive=True, expand=True)}
    tree_bad = tree["pytorch_model.bin"]
    assert isinstance(tree_bad, RepoFile) and tree_bad.security is not None
    assert tree_bad.security.status == "unsafe"


def test_hub_last_commit_tells_pr_files_from_main_files(hub: FakeHub) -> None:
    hub.add_repo("org/m", {"README.md": "# m\n", "sub/a.txt": "a\n"})
    number = hub.open_pr("org/m", {"sub/b.txt": b"b\n"})
    api = HfApi(endpoint=hub.endpoint)
    rev = f"refs/pr/{number}"
    paths = ["README.md", "sub/b.txt", "sub"]
    infos = {i.path: i for i in api.get_paths_info("org/m", paths, expand=True, revision=rev)}
    main, pr = infos["README.md"], infos["sub/b.txt"]
    assert main.last_commit is not None and main.last_commit.oid == hub.commit("org/m")
    assert pr.last_commit is not None and pr.last_commit.oid == hub.commit_at("org/m", rev)
    assert isinstance(infos["sub"], RepoFolder)


def test_hub_tree_pages_as_the_hub_does(hub: FakeHub) -> None:
    hub.add_repo("org/m", {f"f{i:02d}.txt": f"{i}\n" for i in range(8)})
    hub.tree_page_expanded = 3
    api = HfApi(endpoint=hub.endpoint)
    expanded = list(api.list_repo_tree("org/m", recursive=True, expand=True))
    assert [e.path for e in expanded] == [f"f{i:02d}.txt" for i in range(8)]
    plain = list(api.list_repo_tree("org/m", recursive=True))
    assert len(plain) == 8
    trees = [p for m, p in hub.requests if p.startswith("/api/models/org/m/tree/")]
    assert len(trees) == 3 + 1  # 3 + 3 + 2 expanded, one page without expand


# -- the fake GitHub ------------------------------------------------------------------------


def _lfs_download(github: FakeGitHub, repo: str, token: str, oid: str, size: int) -> Any:
    answer = requests.post(
        f"{github.base_url}/{repo}.git/info/lfs/objects/batch",
        json={"operation": "download", "objects": [{"oid": oid, "size": size}]},
        auth=("x-access-token", token),
        timeout=30,
    )
    assert answer.status_code == 200
    [obj] = answer.json()["objects"]
    return obj["actions"]["download"]


@pytest.mark.parametrize(
    ("header", "status", "start", "end"),
    [
        (None, 200, 0, BIG_SIZE),
        ("bytes=0-8", 206, 0, 9),
        (f"bytes={4 * GIB + 7}-", 206, 4 * GIB + 7, BIG_SIZE),
        ("bytes=-9", 206, BIG_SIZE - 9, BIG_SIZE),
        (f"bytes={BIG_SIZE}-{BIG_SIZE + 5}", 416, 0, 0),
    ],
)
def test_github_lfs_object_ranges(
    github: FakeGitHub,
    token: str,
    big: Blob,
    header: str | None,
    status: int,
    start: int,
    end: int,
) -> None:
    repo = f"octo/big-{os.urandom(4).hex()}"
    github.add_repo(repo, files={"README.md": b"# big\n"})
    head = github.open_pull(
        repo, 1, {"model.safetensors": big}, lfs=frozenset({"model.safetensors"})
    )
    # what is committed is the pointer: that is all the contents API hands out
    pointer = requests.get(
        f"{github.base_url}/repos/{repo}/contents/model.safetensors?ref={head}",
        headers={"Authorization": f"token {token}", "Accept": "application/vnd.github.raw+json"},
        timeout=30,
    )
    assert pointer.content == lfs_pointer(big)
    action = _lfs_download(github, repo, token, big.sha256, BIG_SIZE)
    github.reset_counters()
    headers = {str(k): str(v) for k, v in action["header"].items()}
    if status == 200:  # the whole object: read a little, hang up, and count no more than sent
        with requests.get(action["href"], headers=headers, stream=True, timeout=30) as response:
            assert response.status_code == 200
            assert int(response.headers["Content-Length"]) == BIG_SIZE
            assert response.raw.read(9) == MARKS[0]
        assert github.file_requests == 1
        assert 9 <= _settled(lambda: github.bytes_served) < 64 << 20
        return
    response = _get(action["href"], header, **headers)
    assert response.status_code == status
    if status == 416:
        assert response.headers["Content-Range"] == f"bytes */{BIG_SIZE}"
    else:
        assert response.headers["Content-Range"] == f"bytes {start}-{end - 1}/{BIG_SIZE}"
        assert response.content == big.read(start, end - start)
    assert github.bytes_served == end - start and github.file_requests == 1
    assert github.bytes_by_path == ({} if status == 416 else {big.sha256: end - start})


def test_github_lfs_object_needs_its_header(github: FakeGitHub, token: str) -> None:
    oid = github.add_lfs_object(b"weights")
    assert requests.get(f"{github.base_url}/lfs-objects/{oid}", timeout=30).status_code == 403
    assert github.file_requests == 0


def test_github_contents_are_whole_and_counted(github: FakeGitHub, token: str) -> None:
    repo = f"octo/small-{os.urandom(4).hex()}"
    big_text = os.urandom(2 << 20)
    github.add_repo(repo, files={"README.md": b"# hello\n"})
    head = github.open_pull(repo, 1, {"notes.bin": big_text})
    auth = {"Authorization": f"token {token}"}
    raw = {**auth, "Accept": "application/vnd.github.raw+json"}
    url = f"{github.base_url}/repos/{repo}/contents"
    whole = _get(f"{url}/README.md?ref={head}", "bytes=2-4", **raw)
    assert whole.status_code == 200 and whole.content == b"# hello\n"  # GitHub ignores Range
    listed = _get(f"{url}/notes.bin?ref={head}", **auth).json()
    # over 1 MiB the JSON form leaves the content out, as GitHub's does
    assert listed["encoding"] == "none" and listed["content"] == ""
    assert listed["size"] == len(big_text) and listed["sha"] == git_blob_sha1(big_text)
    assert _get(f"{url}/notes.bin?ref={head}", **raw).content == big_text
    assert github.bytes_served == 8 + len(big_text) and github.file_requests == 2
    assert github.bytes_by_path == {f"{repo}/README.md": 8, f"{repo}/notes.bin": len(big_text)}


def test_github_bytes_call_sites_and_plain_lfs_objects(github: FakeGitHub, token: str) -> None:
    repo = f"octo/bytes-{os.urandom(4).hex()}"
    github.add_repo(repo, files={"w.bin": b"weights"}, lfs=frozenset({"w.bin"}))
    oid = hashlib.sha256(b"weights").hexdigest()
    assert github.lfs_object(oid).read() == b"weights"
    github.lfs_objects["f" * 64] = b"assigned as bytes"  # as older tests may seed it
    action = _lfs_download(github, repo, token, "f" * 64, 17)
    got = _get(action["href"], "bytes=9-", **action["header"])
    assert got.status_code == 206 and got.content == b"as bytes"
    assert github.bytes_by_path == {"f" * 64: 8}


# -- the big-model builders -----------------------------------------------------------------

TINY = big_models.LlamaShape(vocab=512, hidden=64, intermediate=160, layers=3, heads=4, kv_heads=2)


def test_builders_write_real_models_and_cache_their_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub: FakeHub
) -> None:
    from safetensors import safe_open

    model = big_models.sharded_safetensors(tmp_path, "tiny", shape=TINY, shards=3)
    assert not model.cached
    index = json.loads((model.folder / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert shards == [f"model-0000{k}-of-00003.safetensors" for k in (1, 2, 3)]
    total = 0
    for shard in shards:
        with safe_open(str(model.folder / shard), "np") as f:
            for name in f.keys():  # noqa: SIM118 (a safe_open handle is not a dict)
                total += f.get_tensor(name).nbytes
    assert total == index["metadata"]["total_size"]
    assert set(index["weight_map"]) == {name for name, _shape in TINY.tensors()}
    config = json.loads((model.folder / "config.json").read_text())
    assert config["num_hidden_layers"] == 3 and config["hidden_size"] == 64
    for rel, blob in model.files.items():
        assert blob.sha256 == hashlib.sha256((model.folder / rel).read_bytes()).hexdigest()

    checkpoint = big_models.torch_checkpoint(tmp_path, "ckpt", total_bytes=4 << 20, tensors=2)
    import torch

    state = torch.load(checkpoint.folder / "pytorch_model.bin", weights_only=True)
    assert sum(t.numel() * 4 for t in state.values()) == 4 << 20

    # a rerun answers from the sidecar: nothing is built or hashed again
    monkeypatch.setattr(Blob, "_digest", lambda *_: pytest.fail("hashed again"))
    again = big_models.sharded_safetensors(tmp_path, "tiny", shape=TINY, shards=3)
    assert again.cached and again.seconds == 0.0
    assert {r: b.sha256 for r, b in again.files.items()} == {
        r: b.sha256 for r, b in model.files.items()
    }
    hub.add_repo("org/tiny", again.files)
    infos = HfApi(endpoint=hub.endpoint).get_paths_info("org/tiny", shards, revision="main")
    assert [i.lfs.sha256 for i in infos if isinstance(i, RepoFile) and i.lfs] == [
        again.files[s].sha256 for s in shards
    ]


def test_builders_rebuild_when_a_file_changed(tmp_path: Path) -> None:
    first = big_models.torch_checkpoint(tmp_path, "ckpt", total_bytes=1 << 20, tensors=1)
    target = first.folder / "pytorch_model.bin"
    target.write_bytes(target.read_bytes()[:-1] + b"\0")
    os.utime(target, ns=(0, 0))
    assert not big_models.torch_checkpoint(tmp_path, "ckpt", total_bytes=1 << 20, tensors=1).cached


@pytest.mark.slow
def test_full_size_models() -> None:
    # the same cached models the full-size service tests review (built once per machine)
    import torch
    from safetensors import safe_open

    checkpoint = big_models.torch_checkpoint()
    assert GIB <= checkpoint.size < GIB + (1 << 20)
    state = torch.load(checkpoint.folder / "pytorch_model.bin", mmap=True, weights_only=True)
    assert sum(t.numel() * 4 for t in state.values()) == GIB
    model = big_models.sharded_safetensors()
    shards = sorted(r for r in model.files if r.endswith(".safetensors"))
    assert len(shards) == 5 and all(0.9 * GIB < model.files[r].size < 1.1 * GIB for r in shards)
    assert 5 * GIB < model.size < 5.2 * GIB
    shapes = {}
    for shard in shards:
        with safe_open(str(model.folder / shard), "np") as f:
            for name in f.keys():  # noqa: SIM118 (a safe_open handle is not a dict)
                shapes[name] = tuple(f.get_slice(name).get_shape())
    assert shapes == dict(big_models.LlamaShape().tensors())
