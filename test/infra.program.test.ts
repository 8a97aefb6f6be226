/**
 * The Pulumi program (index.ts) under Pulumi's unit-test mocks: the resources it declares for the
 * dev stack and its variants, with the inputs that matter. No Pulumi CLI, no cloud.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { NODE_ROLES } from '../infra/components/cluster';
import { TERMINATION_MARGIN_SECONDS, POD_UID } from '../infra/plan/workerPod';
import {
  LIVENESS_FAILURE_THRESHOLD,
  LIVENESS_PERIOD_SECONDS,
  LIVENESS_TIMEOUT_SECONDS,
  WORKER_HEALTH_PORT,
} from '../infra/plan/defaults';
import {
  FAKE_CA,
  FAKE_DIGEST,
  FAKE_ENDPOINT,
  Inputs,
  isSecretInput,
  ofType,
  onlyOne,
  PROJECT_DIR,
  ProgramRun,
  succeeded,
} from './support/pulumiProgram';
import { FAKE_KEYS, runDev, type Config } from './support/devStack';

const T = {
  cluster: 'gcp:container/cluster:Cluster',
  nodePool: 'gcp:container/nodePool:NodePool',
  account: 'gcp:serviceaccount/account:Account',
  projectMember: 'gcp:projects/iAMMember:IAMMember',
  accountMember: 'gcp:serviceaccount/iAMMember:IAMMember',
  bucketMember: 'gcp:storage/bucketIAMMember:BucketIAMMember',
  repository: 'gcp:artifactregistry/repository:Repository',
  image: 'docker:index/image:Image',
  router: 'gcp:compute/router:Router',
  nat: 'gcp:compute/routerNat:RouterNat',
  k8sProvider: 'pulumi:providers:kubernetes',
  namespace: 'kubernetes:core/v1:Namespace',
  ksa: 'kubernetes:core/v1:ServiceAccount',
  secret: 'kubernetes:core/v1:Secret',
  // The dev stack drains the queue with a Job; continuous mode (test/infra.scaling.test.ts) runs a Deployment.
  job: 'kubernetes:batch/v1:Job',
} as const;

const COMPONENTS = [
  'gke-batch:infra:GkeCluster',
  'gke-batch:infra:WorkerImage',
  'gke-batch:infra:Workers',
  'gke-batch:infra:WorkerMetrics',
];
function one(result: ProgramRun, type: string): Inputs {
  return onlyOne(result, type).inputs;
}

function podSpec(result: ProgramRun): Inputs {
  return one(result, T.job).spec.template.spec;
}

function workerContainer(result: ProgramRun): Inputs {
  const containers = podSpec(result).containers as Inputs[];
  assert.equal(containers.length, 1);
  return containers[0];
}

describe('infra program: the dev stack', () => {
  let dev: ProgramRun;
  before(async () => {
    dev = succeeded(await runDev());
  });

  it('declares every resource type, each child parented to its component', () => {
    for (const type of Object.values(T).filter((t) => t !== T.router && t !== T.nat))
      assert.ok(ofType(dev, type).length > 0, `${type} declared`);
    for (const resource of dev.resources) {
      if (COMPONENTS.includes(resource.type))
        assert.equal(resource.parentType, undefined, `${resource.type} is top-level`);
      else
        assert.ok(
          resource.parentType && COMPONENTS.includes(resource.parentType),
          `${resource.type} ${resource.name} has a component parent, not ${resource.parentType}`,
        );
    }
    assert.equal(ofType(dev, T.cluster)[0].parentType, 'gke-batch:infra:GkeCluster');
    assert.equal(ofType(dev, T.image)[0].parentType, 'gke-batch:infra:WorkerImage');
    assert.equal(ofType(dev, T.job)[0].parentType, 'gke-batch:infra:Workers');
  });

  it(
    'builds a GKE Standard cluster without its default pool, with Workload Identity, release channel and no ' +
      'deletion protection',
    () => {
      const cluster = one(dev, T.cluster);
      assert.equal(cluster.name, 'gke-batch-dev');
      assert.equal(cluster.project, 'my-gcp-project');
      assert.equal(cluster.location, 'us-central1');
      assert.deepEqual(cluster.nodeLocations, ['us-central1-a', 'us-central1-f']);
      assert.equal(cluster.removeDefaultNodePool, true);
      assert.deepEqual(cluster.workloadIdentityConfig, { workloadPool: 'my-gcp-project.svc.id.goog' });
      assert.deepEqual(cluster.releaseChannel, { channel: 'REGULAR' });
      assert.equal(cluster.deletionProtection, false);
      assert.equal(cluster.network, 'default');
      assert.equal(cluster.datapathProvider, 'ADVANCED_DATAPATH');
      assert.equal(cluster.privateClusterConfig, undefined);
      assert.equal(ofType(dev, T.router).length, 0, 'no Cloud NAT without private nodes');
    },
  );

  it("runs nodes as a dedicated service account with only GKE's default node role project-wide", () => {
    const nodeSa = ofType(dev, T.account).find((a) => a.name === 'gke-nodes');
    assert.ok(nodeSa);
    const email = `${nodeSa.inputs.accountId}@my-gcp-project.iam.gserviceaccount.com`;
    assert.equal(nodeSa.inputs.accountId, 'gke-batch-dev-nodes');
    const roles = ofType(dev, T.projectMember).map((m) => m.inputs);
    assert.deepEqual(roles.map((r) => r.role).sort(), [...NODE_ROLES].sort());
    for (const role of roles) assert.equal(role.member, `serviceAccount:${email}`);
    for (const pool of ofType(dev, T.nodePool)) {
      assert.equal(pool.inputs.nodeConfig.serviceAccount, email);
      assert.doesNotMatch(pool.inputs.nodeConfig.serviceAccount, /-compute@developer\.gserviceaccount\.com$/);
      assert.deepEqual(pool.inputs.nodeConfig.workloadMetadataConfig, { mode: 'GKE_METADATA' });
    }
    assert.equal(one(dev, T.cluster).nodeConfig.serviceAccount, email, 'even the temporary default pool');
  });

  it('declares the node pools with machine type, autoscaling bounds, spot, disk, labels and taints', () => {
    const pools = Object.fromEntries(ofType(dev, T.nodePool).map((p) => [p.inputs.name, p.inputs]));
    assert.deepEqual(Object.keys(pools).sort(), ['system', 'workers']);
    const { system, workers } = pools;
    assert.equal(system.nodeConfig.machineType, 'e2-standard-2');
    assert.equal(system.nodeConfig.spot, false);
    assert.deepEqual(system.autoscaling, { totalMinNodeCount: 1, totalMaxNodeCount: 2, locationPolicy: 'BALANCED' });
    assert.deepEqual(system.nodeConfig.taints, []);
    assert.equal(workers.nodeConfig.machineType, 'e2-standard-4');
    assert.equal(workers.nodeConfig.spot, true);
    assert.deepEqual(workers.autoscaling, { totalMinNodeCount: 0, totalMaxNodeCount: 10, locationPolicy: 'ANY' });
    assert.deepEqual(workers.nodeConfig.taints, [{ key: 'gke-batch/workers', value: 'true', effect: 'NO_SCHEDULE' }]);
    assert.deepEqual(workers.nodeConfig.labels, { workload: 'gke-batch' });
    assert.equal(workers.nodeConfig.diskSizeGb, 50);
    assert.equal(workers.nodeConfig.diskType, 'pd-balanced');
    assert.equal(workers.nodeConfig.guestAccelerators, undefined);
    assert.equal(workers.cluster, 'gke-batch-dev');
  });

  it('builds the image from the Dockerfile into a new Artifact Registry repository and deploys it by digest', () => {
    const repository = one(dev, T.repository);
    assert.deepEqual(
      [repository.repositoryId, repository.format, repository.location],
      ['gke-batch-dev', 'DOCKER', 'us-central1'],
      'the repository is named after the cluster, so two stacks in one project do not clash',
    );
    const image = one(dev, T.image);
    assert.equal(image.imageName, 'us-central1-docker.pkg.dev/my-gcp-project/gke-batch-dev/worker:dev');
    assert.deepEqual(image.build, { context: '.', dockerfile: 'Dockerfile', platform: 'linux/amd64' });
    assert.ok(isSecretInput(image.registry), 'registry credentials are secret');
    assert.deepEqual(image.registry.value, {
      server: 'us-central1-docker.pkg.dev',
      username: 'oauth2accesstoken',
      password: 'fake-access-token',
    });
    const ref = `us-central1-docker.pkg.dev/my-gcp-project/gke-batch-dev/worker@${FAKE_DIGEST}`;
    assert.equal(dev.outputs.imageRef, ref);
    assert.equal(dev.outputs.imageDigest, FAKE_DIGEST);
    assert.equal(workerContainer(dev).image, ref);
  });

  it(
    "binds the workers' Kubernetes service account to a Google service account with access to the output " + 'bucket',
    () => {
      const gsa = ofType(dev, T.account).find((a) => a.name === 'workers-gsa');
      assert.ok(gsa);
      const email = `${gsa.inputs.accountId}@my-gcp-project.iam.gserviceaccount.com`;
      const binding = one(dev, T.accountMember);
      assert.equal(binding.role, 'roles/iam.workloadIdentityUser');
      assert.equal(binding.member, 'serviceAccount:my-gcp-project.svc.id.goog[batch-workers/worker]');
      assert.equal(binding.serviceAccountId, `projects/my-gcp-project/serviceAccounts/${email}`);
      const ksa = one(dev, T.ksa);
      assert.deepEqual(ksa.metadata, {
        name: 'worker',
        namespace: 'batch-workers',
        annotations: { 'iam.gke.io/gcp-service-account': email },
      });
      const bucket = one(dev, T.bucketMember);
      assert.deepEqual(bucket, {
        bucket: 'my-gcp-project-gke-batch',
        role: 'roles/storage.objectUser',
        member: `serviceAccount:${email}`,
      });
      assert.equal(podSpec(dev).serviceAccountName, 'worker');
    },
  );

  it('keeps the AWS keys in a Secret and out of plain env values', () => {
    const secret = one(dev, T.secret);
    assert.equal(secret.metadata.name, 'aws-credentials');
    assert.ok(isSecretInput(secret.stringData), 'stringData is a Pulumi secret');
    assert.deepEqual(secret.stringData.value, {
      AWS_ACCESS_KEY_ID: FAKE_KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_KEYS.secretAccessKey,
    });
    const env = workerContainer(dev).env as Inputs[];
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      const entry = env.find((e) => e.name === name);
      assert.deepEqual(entry, { name, valueFrom: { secretKeyRef: { name: 'aws-credentials', key: name } } });
    }
    const serialized = JSON.stringify(one(dev, T.job));
    assert.ok(
      !serialized.includes(FAKE_KEYS.secretAccessKey) && !serialized.includes(FAKE_KEYS.accessKeyId),
      'no key anywhere in the Job',
    );
  });

  it('passes the task settings to the worker as environment variables', () => {
    const env = Object.fromEntries(
      (workerContainer(dev).env as Inputs[]).filter((e) => 'value' in e).map((e) => [e.name, e.value]),
    );
    assert.deepEqual(env, {
      TASKQUEUE_PATH: 'sqs://gke-batch-dev',
      TQ_LEASE_SECONDS: '60',
      CF_CLOUDPATH: 'gs://my-gcp-project-gke-batch/outputs',
      TQ_MAX_ATTEMPTS: '5',
      WORKER_CONCURRENCY: '1',
      WORKER_GRACE_SECONDS: '10',
      WORKER_METRICS_PORT: String(WORKER_HEALTH_PORT),
      AWS_REGION: 'us-east-1',
      // Drain mode: each worker exits once the queue is empty, so the Job completes.
      WORKER_EXIT_WHEN_EMPTY: '1',
    });
  });

  it('probes /healthz for liveness after a startup probe, on the named metrics port', () => {
    const container = workerContainer(dev);
    assert.deepEqual(container.ports, [{ name: 'metrics', containerPort: WORKER_HEALTH_PORT, protocol: 'TCP' }]);
    const get = { path: '/healthz', port: 'metrics' };
    assert.deepEqual(container.livenessProbe, {
      httpGet: get,
      periodSeconds: LIVENESS_PERIOD_SECONDS,
      timeoutSeconds: LIVENESS_TIMEOUT_SECONDS,
      failureThreshold: LIVENESS_FAILURE_THRESHOLD,
    });
    assert.equal(LIVENESS_PERIOD_SECONDS * LIVENESS_FAILURE_THRESHOLD, 60, 'a hung worker is restarted after a minute');
    assert.deepEqual(container.startupProbe, {
      httpGet: get,
      periodSeconds: 5,
      timeoutSeconds: 5,
      failureThreshold: 60,
    });
    assert.equal(container.readinessProbe, undefined, 'workers serve no traffic');
  });

  it("runs the workers as a hardened, non-root pod on the workers' pool with requests from the sizing plan", () => {
    const job = one(dev, T.job);
    assert.equal(job.metadata.annotations['pulumi.com/skipAwait'], 'true');
    assert.equal(job.metadata.namespace, 'batch-workers');
    assert.equal(job.spec.parallelism, 30, 'auto: 3 workers/node × 10 nodes');
    const spec = podSpec(dev);
    assert.equal(spec.terminationGracePeriodSeconds, 10 + TERMINATION_MARGIN_SECONDS);
    assert.ok(spec.terminationGracePeriodSeconds > 10);
    assert.deepEqual(spec.securityContext, {
      runAsNonRoot: true,
      runAsUser: POD_UID,
      runAsGroup: POD_UID,
      fsGroup: POD_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const container = workerContainer(dev);
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: POD_UID,
      capabilities: { drop: ['ALL'] },
    });
    assert.deepEqual(container.resources, {
      requests: { cpu: '1', memory: '4Gi', 'ephemeral-storage': '2Gi' },
      limits: { memory: '4Gi' },
    });
    assert.deepEqual(container.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }]);
    assert.deepEqual(spec.volumes, [{ name: 'tmp', emptyDir: { sizeLimit: '2Gi' } }], '/tmp is bounded');
    assert.deepEqual(spec.nodeSelector, { 'cloud.google.com/gke-nodepool': 'workers' });
    assert.deepEqual(spec.tolerations, [
      { key: 'gke-batch/workers', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
    ]);
  });

  it('declares a Job the Kubernetes API schema accepts', async () => {
    const { Job } = await import('kubernetes-models/batch/v1/Job');
    // validate() comes from the package's Model base class, whose types this project's
    // moduleResolution ("node") cannot see; it throws with the schema errors.
    const validate = (manifest: Inputs) =>
      (new Job(manifest as ConstructorParameters<typeof Job>[0]) as unknown as { validate(): void }).validate();
    const job = one(dev, T.job);
    assert.doesNotThrow(() => validate(job));
    const broken = structuredClone(job);
    broken.spec.template.spec.securityContext.runAsUser = 'nobody';
    assert.throws(() => validate(broken), /runAsUser/, 'the schema check can fail');
  });

  it(
    'exports the cluster, a secret kubeconfig using gke-gcloud-auth-plugin, the sizing and the kubectl ' + 'commands',
    () => {
      assert.equal(dev.outputs.clusterName, 'gke-batch-dev');
      assert.equal(dev.outputs.namespace, 'batch-workers');
      assert.equal(dev.outputs.workerCount, 30);
      assert.deepEqual(dev.outputs.nodePools, ['system', 'workers']);
      assert.deepEqual(dev.secretOutputs, ['kubeconfig']);
      const kubeconfig = JSON.parse(dev.outputs.kubeconfig as string);
      assert.equal(kubeconfig.clusters[0].cluster.server, `https://${FAKE_ENDPOINT}`);
      assert.equal(kubeconfig.clusters[0].cluster['certificate-authority-data'], FAKE_CA);
      assert.equal(kubeconfig.users[0].user.exec.command, 'gke-gcloud-auth-plugin');
      const sizing = dev.outputs.sizing as Inputs;
      assert.deepEqual(
        [sizing.workersPerNode, sizing.replicas, sizing.maxNodes, sizing.idleCpuMillisPerNode],
        [3, 30, 10, 460],
      );
      assert.equal(
        dev.outputs.plan,
        'e2-standard-4 × 0–10 nodes, 3 workers/node (1 vCPU, 4 GiB each), 30 workers (auto), 0.46 vCPU and 505 MiB ' +
          'idle per node',
      );
      const watch = dev.outputs.watch as string[];
      assert.ok(
        watch.includes(
          'gcloud container clusters get-credentials gke-batch-dev --location us-central1 --project my-gcp-project',
        ),
      );
      assert.ok(
        watch.includes('kubectl -n batch-workers get pods -l app.kubernetes.io/name=gke-batch-worker -o wide --watch'),
      );
      assert.deepEqual(dev.logs.info.slice(0, 2), [
        `plan: ${dev.outputs.plan}`,
        (dev.outputs.scaling as Inputs).summary,
      ]);
      assert.match(
        dev.logs.info[2],
        /A new image or worker setting REPLACES the running Job .* A new scaling\.maxWorkers does NOT change a running/,
      );
      assert.deepEqual(dev.logs.warn, []);
    },
  );
});

describe('infra program: variants', () => {
  it("a GPU pool: accelerators with the driver installed, a GPU per worker, GKE's GPU taint tolerated", async () => {
    const result = succeeded(
      await runDev((c) => {
        Object.assign(c.pools[1], {
          machineType: 'n1-standard-16',
          gpu: { type: 'nvidia-tesla-t4', count: 2 },
          maxNodes: 4,
        });
        Object.assign(c.workers, { cpu: '4', memory: '16Gi' });
      }),
    );
    const pool = ofType(result, T.nodePool).find((p) => p.inputs.name === 'workers');
    assert.deepEqual(pool?.inputs.nodeConfig.guestAccelerators, [
      { type: 'nvidia-tesla-t4', count: 2, gpuDriverInstallationConfig: { gpuDriverVersion: 'DEFAULT' } },
    ]);
    assert.deepEqual(workerContainer(result).resources, {
      requests: { cpu: '4', memory: '16Gi', 'ephemeral-storage': '2Gi', 'nvidia.com/gpu': '1' },
      limits: { memory: '16Gi', 'nvidia.com/gpu': '1' },
    });
    assert.ok(
      (podSpec(result).tolerations as Inputs[]).some((t) => t.key === 'nvidia.com/gpu' && t.operator === 'Exists'),
    );
    assert.equal(one(result, T.job).spec.parallelism, 8, '2 GPUs/node × 4 nodes');
  });

  it('an on-demand workers pool', async () => {
    const result = succeeded(await runDev((c) => (c.pools[1].spot = false)));
    const pool = ofType(result, T.nodePool).find((p) => p.inputs.name === 'workers');
    assert.equal(pool?.inputs.nodeConfig.spot, false);
    assert.equal(pool?.inputs.autoscaling.locationPolicy, 'BALANCED');
  });

  it('an existing image: no build, no registry, the reference used as is', async () => {
    const existing = `europe-docker.pkg.dev/other/images/worker@sha256:${'c'.repeat(64)}`;
    const result = succeeded(await runDev((c) => (c['gke-batch:image'] = { existing })));
    assert.equal(ofType(result, T.image).length, 0);
    assert.equal(ofType(result, T.repository).length, 0);
    assert.equal(workerContainer(result).image, existing);
    assert.equal(result.outputs.imageDigest, `sha256:${'c'.repeat(64)}`);
  });

  it("another registry: built and pushed there with docker's own login, no Artifact Registry repository", async () => {
    const result = succeeded(
      await runDev((c) => ((c['gke-batch:image'] as Config).registry = 'docker.io/me/gke-batch-worker')),
    );
    assert.equal(ofType(result, T.repository).length, 0);
    const image = one(result, T.image);
    assert.equal(image.imageName, 'docker.io/me/gke-batch-worker:dev');
    assert.equal(image.registry, undefined);
    assert.equal(workerContainer(result).image, `docker.io/me/gke-batch-worker@${FAKE_DIGEST}`);
  });

  it('several pools: one NodePool each, the workers on the one they name', async () => {
    const result = succeeded(
      await runDev((c) => {
        c.pools.push({
          name: 'big',
          machineType: 'n2-highmem-8',
          minNodes: 0,
          maxNodes: 5,
          taints: [{ key: 'big', effect: 'NoExecute' }],
        });
        Object.assign(c.workers, { nodePool: 'big', cpu: '2', memory: '14Gi' });
      }),
    );
    const pools = ofType(result, T.nodePool).map(
      (p) => `${p.inputs.name}:${p.inputs.nodeConfig.machineType}:${p.inputs.nodeConfig.spot}`,
    );
    assert.deepEqual(pools.sort(), [
      'big:n2-highmem-8:true',
      'system:e2-standard-2:false',
      'workers:e2-standard-4:true',
    ]);
    assert.deepEqual(podSpec(result).nodeSelector, { 'cloud.google.com/gke-nodepool': 'big' });
    assert.deepEqual(podSpec(result).tolerations, [
      { key: 'big', operator: 'Equal', value: 'true', effect: 'NoExecute' },
    ]);
    assert.equal(one(result, T.job).spec.parallelism, 15, '3 × 14Gi per n2-highmem-8 node × 5 nodes');
  });

  it('a fixed replica count instead of auto', async () => {
    const result = succeeded(await runDev((c) => (c.workers.replicas = 7)));
    assert.equal(one(result, T.job).spec.parallelism, 7);
    assert.equal(result.outputs.workerCount, 7);
    assert.equal((result.outputs.sizing as Inputs).replicasMode, 'fixed');
  });

  it('private nodes with Cloud NAT, a zonal cluster, outputs on S3 (no bucket grant)', async () => {
    const result = succeeded(
      await runDev((c) => {
        c['gke-batch:privateNodes'] = 'true';
        c['gke-batch:zones'] = ['us-central1-c'];
        c['gke-batch:cloudpath'] = 's3://my-bucket/outputs';
      }),
    );
    const cluster = one(result, T.cluster);
    assert.deepEqual(cluster.privateClusterConfig, { enablePrivateNodes: true, enablePrivateEndpoint: false });
    assert.equal(cluster.location, 'us-central1-c');
    assert.equal(cluster.nodeLocations, undefined);
    assert.equal(one(result, T.router).region, 'us-central1');
    const nat = one(result, T.nat);
    assert.equal(nat.sourceSubnetworkIpRangesToNat, 'LIST_OF_SUBNETWORKS', "only the cluster's subnet");
    assert.deepEqual(nat.subnetworks, [{ name: 'default', sourceIpRangesToNats: ['ALL_IP_RANGES'] }]);
    assert.equal(ofType(result, T.bucketMember).length, 0);
  });

  it('deletion protection switched on', async () => {
    const result = succeeded(await runDev((c) => (c['gke-batch:deletionProtection'] = 'true')));
    assert.equal(one(result, T.cluster).deletionProtection, true);
  });

  it('an invalid config declares no resource and fails with every problem', async () => {
    const result = await runDev((c) => {
      c.pools[1].machineType = 'e2-standrad-4';
      c.workers.memory = '3GB';
    });
    assert.equal(result.resources.length, 0);
    assert.ok(result.error);
    assert.ok(pulumi.RunError.isInstance(result.error), 'Pulumi prints a RunError without a stack trace');
    assert.match(result.error.message, /^the stack config has 2 problems \(nothing was changed\):/);
    assert.match(
      result.error.message,
      /nodePools\[1\]\.machineType e2-standrad-4: is not a machine type this stack knows; did you mean e2-standard-4\?/,
    );
    assert.match(result.error.message, /workers\.memory 3GB: is not a memory quantity/);
  });
});

describe('infra program: boundary', () => {
  it('nothing the worker image or the CLIs run imports infra/ or Pulumi', () => {
    const offenders: string[] = [];
    const visit = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) visit(file);
        else if (
          /\.[cm]?[jt]s$/.test(entry.name) &&
          /from\s+['"](@pulumi\/|(\.\.?\/)+infra\b)|require\(['"](@pulumi\/|(\.\.?\/)+infra\b)/.test(
            readFileSync(file, 'utf8'),
          )
        ) {
          offenders.push(path.relative(PROJECT_DIR, file));
        }
      }
    };
    for (const dir of ['worker', 'lib', 'cli', 'tasks']) visit(path.join(PROJECT_DIR, dir));
    assert.deepEqual(offenders, []);
  });
});
