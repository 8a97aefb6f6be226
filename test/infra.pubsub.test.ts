/**
 * A Pub/Sub queue in the stack: the program (index.ts) under Pulumi's unit-test mocks in drain and
 * continuous mode: topic, subscription and dead-letter pair, the dead-letter policy, every IAM
 * member on exactly its resource, KEDA's gcp-pubsub trigger with pod identity, and no AWS
 * anywhere. Pub/Sub itself is not reached (GCP is mocked). The pure plan and the validation:
 * test/infra.pubsub.plan.test.ts.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { MONITORING_VIEWER_ROLE } from '../infra/plan/pubsub';
import { SETTINGS } from '../lib/settings/table';
import { runDev } from './support/devStack';
import { PUBSUB_PROJECT as PROJECT, pubsubStack } from './support/pubsubStack';
import {
  DeclaredResource,
  FAKE_PROJECT_NUMBER,
  Inputs,
  ofType,
  onlyOne,
  PROJECT_DIR,
  ProgramRun,
  readStackFile,
  runProgram,
  succeeded,
} from './support/pulumiProgram';

const T = {
  topic: 'gcp:pubsub/topic:Topic',
  subscription: 'gcp:pubsub/subscription:Subscription',
  topicMember: 'gcp:pubsub/topicIAMMember:TopicIAMMember',
  subscriptionMember: 'gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember',
  projectMember: 'gcp:projects/iAMMember:IAMMember',
  accountMember: 'gcp:serviceaccount/iAMMember:IAMMember',
  account: 'gcp:serviceaccount/account:Account',
  secret: 'kubernetes:core/v1:Secret',
  job: 'kubernetes:batch/v1:Job',
  deployment: 'kubernetes:apps/v1:Deployment',
  release: 'kubernetes:helm.sh/v3:Release',
  scaledObject: 'kubernetes:keda.sh/v1alpha1:ScaledObject',
  triggerAuth: 'kubernetes:keda.sh/v1alpha1:TriggerAuthentication',
} as const;

const AGENT = `serviceAccount:service-${FAKE_PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`;
const WORKERS = `serviceAccount:gke-batch-dev-workers@${PROJECT}.iam.gserviceaccount.com`;
const KEDA_GSA = `gke-batch-dev-keda@${PROJECT}.iam.gserviceaccount.com`;

/** Every IAM member on a Pub/Sub resource as "kind id role member", sorted. */
function pubsubMembers(result: ProgramRun): string[] {
  return [
    ...ofType(result, T.topicMember).map((r) => `topic ${r.inputs.topic} ${r.inputs.role} ${r.inputs.member}`),
    ...ofType(result, T.subscriptionMember).map(
      (r) => `subscription ${r.inputs.subscription} ${r.inputs.role} ${r.inputs.member}`,
    ),
  ].sort();
}

/** Anything that would carry AWS credentials into the cluster. */
function awsTraces(result: ProgramRun): string[] {
  const traces = ofType(result, T.secret).map((r) => `Secret ${r.name}`);
  for (const r of result.resources) {
    const text = JSON.stringify(r.inputs);
    for (const word of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'aws-credentials', 'awsAccessKey'])
      if (text.includes(word)) traces.push(`${r.type} ${r.name}: ${word}`);
  }
  return traces;
}

