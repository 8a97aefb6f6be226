import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse } from 'dotenv';
import {
  ConfigError,
  loadSettings,
  SettingDescriptor,
  SETTING_KEYS,
  SETTINGS,
  SHIPPED_ENV_FILE,
} from '../lib/settings';

describe('task settings loader', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'settings-'));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('ships config/task.env with exactly the built-in defaults', () => {
    const shipped = parse(readFileSync(SHIPPED_ENV_FILE));
    for (const key of SETTING_KEYS) {
      const setting: SettingDescriptor = SETTINGS[key];
      assert.equal(shipped[setting.env], setting.default, key);
    }
  });

  it('defaults to a local file queue and local outputs', () => {
    const s = loadSettings({ env: {} });
    assert.equal(s.queueUrl, 'fq://./local/queue');
    assert.equal(s.cloudpath, 'file://./local/outputs');
    assert.equal(s.leaseSeconds, 60);
    assert.equal(s.sources.queueUrl, 'shipped-default');
  });

  it('applies flag > environment > env file > shipped default', () => {
    const envFile = file('a.env', 'TASKQUEUE_PATH=fq://from-file\nTQ_LEASE_SECONDS=11\nCF_CLOUDPATH=s3://bkt/p\n');
    const s = loadSettings({
      envFile,
      env: { TQ_LEASE_SECONDS: '22', TASKQUEUE_PATH: 'fq://from-env' },
      overrides: { TASKQUEUE_PATH: 'sqs://from-flag' },
    });
    assert.equal(s.queueUrl, 'sqs://from-flag');
    assert.equal(s.sources.queueUrl, 'flag');
    assert.equal(s.leaseSeconds, 22);
    assert.equal(s.sources.leaseSeconds, 'environment');
    assert.equal(s.cloudpath, 's3://bkt/p');
    assert.equal(s.sources.cloudpath, 'env-file');
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
    assert.match(
      error.message,
      /CF_CLOUDPATH="ftp:\/\/x" \(from env-file\): invalid cloudpath.*"ftp:\/\/" is not supported/,
    );
    assert.match(error.message, /TQ_MAX_ATTEMPTS="0" \(from environment\) must be at least 1/);
    assert.match(error.message, /TASKQUEUE_PATH="redis:\/\/q" \(from flag\): queue URL .* unknown scheme/);
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

  it('warns about names that look like misspelt settings, with did you mean, and ignores the rest', () => {
    const envFile = file('typo.env', 'TASKQUEUE_PAHT=fq://./q\nAWS_REGION=us-east-1\nTQ_LEASE_SECOND=30\n');
    const s = loadSettings({ envFile, env: { WORKER_CONCURENCY: '4', PATH: '/usr/bin' } });
    assert.equal(s.leaseSeconds, 60);
    assert.deepEqual(
      s.warnings.map((w) => w.replace(dir, 'DIR')),
      [
        'the environment: WORKER_CONCURENCY is not a setting and is ignored; did you mean WORKER_CONCURRENCY?',
        'env file DIR/typo.env line 1: TASKQUEUE_PAHT is not a setting and is ignored; did you mean TASKQUEUE_PATH?',
        'env file DIR/typo.env line 3: TQ_LEASE_SECOND is not a setting and is ignored; did you mean TQ_LEASE_SECONDS?',
      ],
    );
  });

  it('refuses a line of an env file that is not a setting, naming file and line, and keeps quoted values whole', () => {
    const envFile = file(
      'garbage.env',
      'TQ_LEASE_SECONDS=30\nCF_CLOUDPATH="file://./out\nstill/quoted"\nTQ_MAX_ATTEMPTS 3\n# a comment\n',
    );
    assert.throws(
      () => loadSettings({ envFile, env: {} }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.length === 1 &&
        /garbage\.env line 4 is not a setting: "TQ_MAX_ATTEMPTS 3"; write NAME=VALUE/.test(error.message),
    );
  });

  it('keeps config/task.env and the README settings table generated from the table', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/generate-settings.ts', '--check'], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
  });
});
