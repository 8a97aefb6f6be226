"""Task functions a python-task-queue worker runs in the interop tests (key: ["ptq_tasks", ...])."""
import json
import os
import time

from taskqueue import queueable


@queueable
def record(i, out, cloudpath=None):
  """Writes one file per run, named by i, holding the keyword arguments it got."""
  with open(os.path.join(out, "{}-{}.json".format(i, os.getpid())), "w") as f:
    json.dump({"i": i, "cloudpath": cloudpath}, f)


@queueable
def positional(a, b):
  return a + b


@queueable
def output(i, out, ms, cloudpath=None):
  """The mixed-fleet task (test/fixtures/tasks/interop.ts does the same on our side): appends
  "python <pid>" to out/<i>.starts, sleeps ms, writes out/<i>.json atomically, appends
  "python <pid>" to out/<i>.runs."""
  with open(os.path.join(out, "{}.starts".format(i)), "a") as f:
    f.write("python {}\n".format(os.getpid()))
  time.sleep(ms / 1000)
  tmp = os.path.join(out, ".tmp")
  os.makedirs(tmp, exist_ok=True)
  partial = os.path.join(tmp, "{}-python-{}".format(i, os.getpid()))
  with open(partial, "w") as f:
    json.dump({"i": i, "square": i * i}, f)
  os.replace(partial, os.path.join(out, "{}.json".format(i)))
  with open(os.path.join(out, "{}.runs".format(i)), "a") as f:
    f.write("python {}\n".format(os.getpid()))
