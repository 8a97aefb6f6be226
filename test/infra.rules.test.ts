/**
 * The stack's own rules, tested on the pure plan (no Pulumi, no mocks): the one URL grammar as the
 * stack applies it, project ids, labels, taints, namespaces, GPUs, the warnings about keys and
 * leases, the drain Job's crash budget, the layering rule and the transpile-only preview.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { defaultBackoffLimit, MIN_BACKOFF_LIMIT } from '../infra/plan/defaults';
import { scaledObjectManifest } from '../infra/plan/keda';
import { parseCloudpath } from '../lib/urls/cloudpath';
import { parseQueueUrl } from '../lib/urls/queue';
import { problemsOf, validateDev } from './support/devStack';
import { PROJECT_DIR } from './support/pulumiProgram';

const LEGACY = 'https://us-east-1.queue.amazonaws.com/123456789012/jobs';

/** Whether lib/urls (what the worker, insert and the settings loader call) accepts the queue URL. */
const libAcceptsQueue = (url: string) => {
  try {
    parseQueueUrl(url);
    return true;
  } catch {
    return false;
  }
};

describe('infra rules: one URL grammar, as the stack applies it', () => {
  it('refuses https://sqs.../jobs.fifo, like the worker, naming FIFO', () => {
    const url = 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo';
    assert.equal(libAcceptsQueue(url), false);
    const problems = problemsOf((c) => (c['gke-batch:queueUrl'] = url));
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(
      problems[0],
      /^queueUrl https:\/\/sqs\.us-east-1\.amazonaws\.com\/123456789012\/jobs\.fifo: .*names a FIFO queue/,
    );
  });

  it('refuses sqs://jobs.fifo, like the worker', () => {
    assert.equal(libAcceptsQueue('sqs://jobs.fifo'), false);
    const problems = problemsOf((c) => (c['gke-batch:queueUrl'] = 'sqs://jobs.fifo'));
    assert.deepEqual(problems.length, 1);
    assert.match(problems[0], /^queueUrl sqs:\/\/jobs\.fifo: .*FIFO queues .* not supported; create a standard queue/);
  });

  it('refuses gs://b/out//run (and an empty segment in a valid bucket), like the worker', () => {
    for (const cloudpath of ['gs://b/out//run', 'gs://my-bucket/out//run']) {
      assert.throws(() => parseCloudpath(cloudpath), cloudpath);
      const problems = problemsOf((c) => (c['gke-batch:cloudpath'] = cloudpath));
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.ok(problems[0].startsWith(`cloudpath ${cloudpath}: invalid cloudpath`), problems[0]);
    }
    assert.match(
      problemsOf((c) => (c['gke-batch:cloudpath'] = 'gs://my-bucket/out//run'))[0],
      /empty, "\." or "\.\." segment/,
    );
  });

  it('accepts the legacy https://us-east-1.queue.amazonaws.com/... URL, and so does the KEDA scaler', () => {
    assert.equal(libAcceptsQueue(LEGACY), true);
    const result = validateDev((c) => {
      c['gke-batch:queueUrl'] = LEGACY;
      c.scaling.mode = 'continuous';
    });
    assert.ok(result.ok, result.ok ? '' : result.problems.join('\n'));
    assert.deepEqual(result.config.scaling.queue, {
      url: LEGACY,
      region: 'us-east-1',
      accountId: '123456789012',
      name: 'jobs',
    });
    const scaled = scaledObjectManifest('workers', 'batch-workers', 'workers-sqs', {
      queueUrl: LEGACY,
      maxReplicas: 3,
    });
    assert.deepEqual(
      { queueURL: scaled.spec.triggers[0].metadata.queueURL, awsRegion: scaled.spec.triggers[0].metadata.awsRegion },
      { queueURL: LEGACY, awsRegion: 'us-east-1' },
    );
  });

  it('takes a Pub/Sub queue in both forms, normalised as lib/urls normalises it', () => {
    for (const url of [
      'pubsub://my-gcp-project/jobs',
      'pubsub://projects/my-gcp-project/topics/jobs/subscriptions/jobs',
    ]) {
      assert.equal(libAcceptsQueue(url), true, 'the workers accept it');
      const result = validateDev((c) => (c['gke-batch:queueUrl'] = url));
      assert.ok(result.ok, result.ok ? '' : result.problems.join('\n'));
      assert.equal(result.config.queueUrl, 'pubsub://projects/my-gcp-project/topics/jobs/subscriptions/jobs');
      assert.equal(result.config.pubsub?.subscriptionName, 'projects/my-gcp-project/subscriptions/jobs');
    }
    assert.match(
      problemsOf((c) => (c['gke-batch:queueUrl'] = 'pubsub://my-gcp-project/goog-jobs'))[0],
      /^queueUrl pubsub:\/\/my-gcp-project\/goog-jobs: .*"goog-jobs" as its topic id/,
    );
  });

  it("adds the stack's own rules on top: no file queue, no file:// outputs, bucket names by the rule", () => {
    assert.match(
      problemsOf((c) => (c['gke-batch:queueUrl'] = 'fq://./q'))[0],
      /a file queue lives on one machine's disk/,
    );
    assert.match(
      problemsOf((c) => (c['gke-batch:cloudpath'] = 'file:///tmp/out'))[0],
      /files written inside a pod vanish/,
    );
    const capitals = problemsOf((c) => (c['gke-batch:cloudpath'] = 'gs://My-Bucket/out'));
    assert.match(
      capitals[0],
      new RegExp(
        String.raw`^cloudpath gs:\/\/My-Bucket\/out: invalid cloudpath .*"My-Bucket" is` +
          String.raw` not a valid bucket name; bucket names are 3-63 lower-case letters`,
      ),
    );
  });
});

