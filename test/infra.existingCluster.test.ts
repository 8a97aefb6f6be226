/**
 * existingCluster mode under Pulumi's unit-test mocks: only the workers are declared, through a
 * Kubernetes provider for the given kubeconfig, and nothing in GCP; and the config checks that
 * refuse what would need GCP. The same mode runs for real in test/deploy.real.test.ts.
 */
import assert from 'node:assert/strict';
import { checkExistingCluster } from '../infra/plan/checkExistingCluster';
import { problemsOf, runDev, TASK_DEFAULTS } from './support/devStack';
import { isSecretInput, PROJECT_DIR } from './support/pulumiProgram';

const KUBECONFIG = 'apiVersion: v1\nkind: Config\nclusters: []\n';
const CONTEXT = { taskDefaults: TASK_DEFAULTS, projectDir: PROJECT_DIR, fileExists: () => true };
const IMAGE = 'registry.example.com/team/worker@sha256:' + 'cd34'.repeat(16);

describe('infra: existingCluster (mocks)', function () {
  this.timeout(60_000);

  it('declares the provider, namespace, service account, secret and Job, and no GCP or Docker resource', async () => {
    const run = await runDev((config) => {
      config['gke-batch:existingCluster'] = { kubeconfig: KUBECONFIG, nodeSelector: { pool: 'batch' } };
      config.image.existing = IMAGE;
      config.aws.endpoint = 'http://10.0.0.5:4566';
      config['gke-batch:cloudpath'] = 's3://outputs/run';
    });
    assert.equal(run.error, undefined, String(run.error));
    const types = run.resources.filter((r) => r.custom).map((r) => r.type);
    assert.deepEqual(
      types.filter((type) => type.startsWith('gcp:') || type.startsWith('docker:')),
      [],
      'nothing in GCP, no image build',
    );
    for (const type of [
      'pulumi:providers:kubernetes',
      'kubernetes:core/v1:Namespace',
      'kubernetes:core/v1:ServiceAccount',
      'kubernetes:core/v1:Secret',
      'kubernetes:batch/v1:Job',
    ]) {
      assert.ok(types.includes(type), `${type} declared (got ${types.join(', ')})`);
    }
    const provider = run.resources.find((r) => r.type === 'pulumi:providers:kubernetes');
    assert.ok(isSecretInput(provider?.inputs.kubeconfig), 'inline kubeconfig text is a secret');
    const namespace = run.resources.find((r) => r.type === 'kubernetes:core/v1:Namespace');
    assert.equal(namespace?.inputs.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
    const ksa = run.resources.find((r) => r.type === 'kubernetes:core/v1:ServiceAccount');
    assert.equal(ksa?.inputs.metadata.annotations, undefined, 'no Workload Identity annotation');
    const job = run.resources.find((r) => r.type === 'kubernetes:batch/v1:Job');
    const pod = job?.inputs.spec.template.spec;
    assert.deepEqual(pod.nodeSelector, { pool: 'batch' });
    assert.equal(pod.containers[0].image, IMAGE);
    const env = pod.containers[0].env as { name: string; value?: string }[];
    assert.deepEqual(
      env.find((e) => e.name === 'AWS_ENDPOINT_URL'),
      { name: 'AWS_ENDPOINT_URL', value: 'http://10.0.0.5:4566' },
    );
    assert.deepEqual(run.outputs.nodePools, []);
  });

  it('a kubeconfig path is resolved against the project directory and passed as a path', async () => {
    const run = await runDev((config) => {
      config['gke-batch:existingCluster'] = { kubeconfig: 'Pulumi.yaml' };
      config.image.existing = IMAGE;
      config['gke-batch:cloudpath'] = 's3://outputs/run';
    });
    assert.equal(run.error, undefined, String(run.error));
    const provider = run.resources.find((r) => r.type === 'pulumi:providers:kubernetes');
    assert.match(String(provider?.inputs.kubeconfig), /^\/.*\/Pulumi\.yaml$/);
  });

  it('refuses an image that needs Artifact Registry, gs:// outputs and bad node selectors, naming each', () => {
    const problems = problemsOf((config) => {
      config['gke-batch:existingCluster'] = { kubeconfig: KUBECONFIG, nodeSelector: { 'bad key!': 'x y' } };
      delete config.image.existing;
      config.image.registry = 'artifact-registry';
      config['gke-batch:cloudpath'] = 'gs://bucket/out';
    });
    const text = problems.join('\n');
    assert.match(text, /image\.registry artifact-registry: with existingCluster/);
    assert.match(text, /cloudpath gs:\/\/bucket: with existingCluster/);
    assert.match(text, /existingCluster\.nodeSelector bad key!: is not a Kubernetes label key/);
    assert.match(text, /existingCluster\.nodeSelector\.bad key! "x y": is not a label value/);
  });

  it('refuses a kubeconfig path that does not exist, with the path it looked at', () => {
    const problems: string[] = [];
    const context = { ...CONTEXT, fileExists: () => false };
    const result = checkExistingCluster({ kubeconfig: 'no/such/kubeconfig', nodeSelector: {} }, {}, context, problems);
    assert.equal(result, undefined);
    assert.match(
      problems.join('\n'),
      /existingCluster\.kubeconfig no\/such\/kubeconfig: no such file \(\/.*\/no\/such\/kubeconfig\)/,
    );
  });

  it('refuses aws.endpoint that is not an http(s) URL', () => {
    const problems = problemsOf((config) => {
      config.aws.endpoint = 'ftp://example.com';
    });
    assert.match(problems.join('\n'), /aws.*endpoint.*http/);
  });
});
