"""python-task-queue driven from the interop tests: insert, poll and read counters with the real library.

Usage: python ptq_interop.py COMMAND QUEUE [ARGS...]
  insert QUEUE N OUT [CLOUDPATH]  N @queueable tasks with keyword arguments (i, out[, cloudpath])
  insert-output QUEUE FIRST N OUT MS  N ptq_tasks.output tasks, i = FIRST .. FIRST+N-1
  insert-positional QUEUE         one task with positional arguments
  insert-registered QUEUE         one RegisteredTask (an old-style class task)
  poll QUEUE [LEASE]              runs tasks (leasing each for LEASE s, default 30) until the queue
                                  has been empty for a moment
  counts QUEUE                    {"inserted", "enqueued", "completed", "leased"} as JSON
"""
import json
import math
import sys
import time
from functools import partial

from taskqueue import RegisteredTask, TaskQueue

import ptq_tasks


class PrintTask(RegisteredTask):
  def __init__(self, text):
    super().__init__(text)

  def execute(self):
    print(self.text)


def main(argv):
  command, queue = argv[0], argv[1]
  tq = TaskQueue(queue, progress=False)
  if command == "insert":
    count, out = int(argv[2]), argv[3]
    kwargs = {"cloudpath": argv[4]} if len(argv) > 4 else {}
    tq.insert([partial(ptq_tasks.record, i=i, out=out, **kwargs) for i in range(count)])
  elif command == "insert-output":
    first, count, out, ms = int(argv[2]), int(argv[3]), argv[4], int(argv[5])
    tq.insert([partial(ptq_tasks.output, i=i, out=out, ms=ms) for i in range(first, first + count)])
  elif command == "insert-positional":
    tq.insert([partial(ptq_tasks.positional, 1, 2)])
  elif command == "insert-registered":
    tq.insert([PrintTask("hello")])
  elif command == "poll":
    empty_since = [None]

    def stop_fn():
      if not tq.is_empty():
        empty_since[0] = None
        return False
      empty_since[0] = empty_since[0] or time.time()
      return time.time() - empty_since[0] > 1.0

    if queue.startswith("pubsub://"):
      # Its Pub/Sub backend cannot count (`enqueued` raises a TypeError), so is_empty() fails:
      # stop once no task has run for 3 s instead.
      last = {"executed": -1, "at": time.time()}

      def stop_fn(executed):
        if executed != last["executed"]:
          last.update(executed=executed, at=time.time())
        return time.time() - last["at"] > 3.0

    lease = int(argv[2]) if len(argv) > 2 else 30
    executed = tq.poll(lease_seconds=lease, stop_fn=stop_fn, tally=True, min_backoff_window=0.1, max_backoff_window=0.5)
    print(json.dumps({"executed": executed}))
  elif command == "counts":
    value = lambda x: None if isinstance(x, float) and math.isnan(x) else x
    print(json.dumps({
      "inserted": value(tq.inserted),
      "enqueued": tq.enqueued,
      "completed": value(tq.completed),
      "leased": tq.leased,
    }))
  else:
    raise SystemExit("unknown command " + command)


if __name__ == "__main__":
  main(sys.argv[1:])