describe('infra rules: checked before anything is created', () => {
  it('refuses a project display name such as "My Project!" and says to use the id', () => {
    const problems = problemsOf((c) => (c['gcp:project'] = 'My Project!'));
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(
      problems[0],
      /^gcp:project My Project!: is not a project id \(6–30 lowercase letters.*gcloud projects list/,
    );
    assert.ok(validateDev((c) => (c['gcp:project'] = 'example.com:my-project')).ok, 'domain-scoped ids are ids');
  });

  it('refuses a GPU pool without a type, naming the field', () => {
    const problems = problemsOf((c) => (c.pools[1].gpu = { count: 1 }));
    assert.deepEqual(problems, [
      'nodePools[1].gpu.type is missing: a GPU pool needs its GPU type, e.g. nvidia-tesla-t4 (n1 machines) or ' +
        'nvidia-l4 (g2 machines)',
    ]);
  });

  it('refuses GPU/vCPU combinations Compute Engine does not offer', () => {
    const problems = problemsOf((c) => {
      Object.assign(c.pools[1], { machineType: 'n1-standard-64', gpu: { type: 'nvidia-tesla-t4', count: 1 } });
      c.workers.memory = '8Gi';
    });
    assert.deepEqual(problems, [
      'nodePools[1].machineType n1-standard-64: 1 T4 GPU attach to machines of at most 48 vCPUs, and it has 64; set ' +
        'gpu.count 4 or pick a smaller machine type',
    ]);
    const ok = validateDev((c) => {
      Object.assign(c.pools[1], { machineType: 'n1-standard-64', gpu: { type: 'nvidia-tesla-t4', count: 4 } });
      c.workers.memory = '8Gi';
    });
    assert.ok(ok.ok, ok.ok ? '' : ok.problems.join('\n'));
  });

  it('checks label keys, label values and taint values by Kubernetes rules, naming the culprit', () => {
    const problems = problemsOf((c) => {
      c.pools[1].labels = { 'Bad Key!': 'x', 'kubernetes.io/role': 'w', team: 'a'.repeat(64) };
      (c.pools[1].taints as Array<Record<string, string>>)[0].value = 'not ok';
    });
    assert.deepEqual(problems, [
      `nodePools[1].labels Bad Key!: the label key breaks Kubernetes' label key rule: the name part is letters, ` +
        `digits, "-", "_" and ".", starting and ending with a letter or digit`,
      'nodePools[1].labels kubernetes.io/role: the label key uses the reserved prefix "kubernetes.io": Kubernetes ' +
        'keeps kubernetes.io and k8s.io labels for itself; use your own prefix, e.g. gke-batch/',
      'nodePools[1].labels.team ' +
        'a'.repeat(64) +
        ': the label value is 64 characters long; Kubernetes allows at most 63',
      `nodePools[1].taints[0].value not ok: the taint value breaks Kubernetes' label value rule: letters, digits, ` +
        `"-", "_" and ".", starting and ending with a letter or digit (or empty)`,
    ]);
  });

  it('refuses the namespaces default, kube-*, gke-* and keda', () => {
    for (const namespace of ['default', 'kube-system', 'gke-managed-system', 'keda']) {
      const problems = problemsOf((c) => (c.workers.namespace = namespace));
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.ok(problems[0].startsWith(`workers.namespace ${namespace}: is `), problems[0]);
      assert.match(problems[0], /use a namespace of its own, e\.g\. batch-workers$/);
    }
  });

  it('refuses an authorized network that is not a CIDR block', () => {
    assert.deepEqual(
      problemsOf((c) => (c['gke-batch:authorizedNetworks'] = ['203.0.113.0/24', '10.0.0.300/8'])),
      ['authorizedNetworks[1] 10.0.0.300/8: is not an IPv4 CIDR block; write one like 203.0.113.0/24'],
    );
  });
});

describe('infra rules: warnings', () => {
  it('warns when the AWS keys were set without --secret, and not when they were', () => {
    const plain = validateDev(() => undefined, []);
    assert.ok(plain.ok);
    assert.ok(
      plain.warnings.some((w) => /^aws keys are stored in plain text .*set without --secret/.test(w)),
      plain.warnings.join('\n'),
    );
    const secret = validateDev(() => undefined, ['gke-batch:aws']);
    assert.ok(secret.ok);
    assert.equal(secret.warnings.filter((w) => w.startsWith('aws keys')).length, 0);
  });

  it('warns about a lease over an hour on spot workers, not on on-demand ones', () => {
    const spot = validateDev((c) => (c.workers.leaseSeconds = 43200));
    assert.ok(spot.ok);
    assert.ok(
      spot.warnings.some((w) => /^workers\.leaseSeconds 43200: .*stay invisible .* \(12\.0 h\)/.test(w)),
      spot.warnings.join('\n'),
    );
    const onDemand = validateDev((c) => {
      c.workers.leaseSeconds = 43200;
      c.pools[1].spot = false;
    });
    assert.ok(onDemand.ok);
    assert.equal(onDemand.warnings.filter((w) => w.startsWith('workers.leaseSeconds')).length, 0);
  });
});

describe("infra rules: the drain Job's crash budget", () => {
  it('grows with the workers, so two poison tasks that OOM on every attempt never abort the batch', () => {
    for (const parallelism of [1, 5, 30, 200]) {
      for (const maxAttempts of [1, 5, 20]) {
        const limit = defaultBackoffLimit(parallelism, maxAttempts);
        // Two poison tasks crash a pod on each of their attempts; every worker may crash once more besides.
        assert.ok(limit > 2 * maxAttempts + parallelism, `${parallelism} workers, ${maxAttempts} attempts: ${limit}`);
        assert.ok(limit >= MIN_BACKOFF_LIMIT);
      }
    }
    const dev = validateDev();
    assert.ok(dev.ok);
    assert.equal(dev.config.scaling.backoffLimit, defaultBackoffLimit(30, 5));
    const fixed = validateDev((c) => (c.scaling.backoffLimit = 3));
    assert.ok(fixed.ok);
    assert.equal(fixed.config.scaling.backoffLimit, 3, 'an explicit limit is kept');
  });
});

describe('infra rules: layering and preview', function () {
  this.timeout(120_000);
  const depcruise = path.join(PROJECT_DIR, 'node_modules', '.bin', 'depcruise');
  const rules = path.join(PROJECT_DIR, '.dependency-cruiser.cjs');
  const cruise = (cwd: string, targets: string[]) => {
    try {
      execFileSync(depcruise, ['--config', rules, '--output-type', 'err', ...targets], { cwd, encoding: 'utf8' });
      return { ok: true, output: '' };
    } catch (error) {
      return { ok: false, output: String((error as { stdout?: string }).stdout ?? error) };
    }
  };

  it('the plan imports no Pulumi at run time and no component; infra/ has no cycle (dependency-cruiser)', () => {
    const result = cruise(PROJECT_DIR, ['infra', 'index.ts']);
    assert.ok(result.ok, result.output);
  });

  it('the same rules catch a seeded violation', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-rules-'));
    try {
      mkdirSync(path.join(dir, 'infra', 'plan'), { recursive: true });
      mkdirSync(path.join(dir, 'infra', 'components'), { recursive: true });
      writeFileSync(path.join(dir, 'tsconfig.json'), '{"compilerOptions":{"module":"commonjs"}}');
      writeFileSync(
        path.join(dir, 'infra', 'plan', 'a.ts'),
        "import { b } from '../components/b';\nexport const a = b;\n",
      );
      writeFileSync(
        path.join(dir, 'infra', 'components', 'b.ts'),
        "import { a } from '../plan/a';\nexport const b = 1 + Number(a);\n",
      );
      const result = cruise(dir, ['infra']);
      assert.equal(result.ok, false);
      assert.match(result.output, /plan-never-imports-components-or-glue/);
      assert.match(result.output, /no-cycles/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(
    'pulumi preview transpiles only: Pulumi.yaml names a tsconfig with noCheck, which Pulumi reads as ' +
      'transpileOnly',
    () => {
      const project = parseYaml(readFileSync(path.join(PROJECT_DIR, 'Pulumi.yaml'), 'utf8')) as {
        runtime: { options: { tsconfig: string } };
      };
      const tsconfigPath = path.join(PROJECT_DIR, project.runtime.options.tsconfig);
      // The same loader @pulumi/pulumi's run command uses to decide transpileOnly (cmd/run/run.js).
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- an internal module without types.
      const tsutils = require('@pulumi/pulumi/tsutils') as {
        loadTypeScriptCompilerOptions(file: string): Record<string, unknown>;
      };
      assert.equal(tsutils.loadTypeScriptCompilerOptions(tsconfigPath).noCheck, true);
      const plain = tsutils.loadTypeScriptCompilerOptions(path.join(PROJECT_DIR, 'tsconfig.json'));
      assert.notEqual(plain.noCheck, true, 'npm test still type-checks');
    },
  );
});
