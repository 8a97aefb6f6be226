/**
 * The real Pulumi engine for the deploy test: the CLI and the Kubernetes provider plugin that
 * scripts/test-tools.sh built, a scratch PULUMI_HOME, `pulumi login file://<scratch>`, the plugin
 * installed with `pulumi plugin install --file`, and each operation run by
 * test/support/pulumiRealRun.ts in a child process.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findTool } from './tools';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const RUNNER = path.join(__dirname, 'pulumiRealRun.ts');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** The provider plugin version the @pulumi/kubernetes SDK asks the engine for. */
export function kubernetesSdkPluginVersion(): string {
  const manifest = JSON.parse(
    readFileSync(path.join(ROOT, 'node_modules', '@pulumi', 'kubernetes', 'package.json'), 'utf8'),
  );
  return (manifest as { pulumi: { version: string } }).pulumi.version;
}

export interface ConfigEntry {
  readonly value: string;
  readonly secret?: boolean;
}

export interface PulumiRun {
  readonly code: number;
  readonly stderr: string;
  /** The runner's JSON summary (its last stdout line), when it got that far. */
  readonly summary?: Record<string, unknown>;
}

export interface RealPulumi {
  readonly home: string;
  readonly backend: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs `pulumi ARGS...` with this environment. */
  cli(args: readonly string[]): Promise<string>;
  init(stack: string, config: Readonly<Record<string, ConfigEntry>>): Promise<PulumiRun>;
  operation(stack: string, operation: 'up' | 'preview' | 'destroy', timeoutMs: number): Promise<PulumiRun>;
  cleanup(): void;
}

export async function setUpRealPulumi(passphrase: string): Promise<RealPulumi> {
  const cli = findTool('pulumi');
  const provider = findTool('pulumi-resource-kubernetes');
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pulumi-real-'));
  const home = path.join(scratch, 'home');
  const state = path.join(scratch, 'state');
  const workDir = path.join(scratch, 'project');
  for (const dir of [home, state, workDir]) mkdirSync(dir);
  // The project file as users have it (its config types are checked by the CLI); stack files land here.
  copyFileSync(path.join(ROOT, 'Pulumi.yaml'), path.join(workDir, 'Pulumi.yaml'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.dirname(cli)}:${process.env.PATH ?? ''}`,
    PULUMI_HOME: home,
    PULUMI_CONFIG_PASSPHRASE: passphrase,
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    GKE_BATCH_REAL_WORKDIR: workDir,
  };
  const pulumi = async (args: readonly string[]) => {
    const { stdout } = await run(cli, args, { env, cwd: workDir, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  };
  await pulumi(['login', `file://${state}`]);
  // The plugin is installed under the version the SDK requests (see docs/deploy.md, "Tested how").
  await pulumi(['plugin', 'install', 'resource', 'kubernetes', kubernetesSdkPluginVersion(), '--file', provider]);

  const child = (stack: string, operation: string, extra: NodeJS.ProcessEnv, timeoutMs: number) =>
    new Promise<PulumiRun>((resolve, reject) => {
      const process_ = spawn(TSX, [RUNNER, operation], {
        cwd: ROOT,
        env: { ...env, ...extra, GKE_BATCH_REAL_STACK: stack },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      process_.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      process_.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      const timer = setTimeout(() => process_.kill('SIGKILL'), timeoutMs);
      process_.once('error', reject);
      process_.once('close', (code) => {
        clearTimeout(timer);
        const lastLine = Buffer.concat(out).toString('utf8').trim().split('\n').at(-1) ?? '';
        let summary: Record<string, unknown> | undefined;
        try {
          summary = JSON.parse(lastLine) as Record<string, unknown>;
        } catch {
          summary = undefined;
        }
        resolve({ code: code ?? -1, stderr: Buffer.concat(err).toString('utf8'), summary });
      });
    });

  return {
    home,
    backend: `file://${state}`,
    env,
    cli: pulumi,
    init: (stack, config) => child(stack, 'init', { GKE_BATCH_REAL_CONFIG: JSON.stringify(config) }, 120_000),
    operation: (stack, operation, timeoutMs) => child(stack, operation, {}, timeoutMs),
    cleanup: () => rmSync(scratch, { recursive: true, force: true }),
  };
}