describe('infra pubsub: the program in drain mode', () => {
  let run: ProgramRun;
  before(async () => {
    run = succeeded(await runDev(pubsubStack()));
  });

  it('creates the topic, the subscription with its dead-letter policy, and the dead-letter pair', () => {
    const topics = ofType(run, T.topic).map((r) => `${r.inputs.project}/${r.inputs.name}`);
    assert.deepEqual(topics.sort(), [`${PROJECT}/jobs`, `${PROJECT}/jobs-dead`]);
    const subscriptions = new Map(ofType(run, T.subscription).map((r) => [r.inputs.name as string, r.inputs]));
    assert.deepEqual([...subscriptions.keys()].sort(), ['jobs', 'jobs-dead']);
    const main = subscriptions.get('jobs') as Inputs;
    assert.equal(main.topic, 'jobs');
    assert.equal(main.project, PROJECT);
    assert.equal(main.ackDeadlineSeconds, 60, 'the ack deadline is workers.leaseSeconds');
    assert.deepEqual(main.deadLetterPolicy, {
      deadLetterTopic: `projects/${PROJECT}/topics/jobs-dead`,
      maxDeliveryAttempts: 6,
    });
    assert.equal(main.messageRetentionDuration, '604800s');
    assert.deepEqual(main.expirationPolicy, { ttl: '' });
    const dead = subscriptions.get('jobs-dead') as Inputs;
    assert.equal(dead.topic, 'jobs-dead', 'dead letters have a subscription, so failures can read them');
    assert.equal(dead.deadLetterPolicy, undefined);
    assert.deepEqual(dead.expirationPolicy, { ttl: '' });
    const deadTopicUrn = ofType(run, T.topic).find((r) => r.inputs.name === 'jobs-dead')?.options.urn;
    const mainUrn = ofType(run, T.subscription).find((r) => r.inputs.name === 'jobs')?.options;
    assert.ok(deadTopicUrn && mainUrn?.dependencies.includes(deadTopicUrn), 'the policy waits for its topic');
  });

  it('grants the service agent, and the workers only what they use, on those resources only', () => {
    assert.deepEqual(
      pubsubMembers(run),
      [
        `subscription jobs roles/pubsub.subscriber ${AGENT}`,
        `subscription jobs roles/pubsub.subscriber ${WORKERS}`,
        `subscription jobs roles/pubsub.viewer ${WORKERS}`,
        `topic jobs-dead roles/pubsub.publisher ${AGENT}`,
        `topic jobs-dead roles/pubsub.publisher ${WORKERS}`,
      ].sort(),
    );
    for (const r of [...ofType(run, T.topicMember), ...ofType(run, T.subscriptionMember)])
      assert.equal(r.inputs.project, PROJECT);
    const projectRoles = ofType(run, T.projectMember).map((r) => r.inputs.role as string);
    assert.deepEqual(
      projectRoles.filter((role) => role.startsWith('roles/pubsub') || role === MONITORING_VIEWER_ROLE),
      [],
      'nothing project-wide',
    );
  });

  it('has no AWS key anywhere: no Secret, no AWS variable, the queue by Workload Identity', () => {
    assert.deepEqual(awsTraces(run), []);
    const job = onlyOne(run, T.job);
    const container = job.inputs.spec.template.spec.containers[0];
    const env = new Map((container.env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value]));
    assert.equal(env.get(SETTINGS.queueUrl.env), `pubsub://projects/${PROJECT}/topics/jobs/subscriptions/jobs`);
    assert.equal(env.get(SETTINGS.exitWhenEmpty.env), '1', 'drain: the workers exit once the queue is empty');
    assert.equal(job.inputs.spec.template.spec.serviceAccountName, 'worker');
    const grantUrns = [...ofType(run, T.topicMember), ...ofType(run, T.subscriptionMember)].map((r) => r.options.urn);
    for (const urn of grantUrns) assert.ok(job.options.dependencies.includes(urn), `the Job waits for ${urn}`);
    assert.equal(ofType(run, T.release).length + ofType(run, T.scaledObject).length, 0, 'no KEDA in drain mode');
  });

  it('declares only roles on existing resources with createQueue false', async () => {
    const existing = succeeded(await runDev(pubsubStack((c) => (c['gke-batch:pubsub'] = { createQueue: false }))));
    assert.equal(ofType(existing, T.topic).length + ofType(existing, T.subscription).length, 0);
    assert.deepEqual(pubsubMembers(existing), pubsubMembers(run));
  });

  it('gives each operator what status, failures, requeue and purge need, on the queue only', async () => {
    const op = 'group:batch-ops@example.com';
    const withOps = succeeded(await runDev(pubsubStack((c) => (c['gke-batch:pubsub'] = { operators: [op] }))));
    assert.deepEqual(
      pubsubMembers(withOps).filter((m) => m.endsWith(op)),
      [
        `subscription jobs roles/pubsub.subscriber ${op}`,
        `subscription jobs roles/pubsub.viewer ${op}`,
        `subscription jobs-dead roles/pubsub.subscriber ${op}`,
        `subscription jobs-dead roles/pubsub.viewer ${op}`,
        `topic jobs roles/pubsub.publisher ${op}`,
      ],
    );
  });
});

