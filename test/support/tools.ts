/**
 * Where `scripts/test-tools.sh` put the test-only tools, computed from the same inputs the script
 * uses (keep the two in step): the cache folder, a hash of test/python/requirements.txt for the
 * venv, and each Go wrapper module's pinned version plus a hash of its go.mod, go.sum and .go files.
 *
 * A missing tool skips the test locally with the command that installs it; under CI it fails the
 * test instead, since CI runs that script first and must never skip a suite silently.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = path.resolve(__dirname, '..', '..');

export type ToolName =
  | 'python'
  | 'fake-gcs-server'
  | 'pstest'
  | 'toxiproxy-server'
  | 'chromium'
  | 'pulumi'
  | 'pulumi-resource-kubernetes'
  | 'kubernetes'
  | 'keda';

/** Debian's chromium package (scripts/test-tools.sh, part `browser`); CHROMIUM names another build. */
const CHROMIUM = '/usr/bin/chromium';

/** The Go tools: the module whose required version names the cache folder. */
const GO_TOOL_MODULES: Readonly<Record<Exclude<ToolName, 'python' | 'chromium'>, string>> = {
  'fake-gcs-server': 'github.com/fsouza/fake-gcs-server',
  pstest: 'cloud.google.com/go/pubsub/v2',
  'toxiproxy-server': 'github.com/Shopify/toxiproxy/v2',
  pulumi: 'github.com/pulumi/pulumi/pkg/v3',
  'pulumi-resource-kubernetes': 'github.com/pulumi/pulumi-kubernetes/provider/v4',
  kubernetes: 'k8s.io/kubernetes',
  keda: 'github.com/kedacore/keda/v2',
};

/** Tools built as several commands: their path is a folder holding these. */
const TOOL_COMMANDS: Partial<Record<ToolName, readonly string[]>> = { keda: ['operator', 'adapter'] };

export function toolsCacheDir(): string {
  return process.env.GKE_BATCH_TOOLS || path.join(os.homedir(), '.cache', 'gke-batch', 'tools');
}

/** First 12 hex digits of the sha256 of the files' contents in this order (the script's `content_key`). */
function contentKey(files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(readFileSync(file));
  return hash.digest('hex').slice(0, 12);
}

/** The version `go.mod` requires of `module`, in a one-line or a block `require`. */
export function goModuleVersion(goMod: string, module: string): string | undefined {
  for (const line of goMod.split('\n')) {
    const words = line.trim().split(/\s+/);
    const [first, second, third] = words[0] === 'require' ? words.slice(1) : words;
    if (first === module && second?.startsWith('v')) return second;
    if (first === 'require' && second === module) return third;
  }
  return undefined;
}

/** The absolute path where the script installs `name` (whether or not it is there). */
export function toolPath(name: ToolName): string {
  if (name === 'chromium') return process.env.CHROMIUM || CHROMIUM;
  const cache = toolsCacheDir();
  if (name === 'python') {
    const key = contentKey([path.join(ROOT, 'test', 'python', 'requirements.txt')]);
    return path.join(cache, `python-${key}`, 'bin', 'python');
  }
  const src = path.join(ROOT, 'test', 'go', name);
  const goMod = path.join(src, 'go.mod');
  const version = goModuleVersion(readFileSync(goMod, 'utf8'), GO_TOOL_MODULES[name]);
  if (!version) throw new Error(`${goMod} does not require ${GO_TOOL_MODULES[name]}`);
  const goFiles = readdirSync(src)
    .filter((file) => file.endsWith('.go'))
    .sort()
    .map((file) => path.join(src, file));
  const key = contentKey([goMod, path.join(src, 'go.sum'), ...goFiles]);
  return path.join(cache, `${name}-${version}-${key}`, name);
}

/** Why `name` cannot be used, or undefined when it is installed and complete. */
export function toolProblem(name: ToolName): string | undefined {
  const file = toolPath(name);
  try {
    accessSync(file, constants.X_OK);
  } catch {
    return `${name} is not installed at ${file}`;
  }
  for (const command of TOOL_COMMANDS[name] ?? []) {
    try {
      accessSync(path.join(file, command), constants.X_OK);
    } catch {
      return `${name} has no ${command} command in ${file}`;
    }
  }
  // The script marks a venv complete last (a copy of the requirements it was built from).
  if (name === 'python') {
    try {
      accessSync(path.join(file, '..', '..', '.installed'));
    } catch {
      return `the venv at ${path.dirname(path.dirname(file))} is incomplete`;
    }
  }
  return undefined;
}

/** The absolute path of an installed tool; throws with the install command when it is missing. */
export function findTool(name: ToolName): string {
  const problem = toolProblem(name);
  if (problem) throw new Error(`${problem}: run scripts/test-tools.sh`);
  return toolPath(name);
}

