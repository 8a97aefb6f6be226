/**
 * Real Docker for the image tests and the image benchmark: is a daemon reachable, the `docker` CLI as
 * a function, a local Node base image built without any image registry, and the worker image.
 *
 * No image registry is reachable on the project's machines, so the base image is made here: a
 * Debian root filesystem from `debootstrap` (from the host's own apt mirror), imported with
 * `docker import`, plus a Node 24 binary (the one running the tests when it is 24, else the one
 * scripts/test-tools.sh put in the tools cache) and the host's npm. It is built once per machine and
 * found again by its tag, which names the Node version. Set `IMAGE_TEST_BASE_IMAGE` to use another
 * base instead (e.g. the Dockerfile's default where the daemon can pull it).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toolsCacheDir } from './tools';

const ROOT = path.resolve(__dirname, '..', '..');

/** The Debian release of the base image; the Dockerfile's default base (`node:24-bookworm-slim`) uses it too. */
const DEBIAN_SUITE = 'bookworm';

export type DaemonProbe =
  { readonly reachable: true; readonly version: string } | { readonly reachable: false; readonly reason: string };

/** Synchronous, so a test file can decide at load time which tests it declares. */
export function probeDockerDaemon(): DaemonProbe {
  try {
    const version = execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15_000,
    }).trim();
    return { reachable: true, version };
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') return { reachable: false, reason: 'the docker command is not installed' };
    const detail = (failure.stderr ?? failure.message).trim().split('\n').at(-1) ?? '';
    return { reachable: false, reason: `no Docker daemon answers (${detail})` };
  }
}

export interface DockerResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface DockerOptions {
  /** Fed to the command's standard input. */
  readonly input?: string | Buffer;
  /** Kill the command after this long; default 5 minutes. */
  readonly timeoutMs?: number;
  /** Resolve with a non-zero exit code instead of rejecting. */
  readonly allowFailure?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs `docker ARGS...`; rejects with the command and its stderr when it fails. */
export function docker(args: readonly string[], options: DockerOptions = {}): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.once('error', (error) => (clearTimeout(timer), reject(error)));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const result = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? -1,
      };
      if (result.code === 0 || options.allowFailure) return resolve(result);
      const why = signal ? `was killed by ${signal} (timeout?)` : `exited with code ${result.code}`;
      reject(new Error(`docker ${args.join(' ').slice(0, 300)} ${why}:\n${result.stderr.trim().slice(-4000)}`));
    });
    // A command that exits without reading its input (docker logs, run --detach) closes the pipe:
    // the EPIPE on our side is no failure of the command, whose exit code says how it went.
    child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') reject(error);
    });
    child.stdin.end(options.input ?? '');
  });
}

/** The image's size in bytes as the daemon reports it (all layers, uncompressed). */
export async function imageSize(image: string): Promise<number> {
  const { stdout } = await docker(['image', 'inspect', '--format', '{{.Size}}', image]);
  return Number(stdout.trim());
}

export async function imageExists(image: string): Promise<boolean> {
  return (await docker(['image', 'inspect', image], { allowFailure: true })).code === 0;
}

/** The first Debian mirror the host's apt uses (deb822 `.sources` or one-line `.list` files). */
export function hostDebianMirror(aptDir = '/etc/apt'): string {
  const files = [path.join(aptDir, 'sources.list')];
  const partsDir = path.join(aptDir, 'sources.list.d');
  if (existsSync(partsDir)) files.push(...readdirSync(partsDir).map((name) => path.join(partsDir, name)));
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (name: string) =>
          new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        if (field('Types').includes('deb') && field('Suites').includes(DEBIAN_SUITE)) {
          const uri = field('URIs')[0];
          if (uri) return uri;
        }
      }
    } else if (file.endsWith('.list')) {
      for (const line of text.split('\n')) {
        const words = line
          .replace(/\[[^\]]*\]/, '')
          .trim()
          .split(/\s+/);
        if (words[0] === 'deb' && words[2] === DEBIAN_SUITE && words[1]) return words[1];
      }
    }
  }
  throw new Error(
    `no apt source for Debian ${DEBIAN_SUITE} in ${aptDir}/sources.list(.d): the local base image needs ` +
      `a Debian mirror; ` +
      'or set IMAGE_TEST_BASE_IMAGE to a Node 24 image your daemon has (e.g. node:24-bookworm-slim)',
  );
}

/** The Node major version the image runs (the Dockerfile's default base and CI use it too). */
const NODE_MAJOR = 24;

/**
 * The Node binary for the local base image: this process's when it is Node 24, else the one
 * scripts/test-tools.sh unpacked into the tools cache.
 */
