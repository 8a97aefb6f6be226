"""Task functions a python-task-queue worker runs in the interop tests (key: ["ptq_tasks", ...])."""
import json
import os

from taskqueue import queueable


@queueable
def record(i, out, cloudpath=None):
  """Writes one file per run, named by i, holding the keyword arguments it got."""
  with open(os.path.join(out, "{}-{}.json".format(i, os.getpid())), "w") as f:
    json.dump({"i": i, "cloudpath": cloudpath}, f)


@queueable
def positional(a, b):
  return a + b
