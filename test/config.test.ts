import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'dotenv';
import { ConfigError, DEFAULTS, ENV_KEYS, loadSettings, SHIPPED_ENV_FILE } from '../lib/config';

describe('task settings loader', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'settings-'));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('ships config/task.env with exactly the built-in defaults', () => {
    const shipped = parse(readFileSync(SHIPPED_ENV_FILE));
    for (const key of ENV_KEYS) assert.equal(shipped[key], DEFAULTS[key], key);
  });

  it('defaults to a local file queue and local outputs', () => {
    const s = loadSettings({ env: {} });
    assert.equal(s.queueUrl, 'fq://./local/queue');
    assert.equal(s.cloudpath, 'file://./local/outputs');
    assert.equal(s.leaseSeconds, 60);
    assert.equal(s.sources.TASKQUEUE_PATH, 'shipped-default');
  });

  it('applies flag > environment > env file > shipped default', () => {
    const envFile = file('a.env', 'TASKQUEUE_PATH=fq://from-file\nTQ_LEASE_SECONDS=11\nCF_CLOUDPATH=s3://b/p\n');
    const s = loadSettings({
      envFile,
      env: { TQ_LEASE_SECONDS: '22', TASKQUEUE_PATH: 'fq://from-env' },
      overrides: { TASKQUEUE_PATH: 'sqs://from-flag' },
    });
    assert.equal(s.queueUrl, 'sqs://from-flag');
    assert.equal(s.sources.TASKQUEUE_PATH, 'flag');
    assert.equal(s.leaseSeconds, 22);
    assert.equal(s.sources.TQ_LEASE_SECONDS, 'environment');
    assert.equal(s.cloudpath, 's3://b/p');
    assert.equal(s.sources.CF_CLOUDPATH, 'env-file');
  });

  it('reports every problem at once, naming key, value and source', () => {
    const envFile = file('bad.env', 'TQ_LEASE_SECONDS=abc\nCF_CLOUDPATH=ftp://x\n');
    let error: unknown;
    try {
      loadSettings({ envFile, env: { TQ_MAX_ATTEMPTS: '0' }, overrides: { TASKQUEUE_PATH: 'redis://q' } });
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems.length, 4, error.message);
    assert.match(error.message, /TQ_LEASE_SECONDS="abc" \(from env-file\) must be a whole number of seconds/);
    assert.match(error.message, /CF_CLOUDPATH="ftp:\/\/x" \(from env-file\) must be file:\/\/DIR/);
    assert.match(error.message, /TQ_MAX_ATTEMPTS="0" \(from environment\) must be at least 1/);
    assert.match(error.message, /TASKQUEUE_PATH="redis:\/\/q" \(from flag\) must be fq:\/\/DIR/);
  });

  it("rejects a lease above SQS's 12-hour ceiling", () => {
    assert.throws(() => loadSettings({ env: { TQ_LEASE_SECONDS: '43201' } }), /must be at most 43200 seconds/);
  });

  it('names a missing env file and a directory given as env file', () => {
    assert.throws(() => loadSettings({ envFile: path.join(dir, 'nope.env'), env: {} }), /nope\.env does not exist/);
    mkdirSync(path.join(dir, 'adir'));
    assert.throws(() => loadSettings({ envFile: path.join(dir, 'adir'), env: {} }), /adir is a directory/);
  });

  it('accepts the parameter file name without .feather, like the template', () => {
    const table = file('params.feather', 'x');
    const s = loadSettings({ env: { TASK_PARAMETER_FILENAME: table.replace(/\.feather$/, '') } });
    assert.equal(s.paramsFile, table);
  });
});