export function baseNodeBinary(): string {
  if (Number(process.versions.node.split('.')[0]) === NODE_MAJOR) return process.execPath;
  const parent = toolsCacheDir();
  const found = existsSync(parent)
    ? readdirSync(parent)
        .filter((name) => name.startsWith(`node-v${NODE_MAJOR}.`))
        .map((name) => path.join(parent, name, 'bin', 'node'))
        .find((file) => existsSync(file))
    : undefined;
  if (!found) {
    throw new Error(
      `the tests run on Node ${process.versions.node} and no Node ${NODE_MAJOR} is in ${parent}: run ` +
        `scripts/test-tools.sh (or the tests on Node ${NODE_MAJOR})`,
    );
  }
  return found;
}

function nodeVersionOf(binary: string): string {
  return binary === process.execPath
    ? process.versions.node
    : execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim().replace(/^v/, '');
}

/**
 * The host's npm package folder (PREFIX/lib/node_modules/npm), found through the `npm` on PATH:
 * a Node unpacked from the registry's binary package has no npm next to it.
 */
function hostNpmDir(): string {
  const candidates = [path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm')];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const npm = path.join(dir, 'npm');
    if (dir && existsSync(npm)) candidates.push(path.resolve(path.dirname(realpathSync(npm)), '..'));
  }
  const found = candidates.find((dir) => existsSync(path.join(dir, 'bin', 'npm-cli.js')));
  if (!found) {
    throw new Error(
      `no npm found next to ${process.execPath} or on PATH; the local base image needs the host's npm ` +
        `for its build stage`,
    );
  }
  return found;
}

function run(command: string, args: readonly string[], logFile: string): void {
  try {
    execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const failure = error as { stdout?: Buffer; stderr?: Buffer; message: string };
    const output = `${failure.stdout?.toString() ?? ''}${failure.stderr?.toString() ?? ''}`;
    throw new Error(
      `${command} ${args.join(' ')} failed ` +
        `(${failure.message.split('\n')[0]}):\n${output.slice(-3000)}\n(building ${logFile})`,
    );
  }
}

/** Tag of the local base image for this host's Node 24 build. */
export function localBaseImageTag(): string {
  const node = baseNodeBinary();
  const nodeHash = createHash('sha256').update(readFileSync(node)).digest('hex').slice(0, 12);
  return `gke-batch-test/node-base:${DEBIAN_SUITE}-node${nodeVersionOf(node)}-${nodeHash}`;
}

/**
 * A Debian `bookworm` image with the host's Node and npm in `/usr/local` (the official Node image's
 * layout), made without any image registry. Built once per machine (≈1–2 min; needs root for
 * debootstrap), then found by its tag.
 */
