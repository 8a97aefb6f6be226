/**
 * Stack config validation: every invalid config gets a message naming the key, the bad value and
 * the fix; all problems come at once; defaults resolve. Pure: no Pulumi runtime.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describeKeys } from '../infra/plan/parse';
import { scalarKeys, ScalarKey } from '../infra/plan/schema';
import { StackConfig, TaskDefaults, validateStackConfig, Validation } from '../infra/plan/validate';
import { PROJECT_DIR, readStackFile } from './support/pulumiProgram';

/** config/task.env's shipped values: a local file queue and local outputs. */
const TASK_DEFAULTS: TaskDefaults = {
  queueUrl: 'fq://./local/queue',
  cloudpath: 'file://./local/outputs',
  leaseSeconds: 60,
  maxAttempts: 5,
  concurrency: 1,
  graceSeconds: 20,
};
const FAKE_KEYS = { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake-secret-value' };

type Config = Record<string, unknown>;

/** The dev stack's config (as in Pulumi.dev.yaml) plus the AWS keys a user sets with --secret. */
function devConfig(): Config {
  const config: Config = {};
  for (const [key, value] of Object.entries(readStackFile(path.join(PROJECT_DIR, 'Pulumi.dev.yaml')))) {
    config[key] = value.startsWith('{') || value.startsWith('[') ? JSON.parse(value) : value;
  }
  config['gke-batch:aws'] = { ...(config['gke-batch:aws'] as object), ...FAKE_KEYS };
  return config;
}

function validate(config: Config, fileExists: (file: string) => boolean = () => true): Validation {
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value !== undefined) values[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return validateStackConfig(values, {
    taskDefaults: TASK_DEFAULTS,
    taskDefaultsSource: 'config/task.env',
    projectDir: '/project',
    fileExists,
  });
}

function valid(config: Config): { config: StackConfig; warnings: readonly string[] } {
  const result = validate(config);
  assert.ok(result.ok, `expected a valid config, got:\n${result.ok ? '' : result.problems.join('\n')}`);
  return result;
}

/** Applies `change` to a copy of the dev config and returns its problems. */
function problemsOf(
  change: (config: Config & { pools: Config[]; workers: Config; image: Config; aws: Config }) => void,
  fileExists?: (file: string) => boolean,
): readonly string[] {
  const config = devConfig();
  const view = Object.assign(config, {
    pools: config['gke-batch:nodePools'] as Config[],
    workers: config['gke-batch:workers'] as Config,
    image: config['gke-batch:image'] as Config,
    aws: config['gke-batch:aws'] as Config,
  });
  change(view);
  const { pools: _p, workers: _w, image: _i, aws: _a, ...plain } = view;
  const result = validate(plain, fileExists);
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.problems;
}

describe('infra validate: the dev stack', () => {
  it('accepts Pulumi.dev.yaml (with AWS keys set) without warnings', () => {
    const { config, warnings } = valid(devConfig());
    assert.deepEqual(warnings, []);
    assert.equal(
      config.plan.summary,
      'e2-standard-4 × 0–10 nodes, 3 workers/node (1 vCPU, 4 GiB each), 30 workers (auto), 0.46 vCPU and 505 MiB ' +
        'idle per node',
    );
    assert.equal(config.workers.replicas, 30);
    assert.equal(config.location, 'us-central1', 'two zones: a regional cluster');
    assert.equal(config.outputBucket, 'my-gcp-project-gke-batch');
  });

  it(
    "resolves defaults: spot only for the workers' pool, memory limit = request, task settings from " +
      'config/task.env',
    () => {
      const config = devConfig();
      delete (config['gke-batch:nodePools'] as Config[])[1].spot;
      config['gke-batch:workers'] = { cpu: '1', memory: '4Gi' };
      const { config: resolved } = valid(config);
      assert.deepEqual(
        resolved.nodePools.map((p) => [p.name, p.spot]),
        [
          ['system', false],
          ['workers', true],
        ],
      );
      assert.equal(resolved.workers.memoryLimit, '4Gi');
      assert.equal(resolved.workers.nodePool, 'workers');
      assert.deepEqual(
        [
          resolved.workers.leaseSeconds,
          resolved.workers.graceSeconds,
          resolved.workers.maxAttempts,
          resolved.workers.concurrency,
        ],
        [TASK_DEFAULTS.leaseSeconds, TASK_DEFAULTS.graceSeconds, TASK_DEFAULTS.maxAttempts, TASK_DEFAULTS.concurrency],
      );
    },
  );

  it('uses the default node pools and workers when none are configured', () => {
    const config = devConfig();
    delete config['gke-batch:nodePools'];
    delete config['gke-batch:workers'];
    const { config: resolved } = valid(config);
    assert.deepEqual(
      resolved.nodePools.map((p) => `${p.name}:${p.machine.name}:${p.spot}`),
      ['system:e2-standard-2:false', 'workers:e2-standard-4:true'],
    );
    assert.equal(resolved.workers.memory, '3Gi');
  });

  it('makes a zonal cluster from one zone and takes the AWS region from an https queue URL', () => {
    const config = devConfig();
    config['gke-batch:zones'] = ['us-central1-b'];
    config['gke-batch:queueUrl'] = 'https://sqs.eu-west-1.amazonaws.com/123456789012/tasks';
    config['gke-batch:aws'] = { ...FAKE_KEYS };
    const { config: resolved } = valid(config);
    assert.equal(resolved.location, 'us-central1-b');
    assert.equal(resolved.aws?.region, 'eu-west-1');
  });

  it(
    'warns (without failing) about spot preemption cutting the grace period, tag-only images and private nodes ' +
      'without NAT',
    () => {
      const config = devConfig();
      (config['gke-batch:workers'] as Config).graceSeconds = 20;
      config['gke-batch:image'] = { existing: 'docker.io/me/worker:v1' };
      config['gke-batch:privateNodes'] = 'true';
      config['gke-batch:cloudNat'] = 'false';
      const { warnings } = valid(config);
      assert.equal(warnings.length, 3, warnings.join('\n'));
      assert.match(
        warnings.join('\n'),
        new RegExp(
          String.raw`workers\.graceSeconds 20: a preempted spot node gives` +
            String.raw` pods about 15 s.*set workers\.graceSeconds to 10 or less`,
        ),
      );
      assert.match(warnings.join('\n'), /image\.existing docker\.io\/me\/worker:v1: is a tag, not a digest/);
      assert.match(warnings.join('\n'), /cloudNat false with privateNodes true/);
    },
  );

  it('warns (without failing) when the memory limit is under what the worker itself needs', () => {
    const small = devConfig();
    Object.assign(small['gke-batch:workers'] as Config, { memory: '256Mi', concurrency: 2 });
    assert.match(
      valid(small).warnings.join('\n'),
      new RegExp(
        String.raw`workers\.memoryLimit 256Mi: a worker with 2 task thread\(s\) needs at least 384Mi ` +
          String.raw`\(256Mi for its main thread, 64Mi per task heap\), so its pods will be OOM-killed`,
      ),
    );
    const enough = devConfig();
    Object.assign(enough['gke-batch:workers'] as Config, { memory: '384Mi', concurrency: 2 });
    assert.doesNotMatch(valid(enough).warnings.join('\n'), /memoryLimit/);
  });
});

describe('infra validate: invalid configs, each with its message', () => {
  const cases: Array<[title: string, change: Parameters<typeof problemsOf>[0], expected: RegExp | string]> = [
    [
      'gcp:project missing',
      (c) => delete c['gcp:project'],
      'gcp:project is not set: pulumi config set gcp:project MY-PROJECT-ID',
    ],
    [
      'a region that is not one',
      (c) => (c['gcp:region'] = 'us-central'),
      /^gcp:region us-central: is not a Compute Engine region name; write one like us-central1/,
    ],
    [
      'a zone outside the region',
      (c) => (c['gke-batch:zones'] = ['europe-west4-a']),
      'zones[0] europe-west4-a: is not in gcp:region us-central1; use a zone of us-central1, e.g. us-central1-a',
    ],
    [
      'a misspelt top-level key',
      (c) => (c['gke-batch:clusterNam'] = 'x'),
      'gke-batch:clusterNam is not a setting of this stack: did you mean gke-batch:clusterName?',
    ],
    [
      'a cluster name GKE refuses',
      (c) => (c['gke-batch:clusterName'] = 'GKE_Batch'),
      /^clusterName GKE_Batch: must be lowercase letters, digits and hyphens/,
    ],
    [
      'an unknown release channel',
      (c) => (c['gke-batch:releaseChannel'] = 'FAST'),
      'releaseChannel FAST: must be one of RAPID, REGULAR, STABLE, EXTENDED',
    ],
    [
      'a boolean that is not one',
      (c) => (c['gke-batch:privateNodes'] = 'yes'),
      'privateNodes yes: must be true or false',
    ],
    [
      'a misspelt machine type',
      (c) => (c.pools[1].machineType = 'e2-standrad-4'),
      'nodePools[1].machineType e2-standrad-4: is not a machine type this stack knows; did you mean e2-standard-4?',
    ],
    [
      'two pools with one name',
      (c) => (c.pools[1].name = 'system'),
      /^nodePools\[1\]\.name system: another pool has this name/,
    ],
    [
      'minNodes above maxNodes',
      (c) => (c.pools[1].minNodes = 12),
      'nodePools[1].minNodes 12: is above maxNodes 10; lower minNodes or raise maxNodes',
    ],
    [
      'a misspelt pool field',
      (c) => (c.pools[1].maxNode = 3),
      'nodePools[1].maxNode is not a setting: did you mean nodePools[1].maxNodes?',
    ],
    [
      'a disk type the family lacks',
      (c) => Object.assign(c.pools[1], { machineType: 'c3-standard-8', diskType: 'pd-standard' }),
      /^nodePools\[1\]\.diskType pd-standard: c3 machines take pd-balanced, pd-ssd, hyperdisk-balanced/,
    ],
    [
      'a misspelt taint effect',
      (c) => (c.pools[1].taints = [{ key: 'k', effect: 'NoSchedul' }]),
      'nodePools[1].taints[0].effect NoSchedul: must be one of NoSchedule, PreferNoSchedule, NoExecute',
    ],
    [
      'a spot pool with a GPU its machine family cannot take',
      (c) => (c.pools[1].gpu = { type: 'nvidia-tesla-t4', count: 1 }),
      'nodePools[1].gpu.type nvidia-tesla-t4: T4 GPUs cannot be attached to e2-standard-4 (spot); they need a ' +
        'machine type of the n1 family, e.g. n1-standard-4',
    ],
    [
      'a misspelt GPU type',
      (c) => Object.assign(c.pools[1], { machineType: 'n1-standard-8', gpu: { type: 'nvidia-tesla-t5' } }),
      /gpu\.type nvidia-tesla-t5: is not a GPU type this stack knows; did you mean nvidia-tesla-t4\?/,
    ],
    [
      'a GPU count the type does not come in',
      (c) => Object.assign(c.pools[1], { machineType: 'n1-standard-8', gpu: { type: 'nvidia-tesla-t4', count: 3 } }),
      'nodePools[1].gpu.count 3: T4 GPUs attach 1, 2, 4 per node; pick one of those',
    ],
    [
      'a g2 machine without its GPUs',
      (c) => (c.pools[1].machineType = 'g2-standard-8'),
      /^nodePools\[1\]\.gpu is missing: g2-standard-8 comes with 1 nvidia-l4 GPU/,
    ],
    [
      'every pool tainted',
      (c) => (c.pools[0].taints = [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }]),
      /^nodePools: every pool is tainted .* so system pods such as kube-dns have nowhere to run/,
    ],
    [
      'workers on a pool that does not exist',
      (c) => (c.workers.nodePool = 'worker'),
      'workers.nodePool worker: no node pool has this name; did you mean workers?',
    ],
    [
      'workers.memory larger than a node',
      (c) => (c.workers.memory = '20Gi'),
      'workers.memory 20Gi: does not fit on e2-standard-4 (pool workers): at most 12.4Gi per worker is allocatable; ' +
        'lower workers.memory or pick a machine type with more memory',
    ],
    [
      'workers.cpu larger than a node',
      (c) => (c.workers.cpu = '4'),
      new RegExp(
        String.raw`^workers\.cpu 4: does not fit on e2-standard-4 \(pool workers\):` +
          String.raw` at most 3460m \(3\.46 vCPU\) per worker is allocatable`,
      ),
    ],
    [
      'a memory quantity with the wrong unit',
      (c) => (c.workers.memory = '3GB'),
      'workers.memory 3GB: is not a memory quantity: write 3Gi (binary, GiB) or 3G (decimal)',
    ],
    [
      'a memory limit below the request',
      (c) => (c.workers.memoryLimit = '2Gi'),
      /^workers\.memoryLimit 2Gi: is below workers\.memory 4Gi/,
    ],
    [
      'more replicas than the pool holds',
      (c) => (c.workers.replicas = 50),
      'workers.replicas 50: pool workers holds at most 30 workers (3/node × 10 nodes); raise nodePools[1].maxNodes ' +
        'to 17, or set replicas 30 or auto',
    ],
    [
      'replicas neither a number nor auto',
      (c) => (c.workers.replicas = 'many'),
      'workers.replicas many: must be "auto" or a whole number of pods',
    ],
    [
      'workers on shared-core machines',
      (c) => (c.pools[1].machineType = 'e2-medium'),
      /^nodePools\[1\]\.machineType e2-medium: shared-core machines burst/,
    ],
    [
      'GPU workers on a pool without GPUs',
      (c) => (c.workers.gpus = 1),
      'workers.gpus 1: pool workers has no GPUs; set nodePools[1].gpu or workers.gpus 0',
    ],
    [
      'a workers pool that can never have a node',
      (c) => Object.assign(c.pools[1], { minNodes: 0, maxNodes: 0 }),
      /^nodePools\[1\]\.maxNodes 0: the workers' pool workers can never have a node/,
    ],
    [
      'a lease above the SQS maximum',
      (c) => (c.workers.leaseSeconds = 50000),
      'workers.leaseSeconds 50000: must be at most 43200 seconds',
    ],
    [
      'the local file queue from config/task.env',
      (c) => delete c['gke-batch:queueUrl'],
      "queueUrl fq://./local/queue (from config/task.env): a file queue lives on one machine's disk and cannot be " +
        'reached by pods on several nodes; use Pub/Sub (pulumi config set gke-batch:queueUrl pubsub://PROJECT/NAME: ' +
        'the stack creates it) or SQS (npm run queue:create -- --queue sqs://NAME, then pulumi config set ' +
        'gke-batch:queueUrl sqs://NAME)',
    ],
    [
      'a queue URL that is not SQS',
      (c) => (c['gke-batch:queueUrl'] = 'amqp://broker/tasks'),
      /^queueUrl amqp:\/\/broker\/tasks: queue URL "amqp:\/\/broker\/tasks" has an unknown scheme; use fq:/,
    ],
    [
      'local outputs from config/task.env',
      (c) => delete c['gke-batch:cloudpath'],
      /^cloudpath file:\/\/\.\/local\/outputs \(from config\/task\.env\): files written inside a pod vanish with it/,
    ],
    [
      'AWS keys not set',
      (c) => delete c.aws.secretAccessKey,
      'aws.secretAccessKey is not set: the workers need it for SQS; pulumi config set --secret --path ' +
        'gke-batch:aws.secretAccessKey ...',
    ],
    [
      'no AWS region for an sqs:// queue',
      (c) => delete c.aws.region,
      'aws.region is not set: sqs://gke-batch-dev names no region; pulumi config set --path gke-batch:aws.region ' +
        'us-east-1',
    ],
    [
      "an AWS region other than the queue's",
      (c) =>
        Object.assign(
          c,
          { 'gke-batch:queueUrl': 'https://sqs.us-east-1.amazonaws.com/123456789012/tasks' },
          { aws: Object.assign(c.aws, { region: 'eu-west-1' }) },
        ),
      'aws.region eu-west-1: the queue https://sqs.us-east-1.amazonaws.com/123456789012/tasks is in us-east-1; set ' +
        'aws.region us-east-1 or leave it unset',
    ],
    [
      'structured config set as a plain string',
      (c) => (c['gke-batch:aws'] = 'oops'),
      'aws "oops" is not structured config: set its fields with --path, e.g. pulumi config set --path ' +
        'gke-batch:aws.region us-east-1',
    ],
    [
      'an image for another CPU architecture',
      (c) => (c.image.platform = 'linux/arm64'),
      /^image\.platform linux\/arm64: the machine families this stack plans for \(.*\) are x86-64; use linux\/amd64/,
    ],
    [
      'an existing image that is no image reference',
      (c) => (c['gke-batch:image'] = { existing: 'Not An Image' }),
      /^image\.existing Not An Image: is not an image reference/,
    ],
    [
      'a registry that is a URL',
      (c) => (c.image.registry = 'https://hub.example/me'),
      /^image\.registry https:\/\/hub\.example\/me: write "artifact-registry" or an image repository/,
    ],
  ];

  for (const [title, change, expected] of cases) {
    it(title, () => {
      const problems = problemsOf(change);
      assert.equal(problems.length, 1, `exactly one problem expected:\n${problems.join('\n')}`);
      if (typeof expected === 'string') assert.equal(problems[0], expected);
      else assert.match(problems[0], expected);
    });
  }

  it('has at least 20 distinct invalid configs', () => assert.ok(cases.length >= 20));

  it('reports a missing Dockerfile with the path it looked for', () => {
    const problems = problemsOf(
      (c) => (c.image.dockerfile = 'Dockerfile.worker'),
      (file) => !file.endsWith('Dockerfile.worker'),
    );
    assert.deepEqual(problems, [
      `image.dockerfile Dockerfile.worker: there is no ${path.resolve('/project', '.', 'Dockerfile.worker')}; fix ` +
        `image.context/image.dockerfile, or set image.existing to deploy a prebuilt image`,
    ]);
  });

  it('never prints an AWS key in a message', () => {
    const problems = problemsOf((c) => (c.aws.secretAccessKey = 42));
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^aws\.secretAccessKey \(secret\):/);
  });

  it('reports every problem at once, across keys and inside one key', () => {
    const problems = problemsOf((c) => {
      delete c['gcp:project'];
      c['gke-batch:releaseChannel'] = 'FAST';
      c.pools[0].machineType = 'e2-standrad-2';
      c.workers.cpu = 'lots';
      c.workers.replicas = -1;
      c['gke-batch:cloudpath'] = 'file://./out';
      delete c.aws.accessKeyId;
    });
    const expected = [
      /^gcp:project is not set/,
      /^releaseChannel FAST/,
      /^nodePools\[0\]\.machineType e2-standrad-2: .*did you mean e2-standard-2\?/,
      /^workers\.cpu lots/,
      /^workers\.replicas -1/,
      /^cloudpath file:\/\/\.\/out/,
      /^aws\.accessKeyId is not set/,
    ];
    assert.equal(problems.length, expected.length, problems.join('\n'));
    for (const pattern of expected)
      assert.ok(
        problems.some((p) => pattern.test(p)),
        `${pattern} in:\n${problems.join('\n')}`,
      );
  });
});

