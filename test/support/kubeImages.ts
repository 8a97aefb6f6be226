/**
 * Images for the local test cluster. No image registry is reachable here: images are built by the
 * local Docker daemon and imported into the cluster's containerd (`docker save | ctr images import`).
 * The pod sandbox image is one static binary compiled from test/kube/pause.c.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { docker, imageExists } from './docker';
import { LocalCluster, PAUSE_IMAGE } from './kube';

const run = promisify(execFile);
const PAUSE_SOURCE = path.resolve(__dirname, '..', 'kube', 'pause.c');

/** Builds the sandbox image once per Docker daemon (found again by its tag). */
export async function ensurePauseImage(): Promise<string> {
  if (await imageExists(PAUSE_IMAGE)) return PAUSE_IMAGE;
  const work = mkdtempSync(path.join(os.tmpdir(), 'pause-image-'));
  try {
    await run('gcc', ['-static', '-Os', '-s', '-o', path.join(work, 'pause'), PAUSE_SOURCE], { timeout: 120_000 });
    writeFileSync(
      path.join(work, 'Dockerfile'),
      'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n',
    );
    await docker(['build', '-q', '-t', PAUSE_IMAGE, work]);
    return PAUSE_IMAGE;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Copies a Docker image into the cluster's containerd, where the kubelet finds it without pulling. */
export async function importImage(cluster: LocalCluster, image: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const save = spawn('docker', ['save', image], { stdio: ['ignore', 'pipe', 'pipe'] });
    const load = spawn('ctr', ['-a', cluster.containerdSocket, '-n', 'k8s.io', 'images', 'import', '-'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    save.stdout.pipe(load.stdin);
    const errors: string[] = [];
    save.stderr.on('data', (chunk: Buffer) => errors.push(chunk.toString()));
    load.stderr.on('data', (chunk: Buffer) => errors.push(chunk.toString()));
    load.stdout.resume();
    let pending = 2;
    const done = (name: string) => (code: number | null) => {
      if (code !== 0) reject(new Error(`${name} for ${image} exited ${code}: ${errors.join('')}`));
      else if (--pending === 0) resolve();
    };
    save.once('close', done('docker save'));
    load.once('close', done('ctr images import'));
    save.once('error', reject);
    load.once('error', reject);
  });
}
