/**
 * The Node/V8 flags a command needs from the start of its process (V8 reads heap flags once, when
 * the process starts; `v8.setFlagsFromString` later has no effect on them), and running a command
 * again with them when it was started without (`npm run insert`, `tsx cli/insert.ts`, a test).
 */
import { spawn } from 'node:child_process';

/**
 * `npm run insert`: reading a table makes a young object per row and cell, which V8 keeps in its
 * young generation; left alone it grows that to 2 × 64 MiB semi-spaces, which are all resident.
 * At 16 MiB a 1,000,000-row Parquet insert peaks at ≈ 250 MB instead of ≈ 370 MB at the same speed
 * (figures: docs/params.md). The insert benchmark runs its children with these flags too.
 */
export const INSERT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];

/** Set in a relaunched child: it never relaunches again, whatever its execArgv says. */
const RELAUNCHED = 'GKE_BATCH_RELAUNCHED';

/**
 * False when this process already runs with `flags`: the caller goes on. Otherwise starts this
 * script again with the flags added (same arguments, stdio, environment), passes on the signals
 * that end a command, exits with the child's status, and returns true: the caller does nothing.
 */
export function relaunchedWith(flags: readonly string[]): boolean {
  const missing = flags.filter((flag) => !process.execArgv.includes(flag));
  if (missing.length === 0 || process.env[RELAUNCHED] !== undefined) return false;
  const child = spawn(process.execPath, [...process.execArgv, ...missing, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [RELAUNCHED]: '1' },
  });
  // A terminal's Ctrl-C reaches both processes (one process group); a signal sent to this one
  // alone must still stop the child. The child decides how it ends; this process follows it.
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of signals) process.on(signal, forward);
  child.once('error', (error) => {
    process.stderr.write(`error: cannot start ${process.execPath}: ${error.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    for (const s of signals) process.off(s, forward);
    if (signal) process.kill(process.pid, signal);
    else process.exitCode = code ?? 1;
  });
  return true;
}
