/**
 * Mocha root hook: after the whole run, kills every process the tests started and left running
 * (a test that timed out leaves its child behind) and names each one on stderr, so one stuck
 * child can neither keep `npm test` from ending nor burn CI's CPU unseen. Linux only (/proc).
 * If something in this process (a server, a socket) still keeps it alive a while later, it names
 * what is open and exits with mocha's result instead of hanging until CI's time limit.
 */
import fs from 'node:fs';

interface Proc {
  readonly pid: number;
  readonly ppid: number;
}

function processes(): Proc[] {
  const found: Proc[] = [];
  for (const name of fs.existsSync('/proc') ? fs.readdirSync('/proc') : []) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields after its last ')' are fixed.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      found.push({ pid: Number(name), ppid: Number(fields[1]) });
    } catch {
      // It ended while we looked.
    }
  }
  return found;
}

function descendantsOf(root: number): number[] {
  const all = processes();
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const p of all) {
      if (p.ppid === parent) {
        out.push(p.pid);
        queue.push(p.pid);
      }
    }
  }
  return out;
}

function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 200);
  } catch {
    return '?';
  }
}

export const mochaHooks = {
  afterAll(): void {
    const left = descendantsOf(process.pid);
    for (const pid of left) {
      process.stderr.write(`leftover process ${pid} killed after the tests: ${commandLine(pid)}\n`);
    }
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    // unref: fires only when something else keeps the process alive.
    setTimeout(() => {
      const open = process.getActiveResourcesInfo().join(', ');
      process.stderr.write(`the tests ended 20 s ago but the process was kept alive by: ${open}; exiting\n`);
      process.exit(process.exitCode ?? 1);
    }, 20_000).unref();
  },
};
