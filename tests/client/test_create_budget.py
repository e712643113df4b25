"""A client's asset-create budget: one token bucket shared by its threads.

The bucket's arithmetic is checked with a fake clock; everything that sends a request talks to a real sandbox
that keeps Frame.io's limit of 5 creates per second (``fresh_sandbox``).
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections import Counter

import pytest
import requests

from c2c_helpers import C2CClient
from c2c_helpers.retry import TokenBucket
from c2c_sandbox import Sandbox


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_the_bucket_gives_a_burst_then_the_pace() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5, 1.0, clock=clock, sleep=clock.sleep)
    waits = [round(bucket.take(), 3) for _ in range(7)]
    assert waits == [0, 0, 0, 0, 0.2, 0.2, 0.2]  # one token short of the service's 5, then 5 per second
    clock.now += 10  # idle: the bucket refills, but never past its burst
    assert [round(bucket.take(), 3) for _ in range(5)] == [0, 0, 0, 0, 0.2]


def test_the_bucket_follows_the_services_headers_and_its_429s() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5, 1.0, clock=clock, sleep=clock.sleep)
    bucket.observe({"x-ratelimit-limit": "100", "x-ratelimit-window": "1000", "x-ratelimit-remaining": "99"})
    assert bucket.pace == 100 and bucket.limit == 100
    bucket.observe({"x-ratelimit-remaining": "0"})  # someone else spent the budget: wait for the next token
    assert round(bucket.take(), 3) == 0.01
    bucket.hold(2.0)  # a 429 asked for 2 s: nobody sends before that
    assert round(bucket.take(), 3) == 2.01
    bucket.observe({"x-ratelimit-limit": "x", "x-ratelimit-window": "-1"})  # nonsense changes nothing
    assert bucket.pace == 100
    with pytest.raises(ValueError):
        TokenBucket(0, 1.0)


def test_threads_share_one_bucket_each_in_a_slot_of_its_own() -> None:
    bucket = TokenBucket(10, 1.0)  # a burst of 9, then one every 100 ms
    start = threading.Barrier(20)
    waits: list[float] = []

    def take() -> None:
        start.wait()
        waits.append(bucket.take())

    threads = [threading.Thread(target=take) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots = sorted(round(w, 1) for w in waits)
    assert slots == [0.0] * 9 + [round(0.1 * k, 1) for k in range(1, 12)]


@pytest.mark.soak
@pytest.mark.timeout(120)
def test_100_threads_creating_through_one_client_all_succeed(fresh_sandbox: Sandbox) -> None:
    """Frame.io's 5 creates per second, 100 threads, one client: no RateLimited, no 429, about 20 s."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def count(response: requests.Response, *args: object, **kwargs: object) -> None:
        with lock:
            statuses[response.status_code] += 1

    session = requests.Session()
    session.hooks["response"].append(count)
    client = C2CClient(fresh_sandbox.api_url, fresh_sandbox.access_token, session=session)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(100) as pool:
        futures = [pool.submit(client.create_asset, f"t{i}.mov", "video/quicktime", 10, 0) for i in range(100)]
        outcomes = [f.exception() or f.result() for f in futures]
    seconds = time.monotonic() - started
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert not errors, errors[:3]
    assert len({o.id for o in outcomes}) == 100  # type: ignore[union-attr]
    assert statuses == {200: 100}, statuses  # the bucket kept every request under the service's limit
    assert 96 / 5 - 1 < seconds < 35  # a burst of 4, then 5 per second


def test_two_clients_of_one_device_wait_out_the_services_429s(fresh_sandbox: Sandbox) -> None:
    """Each client paces itself, but together they overrun the device's budget: the 429s are waited out."""
    statuses: Counter[int] = Counter()
    clients = []
    for _ in range(2):
        session = requests.Session()
        session.hooks["response"].append(lambda r, *a, **k: statuses.update([r.status_code]))
        clients.append(C2CClient(fresh_sandbox.api_url, fresh_sandbox.access_token, session=session))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(clients[i % 2].create_asset, f"two{i}.mov", "video/quicktime", 10, 0) for i in range(16)]
        assets = [f.result(timeout=60) for f in futures]
    assert len({a.id for a in assets}) == 16
    assert statuses[200] == 16 and statuses[429] >= 1


def test_a_client_follows_what_x_ratelimit_remaining_says(fresh_sandbox: Sandbox) -> None:
    """Another client spent most of the device's budget: this one learns it from the answer's headers and waits
    for the next token instead of meeting a 429."""
    statuses: list[int] = []
    hog = C2CClient(fresh_sandbox.api_url, fresh_sandbox.access_token)
    for i in range(4):
        hog.create_asset(f"hog{i}.mov", "video/quicktime", 10, 0)
    session = requests.Session()
    session.hooks["response"].append(lambda r, *a, **k: statuses.append(r.status_code))
    client = C2CClient(fresh_sandbox.api_url, fresh_sandbox.access_token, session=session, rate_limit_retries=0)
    client.create_asset("first.mov", "video/quicktime", 10, 0)  # answered with x-ratelimit-remaining: 0
    started = time.monotonic()
    client.create_asset("second.mov", "video/quicktime", 10, 0)
    assert statuses == [200, 200] and time.monotonic() - started > 0.1
    assert client.create_budget.limit == 5
