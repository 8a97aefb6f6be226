/**
 * `pulumi up` and `pulumi destroy` for real: the real Pulumi CLI and Kubernetes provider plugin
 * (built by scripts/test-tools.sh), a real single-node Kubernetes (test/support/kube.ts), the real
 * worker image (built by the local Docker daemon and imported into the node's containerd) and a
 * real SQS/S3 server (fauxqs, reached by the pods at the host's address on the pods' bridge). The
 * stack runs in existingCluster mode, so nothing in GCP is touched (or needed).
 *
 * Needs root (kubelet, containerd, CNI). Locally without the tools it is skipped with the reason;
 * under CI it fails instead, since CI installs everything.
 */
import assert from 'node:assert/strict';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createQueue, openQueue } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { countPrimes } from '../tasks/example';
import { buildWorkerImage, docker, probeDockerDaemon, testBaseImage } from './support/docker';
import { FauxqsServer, startFauxqs } from './support/fauxqs';
import { eventually, LocalCluster, localClusterProblem, startLocalCluster } from './support/kube';
import { ensurePauseImage, importImage } from './support/kubeImages';
import { LocalKeda, startKeda } from './support/keda';
import { ConfigEntry, RealPulumi, setUpRealPulumi } from './support/pulumiReal';
import { runningInCi, skipWithReason, toolPath, toolProblem } from './support/tools';

const IMAGE = 'gke-batch.local/worker:real-deploy';
const NAMESPACE = 'batch-real';
const STACK = 'real';
const QUEUE = 'real-deploy';
const BUCKET = 'real-deploy-outputs';
const KEDA_STACK = 'continuous';
const KEDA_NAMESPACE_FOR_WORKERS = 'batch-keda';
const KEDA_QUEUE = 'real-keda';
const ROWS = [
  { start: 0, count: 1000 },
  { start: 1000, count: 1000 },
  { start: 100_000, count: 2000 },
  { start: 7, count: 1 },
  { start: 50_000, count: 500 },
  { start: 2_000_000, count: 300 },
];

interface JobStatus {
  readonly status?: {
    succeeded?: number;
    failed?: number;
    conditions?: { type: string; status: string; reason?: string }[];
  };
}
interface PodList {
  readonly items: {
    metadata: { name: string };
    spec: {
      securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
      containers: { securityContext?: { readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean } }[];
    };
    status: { phase: string; containerStatuses?: { state?: { terminated?: { exitCode: number } } }[] };
  }[];
}

function missingPiece(): string | undefined {
  for (const tool of ['kubernetes', 'pulumi', 'pulumi-resource-kubernetes', 'keda'] as const) {
    const problem = toolProblem(tool);
    if (problem) return `${problem}: run scripts/test-tools.sh pulumi kubernetes keda`;
  }
  const cluster = localClusterProblem();
  if (cluster) return cluster;
  const daemon = probeDockerDaemon();
  return daemon.reachable ? undefined : `${daemon.reason} (the worker image is built by Docker)`;
}

