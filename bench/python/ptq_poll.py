"""python-task-queue's own worker loop (`TaskQueue.poll`) on no-op tasks, for bench/worker-latency.ts.

  python ptq_poll.py QUEUE_URL ENDPOINT_URL COUNT      (ENDPOINT_URL "-": none, e.g. for fq://)

Its task is registered as ("__main__", "noop"), the key the benchmark inserts. Runs `poll` until it has executed COUNT tasks (the stop condition costs no request, so only the
library's lease + delete per task is timed) and prints {"executed": N, "seconds": S}.
"""
import json
import sys
import time

from taskqueue import TaskQueue, queueable


@queueable
def noop(i):
  """Does nothing: the loop's own cost per task is what is measured."""


def main(argv):
  queue, endpoint, count = argv[0], argv[1], int(argv[2])
  extra = {} if endpoint == "-" else {"endpoint_url": endpoint}
  tq = TaskQueue(queue, progress=False, **extra)
  started = time.monotonic()
  executed = tq.poll(
    lease_seconds=60,
    stop_fn=lambda executed: executed >= count,
    min_backoff_window=0.1,
    max_backoff_window=0.5,
  )
  print(json.dumps({"executed": executed, "seconds": time.monotonic() - started}))


if __name__ == "__main__":
  main(sys.argv[1:])