export async function ensureLocalBaseImage(log: (line: string) => void = () => {}): Promise<string> {
  const tag = localBaseImageTag();
  if (await imageExists(tag)) return tag;
  const obstacle = localBaseObstacle();
  if (obstacle) throw new Error(`cannot build the local base image ${tag}: ${obstacle}; or set IMAGE_TEST_BASE_IMAGE`);
  const mirror = hostDebianMirror();
  const work = mkdtempSync(path.join(os.tmpdir(), 'gke-batch-rootfs-'));
  const rootfs = path.join(work, 'rootfs');
  try {
    log(`building the local base image ${tag}: debootstrap ${DEBIAN_SUITE} from ${mirror}`);
    run('debootstrap', ['--variant=minbase', DEBIAN_SUITE, rootfs, mirror], tag);
    // What a slim image leaves out: downloaded packages, package lists, docs, man pages, locales.
    for (const dir of [
      'var/cache/apt/archives',
      'var/lib/apt/lists',
      'usr/share/doc',
      'usr/share/man',
      'usr/share/info',
      'usr/share/locale',
    ]) {
      rmSync(path.join(rootfs, dir), { recursive: true, force: true });
      mkdirSync(path.join(rootfs, dir), { recursive: true });
    }
    const node = baseNodeBinary();
    cpSync(node, path.join(rootfs, 'usr/local/bin/node'));
    cpSync(hostNpmDir(), path.join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(rootfs, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', path.join(rootfs, 'usr/local/bin/npx'));
    const archive = path.join(work, 'rootfs.tar');
    run('tar', ['--numeric-owner', '-C', rootfs, '-cf', archive, '.'], tag);
    log(`importing ${tag}`);
    await docker([
      'import',
      '--change',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--change',
      `LABEL org.opencontainers.image.description="Debian ${DEBIAN_SUITE} minbase + Node ` +
        `${nodeVersionOf(node)}, for the image tests"`,
      '--change',
      'CMD ["node"]',
      archive,
      tag,
    ]);
    return tag;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Why this host cannot make the local base image, if it cannot. */
function localBaseObstacle(): string | undefined {
  if (process.platform !== 'linux') return `the host's node is a ${process.platform} binary, not a Linux one`;
  if (process.getuid?.() !== 0) return 'debootstrap needs root';
  try {
    execFileSync('debootstrap', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'debootstrap is not installed (apt-get install debootstrap)';
  }
  return undefined;
}

/** The Dockerfile's default base (its `ARG BASE_IMAGE=`), pulled from a registry when the local one cannot be made. */
export function officialBaseImage(): string {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const image = /^ARG BASE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
  if (!image) throw new Error(`${path.join(ROOT, 'Dockerfile')} has no ARG BASE_IMAGE=... default`);
  return image;
}

/**
 * The base image for the worker image in tests and benchmarks: `IMAGE_TEST_BASE_IMAGE`, else the
 * local one (found by tag, or built), else the official image for hosts that cannot build it
 * (macOS, no root) and whose daemon can pull.
 */
export async function testBaseImage(log: (line: string) => void = () => {}): Promise<string> {
  const chosen = process.env.IMAGE_TEST_BASE_IMAGE;
  if (chosen) return chosen;
  const localTag = localBaseImageTag();
  if (await imageExists(localTag)) return localTag;
  const obstacle = localBaseObstacle();
  if (!obstacle) return ensureLocalBaseImage(log);
  const official = officialBaseImage();
  log(`cannot build the local base image (${obstacle}): using ${official}, which the daemon must be able to pull`);
  await docker(['pull', '--quiet', official], { timeoutMs: 600_000 });
  return official;
}

/**
 * Build arguments that let `npm ci` inside `docker build` reach the registry the host uses: the
 * host's registry setting and its extra CA certificates (for TLS-inspecting proxies). Read at test
 * time; never written into the project.
 */
export function hostNpmBuildArgs(): string[] {
  const args: string[] = [];
  const registry = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8', cwd: ROOT }).trim();
  if (registry) args.push('--build-arg', `NPM_REGISTRY=${registry}`);
  const caDir = '/usr/local/share/ca-certificates';
  const pems = existsSync(caDir)
    ? readdirSync(caDir)
        .filter((name) => name.endsWith('.crt'))
        .sort()
        .map((name) => readFileSync(path.join(caDir, name), 'utf8').trim())
    : [];
  if (pems.length > 0) args.push('--build-arg', `EXTRA_CA_CERTS=${pems.join('\n')}`);
  return args;
}

/** The daemon's platform, e.g. linux/amd64. */
async function daemonPlatform(): Promise<string> {
  const { stdout } = await docker(['version', '--format', '{{.Server.Os}}/{{.Server.Arch}}']);
  return stdout.trim();
}

/** Builds the project's `Dockerfile` on `baseImage` and tags it; the daemon's layer cache makes rebuilds quick. */
export async function buildWorkerImage(tag: string, baseImage: string): Promise<void> {
  await docker(
    [
      'build',
      '--quiet',
      '--tag',
      tag,
      '--build-arg',
      `BASE_IMAGE=${baseImage}`,
      // The legacy builder does not set BUILDPLATFORM (BuildKit does): the daemon's own platform.
      '--build-arg',
      `BUILDPLATFORM=${await daemonPlatform()}`,
      ...hostNpmBuildArgs(),
      ROOT,
    ],
    {
      timeoutMs: 900_000,
      // The legacy builder: BuildKit is not available with every client/daemon pair here.
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    },
  );
}

/** Lists every path in an image's filesystem (via a created, never started, container). */
export async function imageFileList(image: string): Promise<string[]> {
  const { stdout: id } = await docker(['create', image]);
  const container = id.trim();
  try {
    const listing = await new Promise<string>((resolve, reject) => {
      const exporter = spawn('docker', ['export', container], { stdio: ['ignore', 'pipe', 'inherit'] });
      const lister = spawn('tar', ['-t'], { stdio: ['pipe', 'pipe', 'inherit'] });
      exporter.stdout.pipe(lister.stdin);
      const out: Buffer[] = [];
      lister.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      exporter.once('error', reject);
      lister.once('error', reject);
      lister.once('close', (code) =>
        code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new Error(`tar -t exited with ${code}`)),
      );
    });
    return listing
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => `/${line.replace(/^\.?\//, '')}`);
  } finally {
    await docker(['rm', '-f', container], { allowFailure: true });
  }
}
