/**
 * The deploy-path fixes under Pulumi's unit-test mocks: resource inputs and the resource options
 * the SDK sends the engine (dependencies, protect, replaceOnChanges), read off the real register
 * requests. No Pulumi CLI, no cloud: what the engine and GCP then do is not tested here.
 */
import assert from 'node:assert/strict';
import { Inputs, ofType, onlyOne, ProgramRun } from './support/pulumiProgram';
import { runDev, type DevConfig } from './support/devStack';

const T = {
  cluster: 'gcp:container/cluster:Cluster',
  nodePool: 'gcp:container/nodePool:NodePool',
  projectMember: 'gcp:projects/iAMMember:IAMMember',
  repository: 'gcp:artifactregistry/repository:Repository',
  repositoryMember: 'gcp:artifactregistry/repositoryIamMember:RepositoryIamMember',
  image: 'docker:index/image:Image',
  nat: 'gcp:compute/routerNat:RouterNat',
  firewall: 'gcp:compute/firewall:Firewall',
  k8sProvider: 'pulumi:providers:kubernetes',
  job: 'kubernetes:batch/v1:Job',
  deployment: 'kubernetes:apps/v1:Deployment',
  secret: 'kubernetes:core/v1:Secret',
} as const;

async function ok(change?: (config: DevConfig) => void): Promise<ProgramRun> {
  const result = await runDev(change);
  assert.equal(result.error, undefined, `the program failed: ${result.error?.message}`);
  return result;
}
const continuous = (c: DevConfig) => {
  c['gke-batch:queueUrl'] = 'https://sqs.us-east-1.amazonaws.com/123456789012/gke-batch-dev';
  c.scaling.mode = 'continuous';
};
const podAnnotations = (run: ProgramRun): Inputs =>
  onlyOne(run, T.deployment).inputs.spec.template.metadata.annotations;