describe('infra validate: the schema and Pulumi.yaml agree', () => {
  it("declares in Pulumi.yaml each plain key with the schema's type, default and doc line", () => {
    const project = parseYaml(readFileSync(path.join(PROJECT_DIR, 'Pulumi.yaml'), 'utf8')) as {
      name: string;
      config: Record<string, { type: string; default: unknown; description: string }>;
    };
    assert.equal(project.name, 'gke-batch');
    const declared = Object.keys(project.config);
    assert.ok(declared.length >= 7);
    for (const key of declared) {
      assert.ok(key in scalarKeys, `${key} is a schema key`);
      const schema = scalarKeys[key as ScalarKey];
      const spec = project.config[key];
      assert.equal(spec.description, schema.description, `${key}: description`);
      assert.deepEqual(schema.parse(undefined), spec.default, `${key}: default`);
      assert.equal(typeof spec.default, spec.type === 'boolean' ? 'boolean' : 'string', `${key}: type`);
      assert.deepEqual(
        schema.parse(spec.type === 'boolean' ? String(spec.default) : spec.default),
        spec.default,
        `${key}: Pulumi's string form parses`,
      );
    }
  });

  it('has a doc line for every key and field', () => {
    const rows = describeKeys();
    assert.ok(rows.length > 40);
    for (const { key, doc } of rows) assert.ok(doc.length > 10, `${key} has a doc line`);
    assert.ok(rows.some((r) => r.key === 'nodePools[].machineType'));
    assert.ok(rows.some((r) => r.key === 'workers.memoryLimit'));
  });
});
