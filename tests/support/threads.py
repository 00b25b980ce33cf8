"""Run a worker in several threads at once; the first exception of any thread is re-raised."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_in_threads(work: Callable[[int], None], n: int) -> None:
  """Calls ``work(k)`` for ``k`` in ``range(n)``, each in its own thread, all released together by a
  barrier; waits for all of them and re-raises the first exception raised in any worker."""
  barrier, errors = threading.Barrier(n), []

  def run(k: int) -> None:
    barrier.wait()
    try:
      work(k)
    except BaseException as e:  # noqa: BLE001 - handed to the main thread
      errors.append(e)

  threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  if errors:
    raise errors[0]