describe('infra deploy path (Pulumi mocks)', function () {
  this.timeout(60_000);
  let dev: ProgramRun;
  before(async () => {
    dev = await ok();
  });

  it(
    'names the Artifact Registry repository after the cluster, so two stacks in one project do not ' + 'clash',
    async () => {
      const other = await ok((c) => (c['gke-batch:clusterName'] = 'other-batch'));
      assert.deepEqual(
        [onlyOne(dev, T.repository).inputs.repositoryId, onlyOne(other, T.repository).inputs.repositoryId],
        ['gke-batch-dev', 'other-batch'],
      );
    },
  );

  it('pushes to an existing repository (createRepository false) without creating one', async () => {
    const run = await ok((c) => Object.assign(c.image, { repository: 'shared-images', createRepository: false }));
    assert.equal(ofType(run, T.repository).length, 0);
    assert.match(
      onlyOne(run, T.image).inputs.imageName,
      /^us-central1-docker\.pkg\.dev\/my-gcp-project\/shared-images\/worker:/,
    );
    assert.equal(onlyOne(run, T.repositoryMember).inputs.repository, 'shared-images');
  });

  it("gives the node service account GKE's default node role and registry read on the stack's repository only", () => {
    assert.deepEqual(
      ofType(dev, T.projectMember).map((m) => m.inputs.role),
      ['roles/container.defaultNodeServiceAccount'],
      'no project-wide Artifact Registry reader',
    );
    const grant = onlyOne(dev, T.repositoryMember).inputs;
    assert.deepEqual(
      [grant.role, grant.repository, grant.location, grant.member],
      [
        'roles/artifactregistry.reader',
        'gke-batch-dev',
        'us-central1',
        'serviceAccount:gke-batch-dev-nodes@my-gcp-project.iam.gserviceaccount.com',
      ],
    );
  });

  it('makes every in-cluster object wait for the node pools, through the Kubernetes provider', () => {
    const provider = onlyOne(dev, T.k8sProvider);
    const poolUrns = ofType(dev, T.nodePool).map((p) => p.options.urn);
    assert.equal(poolUrns.length, 2);
    for (const urn of poolUrns) assert.ok(provider.options.dependencies.includes(urn), `provider depends on ${urn}`);
    const inCluster = dev.resources.filter((r) => r.type.startsWith('kubernetes:'));
    assert.ok(inCluster.length >= 4);
    for (const resource of inCluster)
      assert.ok(
        resource.options.provider.startsWith(`${provider.options.urn}::`),
        `${resource.type} uses the provider`,
      );
  });

  it('lets rotated AWS keys update the Secret in place (a mutable Secret)', () => {
    assert.equal(onlyOne(dev, T.k8sProvider).inputs.enableSecretMutable, 'true');
    assert.equal(onlyOne(dev, T.secret).options.replaceOnChanges.length, 0);
  });

  it('with deletionProtection also protects the cluster in Pulumi, so destroy is refused up front', async () => {
    assert.equal(onlyOne(dev, T.cluster).options.protect, false);
    const run = await ok((c) => (c['gke-batch:deletionProtection'] = 'true'));
    assert.equal(onlyOne(run, T.cluster).options.protect, true);
    assert.equal(onlyOne(run, T.cluster).inputs.deletionProtection, true);
  });

  it('with private nodes and continuous mode opens 6443 and 9443 from the control plane to the nodes', async () => {
    const run = await ok((c) => {
      continuous(c);
      c['gke-batch:privateNodes'] = 'true';
    });
    const rule = onlyOne(run, T.firewall).inputs;
    assert.deepEqual(rule.allows, [{ protocol: 'tcp', ports: ['6443', '9443'] }]);
    assert.equal(rule.direction, 'INGRESS');
    assert.deepEqual(rule.targetServiceAccounts, ['gke-batch-dev-nodes@my-gcp-project.iam.gserviceaccount.com']);
    const provider = onlyOne(run, T.k8sProvider);
    assert.ok(provider.options.dependencies.includes(onlyOne(run, T.firewall).options.urn), 'KEDA waits for the rule');
    const drainPrivate = await ok((c) => (c['gke-batch:privateNodes'] = 'true'));
    assert.equal(ofType(drainPrivate, T.firewall).length, 0, 'drain mode runs no KEDA');
    assert.equal(ofType(await ok(continuous), T.firewall).length, 0, 'public nodes need no rule');
  });

  it('creates the node pools after the Cloud NAT their private nodes need', async () => {
    const run = await ok((c) => (c['gke-batch:privateNodes'] = 'true'));
    const nat = onlyOne(run, T.nat).options.urn;
    for (const pool of ofType(run, T.nodePool)) assert.ok(pool.options.dependencies.includes(nat), pool.name);
  });

  it('sets authorized networks for the control plane when configured', async () => {
    assert.equal(onlyOne(dev, T.cluster).inputs.masterAuthorizedNetworksConfig, undefined);
    const run = await ok((c) => (c['gke-batch:authorizedNetworks'] = ['203.0.113.0/24']));
    assert.deepEqual(onlyOne(run, T.cluster).inputs.masterAuthorizedNetworksConfig, {
      cidrBlocks: [{ cidrBlock: '203.0.113.0/24', displayName: 'authorized-0' }],
    });
  });

  it('authenticates the Kubernetes provider with application default credentials', () => {
    const kubeconfig = JSON.parse(String(dev.outputs.kubeconfig)) as { users: Array<{ user: { exec: Inputs } }> };
    assert.deepEqual(kubeconfig.users[0].user.exec.args, ['--use_application_default_credentials']);
  });

  it(
    'replaces the drain Job (old one first) on a pod template change, never on maxWorkers, and the preview ' +
      'says how to resize the running Job',
    () => {
      const job = onlyOne(dev, T.job);
      assert.deepEqual(job.options.replaceOnChanges, ['spec.template']);
      assert.deepEqual(job.options.ignoreChanges, ['spec.parallelism'], 'a resize never replaces a running batch');
      assert.equal(job.options.deleteBeforeReplace, true);
      assert.equal(job.inputs.spec.ttlSecondsAfterFinished, undefined, 'no TTL: refresh + up never starts a run');
      const resize = 'kubectl -n batch-workers patch job workers-run-1 --type merge -p \'{"spec":{"parallelism":30}}\'';
      assert.ok(
        dev.logs.info.some(
          (line) =>
            line.startsWith('drain: run 1 is Job workers-run-1 with parallelism 30. A new image or worker setting ') &&
            line.includes('REPLACES the running Job') &&
            line.includes('A new scaling.maxWorkers does NOT change a running Job') &&
            line.endsWith(resize),
        ),
        dev.logs.info.join('\n'),
      );
      assert.equal((dev.outputs.scaling as Inputs).resizeRunningJob, resize);
    },
  );

  it(
    'continuous: pods are not evicted by the autoscaler, roll on a key rotation, and the rollout is ' + 'awaited',
    async () => {
      const first = await ok(continuous);
      const annotations = podAnnotations(first);
      assert.equal(annotations['cluster-autoscaler.kubernetes.io/safe-to-evict'], 'false');
      assert.match(annotations['gke-batch/aws-credentials-sha256'], /^[0-9a-f]{64}$/);
      assert.equal(
        podAnnotations(await ok(continuous))['gke-batch/aws-credentials-sha256'],
        annotations['gke-batch/aws-credentials-sha256'],
      );
      const rotated = await ok((c) => {
        continuous(c);
        c.aws.secretAccessKey = 'rotated-secret-value';
      });
      assert.notEqual(
        podAnnotations(rotated)['gke-batch/aws-credentials-sha256'],
        annotations['gke-batch/aws-credentials-sha256'],
      );
      const deployment = onlyOne(first, T.deployment);
      assert.equal(
        deployment.inputs.metadata.annotations?.['pulumi.com/skipAwait'],
        undefined,
        'a crash-looping rollout fails up',
      );
      assert.deepEqual(deployment.options.ignoreChanges, ['spec.replicas']);
    },
  );

  it('bounds /tmp and requests the ephemeral storage it may use', () => {
    const spec = onlyOne(dev, T.job).inputs.spec.template.spec;
    assert.deepEqual(spec.volumes, [{ name: 'tmp', emptyDir: { sizeLimit: '2Gi' } }]);
    assert.equal(spec.containers[0].resources.requests['ephemeral-storage'], '2Gi');
  });

  it('lets the system pool grow to two nodes', () => {
    const system = ofType(dev, T.nodePool).find((p) => p.inputs.name === 'system');
    assert.equal(system?.inputs.autoscaling.totalMaxNodeCount, 2);
  });
});