describe('pulumi up / destroy for real (local Kubernetes, real worker image, fauxqs)', function () {
  let fauxqs: FauxqsServer;
  let cluster: LocalCluster;
  let pulumi: RealPulumi;
  let keda: LocalKeda | undefined;
  const savedEnv: Record<string, string | undefined> = {};
  const log = (line: string) => process.stdout.write(`      ${line}\n`);

  before(async function () {
    const missing = missingPiece();
    if (missing) {
      if (runningInCi()) throw new Error(`CI must run the real deploy test, but ${missing}`);
      skipWithReason(this, missing);
    }
    this.timeout(30 * 60_000); // a fresh machine builds the base image and the worker image first
    fauxqs = await startFauxqs();
    for (const [key, value] of Object.entries(fauxqs.env)) {
      savedEnv[key] = process.env[key];
      process.env[key] = value;
    }
    const baseImage = await testBaseImage(log);
    await buildWorkerImage(IMAGE, baseImage);
    await ensurePauseImage();
    cluster = await startLocalCluster({ binary: toolPath('kubernetes'), log });
    const started = Date.now();
    await importImage(cluster, await ensurePauseImage());
    await importImage(cluster, IMAGE);
    log(`images imported into the node's containerd in ${Math.round((Date.now() - started) / 1000)} s`);
    pulumi = await setUpRealPulumi('real-deploy-test-passphrase');
  });

  after(async function () {
    this.timeout(5 * 60_000);
    await keda?.stop();
    await cluster?.stop();
    pulumi?.cleanup();
    await fauxqs?.stop();
    for (const [key, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  const endpointForPods = () => `http://${cluster.hostIpForPods}:${fauxqs.port}`;
  const sqs = () => new SQSClient({ endpoint: fauxqs.endpoint, region: 'us-east-1' });
  const s3 = () => new S3Client({ endpoint: fauxqs.endpoint, region: 'us-east-1', forcePathStyle: true });

  async function queueDepth(url: string): Promise<{ visible: number; inFlight: number }> {
    const { Attributes } = await sqs().send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      visible: Number(Attributes?.ApproximateNumberOfMessages),
      inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
    };
  }

  function failureText(run: { code: number; stderr: string }): string {
    const kedaLogs = keda ? `\n${keda.logs()}` : '';
    return `exit ${run.code}\n${run.stderr.slice(-6000)}\n${cluster.logs().slice(-4000)}${kedaLogs}`;
  }

  /** A stack on the local cluster with the real image and fauxqs as SQS/S3; the rest from `stack`. */
  function stackConfig(stack: {
    queueUrl: string;
    cloudpath: string;
    namespace: string;
    scaling: Record<string, unknown>;
  }): Record<string, ConfigEntry> {
    return {
      'gcp:project': { value: 'local-test-project' },
      'gcp:region': { value: 'us-central1' },
      'gke-batch:existingCluster': { value: JSON.stringify({ kubeconfig: cluster.kubeconfig }) },
      'gke-batch:image': { value: JSON.stringify({ existing: IMAGE }) },
      'gke-batch:queueUrl': { value: stack.queueUrl },
      'gke-batch:cloudpath': { value: stack.cloudpath },
      'gke-batch:aws': {
        value: JSON.stringify({
          region: 'us-east-1',
          endpoint: endpointForPods(),
          accessKeyId: 'test',
          secretAccessKey: 'test',
        }),
        secret: true,
      },
      // Not less: the worker keeps 256 MB for its main thread (worker/memory.ts) and each task thread
      // needs its own heap on top; at 256Mi the kernel OOM-killed the containers as they started.
      'gke-batch:workers': { value: JSON.stringify({ namespace: stack.namespace, cpu: '100m', memory: '512Mi' }) },
      'gke-batch:scaling': { value: JSON.stringify(stack.scaling) },
    };
  }

  /** `pulumi destroy` of `stack` succeeds and its namespace goes (finalizers included). */
  async function destroyStack(stack: string, namespace: string): Promise<void> {
    const destroy = await pulumi.operation(stack, 'destroy', 8 * 60_000);
    assert.equal(destroy.code, 0, failureText(destroy));
    await eventually(
      `namespace ${namespace} gone`,
      async () => (await cluster.api.get(`/api/v1/namespaces/${namespace}`)) === undefined,
      3 * 60_000,
      cluster,
    );
  }

  /** Each row's count_primes output is in the bucket under `prefix`, for that row. */
  async function assertOutputsWritten(prefix: string, rows: readonly { start: number; count: number }[]) {
    for (const { start, count } of rows) {
      const object = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: `${prefix}/primes/${start}.json` }));
      const written = JSON.parse(await object.Body!.transformToString()) as { start: number; count: number };
      assert.deepEqual({ start: written.start, count: written.count }, { start, count });
    }
  }

  it('pulumi up (drain): restricted namespace, account, secret; the Job drains the queue', async function () {
    this.timeout(20 * 60_000);
    const queueUrl = await createQueue(`sqs://${QUEUE}`);
    await s3().send(new CreateBucketCommand({ Bucket: BUCKET }));
    const queue = await openQueue(queueUrl);
    const cloudpath = `s3://${BUCKET}/out`;
    const bodies = ROWS.map((row) =>
      encodeTask(countPrimes.key, { label: `from ${row.start}`, sleep_ms: 0, ...row, cloudpath }, 'real-deploy'),
    );
    assert.equal(await queue.insert(bodies), ROWS.length);

    const init = await pulumi.init(
      STACK,
      stackConfig({
        queueUrl: `sqs://${QUEUE}`,
        cloudpath,
        namespace: NAMESPACE,
        scaling: { mode: 'drain', maxWorkers: 2, run: 'first' },
      }),
    );
    assert.equal(init.code, 0, failureText(init));

    const up = await pulumi.operation(STACK, 'up', 10 * 60_000);
    assert.equal(up.code, 0, failureText(up));
    assert.equal(up.summary?.result, 'succeeded', failureText(up));

    const namespace = await cluster.api.get<{ metadata: { labels: Record<string, string> } }>(
      `/api/v1/namespaces/${NAMESPACE}`,
    );
    assert.equal(namespace?.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
    const accounts = await cluster.api.request<{ items: { metadata: { name: string } }[] }>(
      'GET',
      `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`,
    );
    assert.ok(accounts.items.length >= 2, 'the workers service account besides default');
    const secrets = await cluster.api.request<{ items: { metadata: { name: string } }[] }>(
      'GET',
      `/api/v1/namespaces/${NAMESPACE}/secrets`,
    );
    assert.ok(secrets.items.length >= 1, 'the AWS secret');
    const jobs = await cluster.api.request<{ items: ({ metadata: { name: string } } & JobStatus)[] }>(
      'GET',
      `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`,
    );
    assert.equal(jobs.items.length, 1, 'one Job');
    const jobName = jobs.items[0]!.metadata.name;

    await eventually(
      `Job ${jobName} complete`,
      async () => {
        const job = await cluster.api.get<JobStatus>(`/apis/batch/v1/namespaces/${NAMESPACE}/jobs/${jobName}`);
        return job?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') === true;
      },
      8 * 60_000,
      cluster,
    );
    const pods = await cluster.api.request<PodList>('GET', `/api/v1/namespaces/${NAMESPACE}/pods`);
    assert.ok(pods.items.length >= 1, 'the Job ran pods');
    for (const pod of pods.items) {
      assert.equal(pod.spec.securityContext?.runAsNonRoot, true, pod.metadata.name);
      assert.ok((pod.spec.securityContext?.runAsUser ?? 0) > 0, `${pod.metadata.name} runs as a non-root UID`);
      assert.equal(pod.spec.containers[0]?.securityContext?.readOnlyRootFilesystem, true, pod.metadata.name);
      if (pod.status.phase !== 'Succeeded') {
        const logs = await cluster.api.text(`/api/v1/namespaces/${NAMESPACE}/pods/${pod.metadata.name}/log`);
        const state = JSON.stringify(pod.status.containerStatuses?.[0]?.state);
        assert.fail(`${pod.metadata.name}: ${pod.status.phase}, ${state}\n${logs.slice(-3000)}`);
      }
    }
    assert.deepEqual(await queueDepth(queueUrl), { visible: 0, inFlight: 0 }, 'the queue is drained');
    await assertOutputsWritten('out', ROWS);
  });

  it('a second pulumi up changes nothing', async function () {
    this.timeout(10 * 60_000);
    const again = await pulumi.operation(STACK, 'up', 8 * 60_000);
    assert.equal(again.code, 0, failureText(again));
    const changes = (again.summary?.changes ?? {}) as Record<string, number>;
    const changed = Object.entries(changes).filter(([kind, count]) => kind !== 'same' && count > 0);
    assert.deepEqual(changed, [], `changes on the second up: ${JSON.stringify(changes)}`);
    assert.ok((changes.same ?? 0) >= 5, `resources unchanged: ${JSON.stringify(changes)}`);
  });

  async function setConfig(key: string, value: string): Promise<void> {
    await pulumi.cli(['config', 'set', '--stack', STACK, '--path', `gke-batch:${key}`, value]);
  }

  async function jobNames(): Promise<string[]> {
    const jobs = await cluster.api.request<{ items: { metadata: { name: string } }[] }>(
      'GET',
      `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`,
    );
    return jobs.items.map((job) => job.metadata.name);
  }

  async function podsOf(job: string): Promise<PodList['items']> {
    const selector = encodeURIComponent(`batch.kubernetes.io/job-name=${job}`);
    const pods = await cluster.api.request<PodList>(
      'GET',
      `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=${selector}`,
    );
    return pods.items;
  }

  const jobPath = (name: string) => `/apis/batch/v1/namespaces/${NAMESPACE}/jobs/${name}`;

  it('a new scaling.run replaces the Job; a worker pod deleted mid-run is replaced, no task lost', async function () {
    this.timeout(15 * 60_000);
    const queueUrl = await createQueue(`sqs://${QUEUE}`);
    const queue = await openQueue(queueUrl);
    const cloudpath = `s3://${BUCKET}/second`;
    // Slow tasks, so that the pod is deleted while it holds leases and tasks remain.
    const rows = Array.from({ length: 10 }, (_, i) => ({ start: 10_000 * (i + 1), count: 50 }));
    const bodies = rows.map((row) =>
      encodeTask(countPrimes.key, { label: `second ${row.start}`, sleep_ms: 4000, ...row, cloudpath }, 'second'),
    );
    assert.equal(await queue.insert(bodies), rows.length);
    const [oldJob] = await jobNames();
    await setConfig('scaling.run', 'second');
    const up = await pulumi.operation(STACK, 'up', 8 * 60_000);
    assert.equal(up.code, 0, failureText(up));
    const changes = (up.summary?.changes ?? {}) as Record<string, number>;
    assert.ok((changes.replace ?? 0) >= 1, `the Job is replaced: ${JSON.stringify(changes)}`);
    const newJob = 'workers-run-second';
    assert.notEqual(oldJob, newJob);
    assert.deepEqual(await jobNames(), [newJob], 'the old Job is gone, the new one is there');

    // Delete a worker pod once it has leased tasks: SIGTERM, it releases them and exits 3 (Ignore).
    let victim = '';
    await eventually(
      'a running worker holding leases',
      async () => {
        const running = (await podsOf(newJob)).filter((pod) => pod.status.phase === 'Running');
        if (running.length === 0 || (await queueDepth(queueUrl)).inFlight === 0) return false;
        victim = running[0]!.metadata.name;
        return true;
      },
      5 * 60_000,
      cluster,
    );
    await cluster.api.request('DELETE', `/api/v1/namespaces/${NAMESPACE}/pods/${victim}`);
    const exitCodes = new Set<number>();
    await eventually(
      `Job ${newJob} complete`,
      async () => {
        const pod = (await podsOf(newJob)).find((p) => p.metadata.name === victim);
        const code = pod?.status.containerStatuses?.[0]?.state?.terminated?.exitCode;
        if (code !== undefined) exitCodes.add(code);
        const job = await cluster.api.get<JobStatus>(jobPath(newJob));
        return job?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') === true;
      },
      8 * 60_000,
      cluster,
    );
    const job = await cluster.api.get<JobStatus>(jobPath(newJob));
    assert.equal(job?.status?.failed ?? 0, 0, `the deleted pod is not counted as a failure: ${JSON.stringify(job)}`);
    log(`deleted pod ${victim}; exit codes seen while it stopped: ${[...exitCodes].join(', ') || 'none'}`);
    for (const code of exitCodes) assert.equal(code, 3, `${victim} exits 3 (stopped before drained)`);
    assert.deepEqual(await queueDepth(queueUrl), { visible: 0, inFlight: 0 }, 'the queue is drained');
    await assertOutputsWritten('second', rows);
  });

  it('a bad setting fails the Job at once (worker exit 2 → FailJob), without retries', async function () {
    this.timeout(12 * 60_000);
    await setConfig('queueUrl', 'sqs://no-such-queue');
    await setConfig('scaling.run', 'bad-config');
    const up = await pulumi.operation(STACK, 'up', 8 * 60_000);
    assert.equal(up.code, 0, failureText(up));
    const name = 'workers-run-bad-config';
    let failed: JobStatus | undefined;
    await eventually(
      `Job ${name} failed`,
      async () => {
        failed = await cluster.api.get<JobStatus>(jobPath(name));
        return failed?.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True') === true;
      },
      5 * 60_000,
      cluster,
    );
    const condition = failed?.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(condition?.reason, 'PodFailurePolicy', JSON.stringify(failed?.status));
    // FailJob at the first exit 2: no backoff retries (backoffLimit would allow many more pods).
    const pods = await podsOf(name);
    assert.ok(pods.length <= 2, `at most the first parallel pods ran: ${pods.length}`);
    const codes = pods.map((pod) => pod.status.containerStatuses?.[0]?.state?.terminated?.exitCode);
    assert.ok(codes.includes(2), `a worker exited 2: ${JSON.stringify(codes)}`);
  });

  it('pulumi destroy leaves nothing behind', async function () {
    this.timeout(10 * 60_000);
    await destroyStack(STACK, NAMESPACE);
    const jobs = await cluster.api.request<{ items: unknown[] }>('GET', '/apis/batch/v1/jobs');
    assert.equal(jobs.items.length, 0, 'no Job anywhere');
    const stack = JSON.parse(await pulumi.cli(['stack', 'export', '--stack', STACK])) as {
      deployment: { resources?: unknown[] };
    };
    assert.equal(stack.deployment.resources?.length ?? 0, 0, 'the stack holds no resource');
    // The worker image stays in Docker for the next run; only the cluster's copy goes with it.
    await docker(['image', 'inspect', IMAGE]);
  });
  // Continuous mode: KEDA (its own operator and metrics adapter, test/support/keda.ts) scales the
  // stack's Deployment from the queue. The stack is told KEDA is already there (installKeda false):
  // its Helm chart cannot be fetched here, and that path is what the mocked tests cover.
  const kedaPath = (rest: string) => `/apis/keda.sh/v1alpha1/namespaces/${KEDA_NAMESPACE_FOR_WORKERS}/${rest}`;
  const deploymentPath = `/apis/apps/v1/namespaces/${KEDA_NAMESPACE_FOR_WORKERS}/deployments/workers`;
  const KEDA_ROWS = Array.from({ length: 24 }, (_, i) => ({ start: 1000 * (i + 1), count: 20 }));

  async function replicas(): Promise<{ wanted: number; ready: number }> {
    const deployment = await cluster.api.get<{ spec: { replicas?: number }; status?: { readyReplicas?: number } }>(
      deploymentPath,
    );
    return { wanted: deployment?.spec.replicas ?? -1, ready: deployment?.status?.readyReplicas ?? 0 };
  }

  it('continuous: KEDA scales the workers from 0 up to the maximum with the queue, and back to 0', async function () {
    this.timeout(20 * 60_000);
    keda = await startKeda(cluster, toolPath('keda'));
    // KEDA needs the queue's full URL (account and name): the one the SQS server gives.
    const queueUrl = await createQueue(`sqs://${KEDA_QUEUE}`);
    const cloudpath = `s3://${BUCKET}/continuous`;
    const init = await pulumi.init(
      KEDA_STACK,
      stackConfig({
        queueUrl,
        cloudpath,
        namespace: KEDA_NAMESPACE_FOR_WORKERS,
        scaling: { mode: 'continuous', installKeda: false, maxWorkers: 3, queueLength: 2, cooldownSeconds: 20 },
      }),
    );
    assert.equal(init.code, 0, failureText(init));
    const up = await pulumi.operation(KEDA_STACK, 'up', 10 * 60_000);
    assert.equal(up.code, 0, failureText(up));
    assert.equal(up.summary?.result, 'succeeded', failureText(up));
    assert.ok(await cluster.api.get(kedaPath('scaledobjects/workers')), 'the ScaledObject');
    assert.equal((await replicas()).wanted, 0, 'no worker while the queue is empty');

    // Slow tasks (3 s each, one per worker at a time): 24 of them keep one worker busy for over a
    // minute, long enough for the HPA to add the others.
    const queue = await openQueue(queueUrl);
    const bodies = KEDA_ROWS.map((row) =>
      encodeTask(countPrimes.key, { label: `keda ${row.start}`, sleep_ms: 3000, ...row, cloudpath }, 'keda'),
    );
    assert.equal(await queue.insert(bodies), KEDA_ROWS.length);

    let most = 0;
    const timeline: string[] = [];
    const started = Date.now();
    const sample = async () => {
      const now = await replicas();
      most = Math.max(most, now.ready);
      const depth = await queueDepth(queueUrl);
      const line = `${now.wanted} wanted, ${now.ready} ready; queue ${depth.visible} + ${depth.inFlight} in flight`;
      if (timeline.at(-1)?.endsWith(line) !== true)
        timeline.push(`${Math.round((Date.now() - started) / 1000)} s: ${line}`);
      return { ...now, ...depth };
    };
    // The phases in order, each awaited by sampling (which also records the timeline).
    const phases: [string, (now: Awaited<ReturnType<typeof sample>>) => boolean, number][] = [
      ['KEDA starts workers for the waiting tasks', (now) => now.ready >= 1, 4],
      ['the HPA adds workers up to the maximum (3)', (now) => now.ready >= 3, 4],
      ['the queue drains', (now) => now.visible === 0 && now.inFlight === 0, 6],
      ['KEDA scales the workers back to 0 after the cooldown', (now) => now.wanted === 0 && now.ready === 0, 4],
    ];
    for (const [what, reached, minutes] of phases) {
      await eventually(what, async () => reached(await sample()), minutes * 60_000, cluster);
    }
    log(`continuous mode: ${timeline.join(' | ')}`);
    assert.ok(most <= 3, `never more than scaling.maxWorkers ready workers: ${most}`);
    const hpa = await cluster.api.get<{ spec: { minReplicas?: number; maxReplicas: number } }>(
      `/apis/autoscaling/v2/namespaces/${KEDA_NAMESPACE_FOR_WORKERS}/horizontalpodautoscalers/keda-hpa-workers`,
    );
    assert.equal(hpa?.spec.maxReplicas, 3, "KEDA's HPA has the stack's maximum");
    await assertOutputsWritten('continuous', KEDA_ROWS);
  });

  it('continuous: pulumi destroy removes the ScaledObject, its HPA and the namespace', async function () {
    this.timeout(10 * 60_000);
    // The ScaledObject's finalizer is KEDA's: the namespace only goes once the operator let it go.
    await destroyStack(KEDA_STACK, KEDA_NAMESPACE_FOR_WORKERS);
    for (const kind of ['scaledobjects', 'triggerauthentications']) {
      const left = await cluster.api.request<{ items: unknown[] }>('GET', `/apis/keda.sh/v1alpha1/${kind}`);
      assert.equal(left.items.length, 0, `no ${kind} anywhere`);
    }
    const hpas = await cluster.api.request<{ items: unknown[] }>(
      'GET',
      '/apis/autoscaling/v2/horizontalpodautoscalers',
    );
    assert.equal(hpas.items.length, 0, 'no HPA anywhere');
  });
});