/** True under CI (`CI` set and not `0`/`false`), where every suite must run. */
export function runningInCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** Where the reporter (test/support/reporter.js) finds each skip's reason: a test or a suite → why. */
const SKIP_REASONS = Symbol.for('gke-batch.skip-reasons');
type ReasonRegistry = WeakMap<object, string>;
const registry = globalThis as typeof globalThis & { [SKIP_REASONS]?: ReasonRegistry };

/**
 * `ctx.skip()`, with the reason printed now and listed again by the reporter at the end. In a
 * `before`/`beforeEach` hook the reason covers the hook's suite; in an `it`, that test.
 */
export function skipWithReason(ctx: Mocha.Context, why: string): never {
  const reasons = (registry[SKIP_REASONS] ??= new WeakMap());
  const runnable = ctx.test;
  // Hooks and tests both carry `type` at run time ('hook' | 'test'); the typings declare it on Test only.
  const isHook = (runnable as { type?: string } | undefined)?.type === 'hook';
  const owner = isHook ? runnable?.parent : runnable;
  if (owner) reasons.set(owner, why);
  process.stdout.write(`      skipped: ${why}\n`);
  ctx.skip();
}

/**
 * For a `before`/`it` hook: the tool's path, or a skip with the reason and the install command
 * (locally), or a thrown error (under CI, where a skip would hide a suite that must run).
 */
export function requireToolOrSkip(ctx: Mocha.Context, name: ToolName): string {
  const problem = toolProblem(name);
  if (!problem) return toolPath(name);
  const why = `${problem}: run scripts/test-tools.sh`;
  if (runningInCi()) throw new Error(`CI must run this suite, but ${why}`);
  skipWithReason(ctx, why);
}

/** Runs a Python snippet in the test venv (`python -c CODE ARGS...`); resolves with its stdout. */
export function runPython(code: string, args: readonly string[] = [], timeoutMs = 120_000): Promise<string> {
  const python = findTool('python');
  return new Promise((resolve, reject) => {
    execFile(
      python,
      ['-c', code, ...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`python -c ... ${args.join(' ')} failed: ${error.message}\n${stderr}`))
          : resolve(stdout),
    );
  });
}

/** A tool server run as a child process in its own process group. */
export interface ToolProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far (for error messages). */
  output(): string;
  /** SIGTERM to its whole process group, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Process groups still running: killed when this process exits, should an `after` hook not run. */
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Starts `file args...` detached (its own process group, so stop() ends anything it forks). */
export function spawnTool(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): ToolProcess {
  const child = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  const chunks: string[] = [];
  const keep = (chunk: Buffer) => {
    chunks.push(chunk.toString('utf8'));
    if (chunks.length > 200) chunks.splice(0, chunks.length - 200);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.once('error', (error) => chunks.push(`spawn failed: ${error.message}`));
  const pid = child.pid;
  if (pid !== undefined) {
    liveGroups.add(pid);
    void exited.then(() => liveGroups.delete(pid));
  }
  return {
    child,
    output: () => chunks.join(''),
    async stop(graceMs = 5_000) {
      if (pid === undefined || !liveGroups.has(pid)) return exited;
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      liveGroups.delete(pid);
    },
  };
}

/**
 * Polls `ready` until it resolves true; fails early when the process exits, or after `timeoutMs`,
 * with the process's output in the message.
 */
export async function waitUntilReady(
  name: string,
  tool: ToolProcess,
  ready: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { exitCode, signalCode } = tool.child;
    if (exitCode !== null || signalCode !== null) {
      throw new Error(`${name} exited (${exitCode ?? signalCode}) before it was ready:\n${tool.output().slice(-2000)}`);
    }
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) {
      await tool.stop();
      throw new Error(`${name} was not ready within ${timeoutMs} ms:\n${tool.output().slice(-2000)}`);
    }
    await sleep(50);
  }
}

/** True when an HTTP GET of `url` answers with a status below 500. */
export async function httpAnswers(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await response.arrayBuffer();
  return response.status < 500;
}

/**
 * Mocha helper: in the enclosing `describe`, requires the tool (skip locally, fail under CI),
 * starts one server, sets its `env` in this process while the suite runs, and stops it after.
 */
export function useToolServer<S extends { readonly env?: Record<string, string>; stop(): Promise<void> }>(
  name: ToolName,
  start: () => Promise<S>,
): { readonly server: S } {
  const holder: { server?: S } = {};
  const saved: Record<string, string | undefined> = {};
  before(async function () {
    this.timeout(60_000);
    requireToolOrSkip(this, name);
    holder.server = await start();
    for (const [key, value] of Object.entries(holder.server.env ?? {})) {
      saved[key] = process.env[key];
      process.env[key] = value;
    }
  });
  after(async () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await holder.server?.stop();
  });
  return {
    get server(): S {
      if (!holder.server) throw new Error(`${name} is not started yet (use it inside it/before hooks)`);
      return holder.server;
    },
  };
}