describe('infra pubsub: the program in continuous mode', () => {
  let run: ProgramRun;
  before(async () => {
    run = succeeded(await runDev(pubsubStack((c) => (c.scaling.mode = 'continuous'))));
  });

  it("scales on KEDA's gcp-pubsub trigger with pod identity, not a Secret", () => {
    const auth = onlyOne(run, T.triggerAuth).inputs;
    assert.deepEqual(auth.spec, { podIdentity: { provider: 'gcp' } });
    const scaled = onlyOne(run, T.scaledObject).inputs;
    assert.equal(scaled.spec.triggers.length, 1);
    const [trigger] = scaled.spec.triggers;
    assert.equal(trigger.type, 'gcp-pubsub');
    assert.equal(trigger.authenticationRef.name, auth.metadata.name);
    assert.deepEqual(trigger.metadata, {
      subscriptionName: `projects/${PROJECT}/subscriptions/jobs`,
      mode: 'SubscriptionSize',
      value: '1',
    });
    assert.equal(scaled.spec.maxReplicaCount, 30);
    assert.deepEqual(awsTraces(run), []);
  });

  it("gives KEDA's operator its own Google identity, allowed to read Cloud Monitoring", () => {
    const account = ofType(run, T.account).find((r) => r.inputs.accountId === 'gke-batch-dev-keda');
    assert.ok(account, 'a service account for KEDA');
    const monitoring = ofType(run, T.projectMember).filter((r) => r.inputs.role === MONITORING_VIEWER_ROLE);
    assert.deepEqual(
      monitoring.map((r) => [r.inputs.project, r.inputs.member]),
      [[PROJECT, `serviceAccount:${KEDA_GSA}`]],
    );
    const binding = ofType(run, T.accountMember).find((r) => String(r.inputs.member).includes('keda-operator'));
    assert.equal(binding?.inputs.member, `serviceAccount:${PROJECT}.svc.id.goog[keda/keda-operator]`);
    assert.equal(binding?.inputs.role, 'roles/iam.workloadIdentityUser');
    const release = onlyOne(run, T.release);
    assert.deepEqual(release.inputs.values.podIdentity, { gcp: { enabled: true, gcpIAMServiceAccount: KEDA_GSA } });
    for (const grant of [...monitoring, binding as DeclaredResource])
      assert.ok(release.options.dependencies.includes(grant.options.urn), 'KEDA starts after its grants');
  });

  it('runs pods with no AWS checksum, still safe from autoscaler eviction', () => {
    const annotations = onlyOne(run, T.deployment).inputs.spec.template.metadata.annotations;
    assert.deepEqual(annotations, { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' });
  });

  it('reads the backlog and grants in the queue’s own project when it is another one', async () => {
    const other = succeeded(
      await runDev(
        pubsubStack((c) => {
          c.scaling.mode = 'continuous';
          c['gke-batch:queueUrl'] = 'pubsub://projects/shared-queues-1/topics/jobs/subscriptions/workers';
        }),
      ),
    );
    const monitoring = ofType(other, T.projectMember).filter((r) => r.inputs.role === MONITORING_VIEWER_ROLE);
    assert.deepEqual(
      monitoring.map((r) => r.inputs.project),
      ['shared-queues-1'],
    );
    assert.deepEqual(
      ofType(other, T.subscription)
        .map((r) => `${r.inputs.project}/${r.inputs.name}<-${r.inputs.topic}`)
        .sort(),
      ['shared-queues-1/jobs-dead<-jobs-dead', 'shared-queues-1/workers<-jobs'],
    );
    assert.equal(
      onlyOne(other, T.scaledObject).inputs.spec.triggers[0].metadata.subscriptionName,
      'projects/shared-queues-1/subscriptions/workers',
    );
  });
});

describe('infra pubsub: the shipped Google-Cloud-only stack (Pulumi.gcp.yaml)', () => {
  it('deploys as it is: Pub/Sub created by the stack, gs:// outputs, nothing of AWS', async () => {
    const run = succeeded(await runProgram(readStackFile(path.join(PROJECT_DIR, 'Pulumi.gcp.yaml'))));
    assert.deepEqual(awsTraces(run), []);
    assert.deepEqual(
      ofType(run, T.topic)
        .map((r) => r.inputs.name)
        .sort(),
      ['gke-batch-gcp', 'gke-batch-gcp-dead'],
    );
    const env = onlyOne(run, T.job).inputs.spec.template.spec.containers[0].env as Array<{ name: string }>;
    assert.deepEqual(
      env.map((e) => e.name).filter((name) => name.startsWith('AWS')),
      [],
    );
    assert.equal(run.logs.warn.length, 0, run.logs.warn.join('\n'));
  });
});
