/**
 * Where `scripts/test-tools.sh` put the test-only tools, computed from the same inputs the script
 * uses (keep the two in step): the cache folder, a hash of test/python/requirements.txt for the
 * venv, and each Go wrapper module's pinned version plus a hash of its go.mod, go.sum and .go files.
 *
 * A missing tool skips the test locally with the command that installs it; under CI it fails the
 * test instead, since CI runs that script first and must never skip a suite silently.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

export type ToolName = 'python' | 'fake-gcs-server' | 'pstest' | 'toxiproxy-server';

/** The Go tools: the module whose required version names the cache folder. */
const GO_TOOL_MODULES: Readonly<Record<Exclude<ToolName, 'python'>, string>> = {
  'fake-gcs-server': 'github.com/fsouza/fake-gcs-server',
  pstest: 'cloud.google.com/go/pubsub/v2',
  'toxiproxy-server': 'github.com/Shopify/toxiproxy/v2',
};

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

/**
 * For a `before`/`it` hook: the tool's path, or `ctx.skip()` with the reason and the install
 * command (locally), or a thrown error (under CI, where a skip would hide a suite that must run).
 */
export function requireToolOrSkip(ctx: Mocha.Context, name: ToolName): string {
  const problem = toolProblem(name);
  if (!problem) return toolPath(name);
  const why = `${problem}: run scripts/test-tools.sh`;
  if (runningInCi()) throw new Error(`CI must run this suite, but ${why}`);
  process.stdout.write(`      skipped: ${why}\n`);
  ctx.skip();
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
