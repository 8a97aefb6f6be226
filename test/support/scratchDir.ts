/**
 * Scratch folders the image tests (and bench/image.ts) mount into containers that run as another
 * user: made writable by anyone, and removed again with what the container wrote into them.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docker } from './docker';

/** A fresh folder under the temp dir that a container running as any UID can write to. */
export function writableScratchDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o777);
  return dir;
}

/** Lets a container running as any UID write everything under `target` (the test process made it). */
export function makeWritableByAnyone(target: string): void {
  const isDir = statSync(target).isDirectory();
  chmodSync(target, isDir ? 0o777 : 0o666);
  if (isDir) for (const entry of readdirSync(target)) makeWritableByAnyone(path.join(target, entry));
}

/**
 * Removes a scratch folder, including what a container wrote into it as another user: without root
 * on the host, the image itself (run as root, node as the entrypoint) empties it first.
 */
export async function removeScratchDir(dir: string, image: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    const emptyDir =
      "const fs = require('fs'), path = require('path'); " +
      'for (const f of fs.readdirSync(process.argv[1])) ' +
      'fs.rmSync(path.join(process.argv[1], f), { recursive: true, force: true })';
    await docker(
      ['run', '--rm', '--user', '0', '--volume', `${dir}:${dir}`, '--entrypoint', 'node', image, '-e', emptyDir, dir],
      { allowFailure: true },
    );
  }
  rmSync(dir, { recursive: true, force: true });
}
