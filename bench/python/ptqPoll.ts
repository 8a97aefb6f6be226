/**
 * python-task-queue's own worker loop as a benchmark baseline: runs bench/python/ptq_poll.py (the
 * venv of scripts/test-tools.sh) on a queue holding no-op tasks under the key `PTQ_NOOP_KEY`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { findTool } from '../../test/support/tools';

const SCRIPT = path.join(__dirname, 'ptq_poll.py');

/** The key ptq_poll.py registers its no-op under (it runs as a script, so its module is __main__). */
export const PTQ_NOOP_KEY = ['__main__', 'noop'] as const;

/**
 * Drains `tasks` tasks with `TaskQueue(queue).poll`; `endpoint`: the SQS endpoint for boto3.
 * Resolves with tasks per second of the poll loop alone.
 */
export async function pythonPoll(queue: string, tasks: number, endpoint?: string): Promise<number> {
  const output = await new Promise<string>((resolve, reject) => {
    let text = '';
    const child = spawn(findTool('python'), [SCRIPT, queue, endpoint ?? '-', String(tasks)], {
      cwd: path.dirname(SCRIPT),
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, AWS_DEFAULT_REGION: process.env.AWS_REGION ?? 'us-east-1' },
    });
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`ptq_poll.py exited ${code}`))));
  });
  const result = JSON.parse(output.trim().split('\n').at(-1)!) as { executed: number; seconds: number };
  if (result.executed < tasks) throw new Error(`python-task-queue executed ${result.executed} of ${tasks}`);
  return result.executed / result.seconds;
}
