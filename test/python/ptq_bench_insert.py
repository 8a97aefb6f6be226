"""python-task-queue's own insert for the cloud-latency benchmark (bench/insert-latency.ts).

Usage: python ptq_bench_insert.py QUEUE N
Inserts N @queueable tasks with TaskQueue's defaults (40 threads; batches of 10 on SQS) and prints
{"tasks": N, "seconds": S, "cpuSeconds": C} as JSON.
"""
import json
import sys
import time
from functools import partial

from taskqueue import TaskQueue

import ptq_tasks


def main(argv):
  queue, count = argv[0], int(argv[1])
  tq = TaskQueue(queue, n_threads=40, progress=False)
  tasks = [partial(ptq_tasks.record, i=i, out="/tmp") for i in range(count)]
  started, cpu = time.perf_counter(), time.process_time()
  inserted = tq.insert(tasks)
  seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
  print(json.dumps({"tasks": inserted, "seconds": seconds, "cpuSeconds": cpu_seconds}))


if __name__ == "__main__":
  main(sys.argv[1:])
