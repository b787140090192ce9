"""Two (or more) runs at the same moment against the fake GitHub, interleaved differently per seed.

``jitter_requests(fake, seed)`` delays every request the fake receives by a seeded random
0–20 ms; ``at_once(calls)`` starts the calls in threads together and returns their results in
order. Thread scheduling adds its own variation, so a seed does not replay one exact interleaving:
tests built on these assert what must hold under every interleaving.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

MOST_DELAY_SECONDS = 0.02


def jitter_requests(fake: Any, seed: int) -> None:
    """Delay each request ``fake`` (a ``FakeGitHub``) handles by a random 0–20 ms (seeded)."""
    rng, lock = random.Random(seed), threading.Lock()

    def jitter(_fake: object, _info: object) -> None:
        with lock:
            delay = rng.random() * MOST_DELAY_SECONDS
        time.sleep(delay)

    fake.before_request(jitter, times=None)


def at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``calls`` in threads started together; their results, in the order of ``calls``."""
    results: dict[int, T] = {}

    def start(index: int) -> None:
        results[index] = calls[index]()

    threads = [threading.Thread(target=start, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[index] for index in range(len(calls))]
