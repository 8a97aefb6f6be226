/**
 * Checks of the stack's outside world: project and region, the queue and the output location (by
 * lib/urls' one grammar, plus the rules of a cluster), the AWS keys and the image. Pure: each
 * pushes one message per problem, naming the key, the value and the fix.
 */
import path from 'node:path';
import { isUserFacingError } from '../../lib/errors';
import { parseCloudpath } from '../../lib/urls/cloudpath';
import { parseQueueUrl, QueueLocation } from '../../lib/urls/queue';
import { SPOT_LEASE_WARNING_SECONDS } from './defaults';
import { MACHINE_FAMILIES } from './machines';
import { display } from './parse';
import { ParsedConfig, PROJECT } from './schema';
import type { ImageInput } from './schema';
import type { AwsSettings, ImageSettings, TaskDefaults } from './types';

export interface Report {
  readonly problems: string[];
  readonly warnings: string[];
}

export interface EndpointContext {
  readonly taskDefaults: TaskDefaults;
  /** Where the defaults came from, for messages ("config/task.env"). */
  readonly taskDefaultsSource?: string;
  /** Project directory the image context is relative to. */
  readonly projectDir: string;
  readonly fileExists: (file: string) => boolean;
  /** Config keys Pulumi holds encrypted (`--secret`), full names such as "gke-batch:aws". */
  readonly secretKeys?: readonly string[];
}

/** A lib/ error's text in one line: "message; fix". */
function oneLine(error: unknown): string {
  if (!isUserFacingError(error)) throw error;
  return error.message.replace(/\n\s*fix: /, '; ');
}

/** Google Cloud project ids: 6–30 characters, lowercase letters, digits and hyphens, starting with a letter. */
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

export function checkProjectAndLocation(parsed: Partial<ParsedConfig>, { problems }: Report): void {
  const project = parsed.project;
  if (
    project !== undefined &&
    !PROJECT_ID.test(project) &&
    !/^[a-z0-9.-]+:[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project)
  ) {
    problems.push(
      `gcp:project ${display(project)}: is not a project id (6–30 lowercase letters, digits and hyphens, starting ` +
        `with a letter, not ending with a hyphen); ` +
        'use the project ID, not its display name: gcloud projects list shows both',
    );
  }
  let region = parsed.region;
  if (region !== undefined && !/^[a-z]+-[a-z]+\d+$/.test(region)) {
    problems.push(
      `gcp:region ${region}: is not a Compute Engine region name; write one like us-central1 or europe-west4`,
    );
    region = undefined; // zones cannot be checked against it
  }
  const seen = new Set<string>();
  parsed.zones?.forEach((zone, i) => {
    if (seen.has(zone)) problems.push(`zones[${i}] ${zone}: is listed twice; list each zone once`);
    seen.add(zone);
    if (!/^[a-z]+-[a-z]+\d+-[a-z]$/.test(zone))
      problems.push(`zones[${i}] ${display(zone)}: is not a zone name; write one like us-central1-a`);
    else if (region && !zone.startsWith(`${region}-`))
      problems.push(`zones[${i}] ${zone}: is not in gcp:region ${region}; use a zone of ${region}, e.g. ${region}-a`);
  });
  parsed.authorizedNetworks?.forEach((cidr, i) => {
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    if (!match || match.slice(1, 5).some((octet) => Number(octet) > 255) || Number(match[5]) > 32) {
      problems.push(
        `authorizedNetworks[${i}] ${display(cidr)}: is not an IPv4 CIDR block; write one like 203.0.113.0/24`,
      );
    }
  });
}

export interface Queue {
  readonly url: string;
  /** SQS (AWS keys, KEDA's aws-sqs-queue trigger) or Pub/Sub (Workload Identity, KEDA's gcp-pubsub trigger). */
  readonly location: Extract<QueueLocation, { kind: 'sqs' | 'pubsub' }>;
}

/**
 * The queue by lib/urls' grammar (FIFO refused, legacy host accepted), then: pods on many nodes
 * need a cloud queue (SQS or Pub/Sub).
 */
export function checkQueue(
  parsed: Partial<ParsedConfig>,
  context: EndpointContext,
  { problems }: Report,
): Queue | undefined {
  const url = parsed.queueUrl ?? context.taskDefaults.queueUrl;
  const from = parsed.queueUrl === undefined ? ` (from ${context.taskDefaultsSource ?? 'config/task.env'})` : '';
  let location: QueueLocation;
  try {
    location = parseQueueUrl(url);
  } catch (error) {
    problems.push(`queueUrl ${url}${from}: ${oneLine(error)}`);
    return undefined;
  }
  if (location.kind === 'fq') {
    problems.push(
      `queueUrl ${url}${from}: a file queue lives on one machine's disk and cannot be reached by pods on several ` +
        `nodes; ` +
        `use Pub/Sub (pulumi config set ${PROJECT}:queueUrl pubsub://PROJECT/NAME: the stack creates it) or SQS ` +
        `(npm run queue:create -- --queue sqs://NAME, then pulumi config set ${PROJECT}:queueUrl sqs://NAME)`,
    );
    return undefined;
  }
  return { url: location.kind === 'pubsub' ? location.url : url, location };
}

/** The output location by lib/urls' grammar (empty segments refused), then: a pod's files vanish with it. */
export function checkCloudpath(
  parsed: Partial<ParsedConfig>,
  context: EndpointContext,
  { problems }: Report,
): { cloudpath: string; scheme: 'gs' | 's3'; bucket?: string } | undefined {
  const cloudpath = parsed.cloudpath ?? context.taskDefaults.cloudpath;
  const from = parsed.cloudpath === undefined ? ` (from ${context.taskDefaultsSource ?? 'config/task.env'})` : '';
  let parsedPath: ReturnType<typeof parseCloudpath>;
  try {
    parsedPath = parseCloudpath(cloudpath, context.projectDir);
  } catch (error) {
    problems.push(`cloudpath ${cloudpath}${from}: ${oneLine(error)}`);
    return undefined;
  }
  if (parsedPath.scheme === 'file') {
    problems.push(
      `cloudpath ${cloudpath}${from}: files written inside a pod vanish with it; ` +
        `use gs://BUCKET/PREFIX (the workers get access through Workload Identity) or s3://BUCKET/PREFIX: pulumi ` +
        `config set ${PROJECT}:cloudpath gs://BUCKET/outputs`,
    );
    return undefined;
  }
  return {
    cloudpath,
    scheme: parsedPath.scheme,
    bucket: parsedPath.scheme === 'gs' ? parsedPath.bucket : undefined,
  };
}

/**
 * The AWS keys and region, where the stack uses AWS at all (`usedFor`: an SQS queue, s3:// outputs);
 * the region is checked against a valid SQS queue. Without AWS (Pub/Sub and gs://) keys that are
 * set anyway are reported as unused, and nothing of AWS reaches the cluster.
 */
export function checkAws(
  aws: NonNullable<ParsedConfig['aws']>,
  queue: Queue,
  usedFor: string | undefined,
  context: EndpointContext,
  { problems, warnings }: Report,
): { aws?: AwsSettings } | undefined {
  if (usedFor === undefined) {
    if (aws.accessKeyId || aws.secretAccessKey || aws.region) {
      warnings.push(
        'aws is set but nothing in this stack uses AWS (the queue is Pub/Sub and the outputs are not on S3): the ' +
          `stack ignores it and creates no AWS Secret; remove it with pulumi config rm ${PROJECT}:aws`,
      );
    }
    return {};
  }
  const sqs = queue.location.kind === 'sqs' ? queue.location : undefined;
  const before = problems.length;
  const queueRegion = sqs?.region;
  const region = aws.region ?? queueRegion;
  if (region === undefined) {
    const why = sqs ? `${queue.url} names no region` : `the workers need it for ${usedFor}`;
    problems.push(`aws.region is not set: ${why}; pulumi config set --path ${PROJECT}:aws.region us-east-1`);
  } else if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(region)) {
    problems.push(`aws.region ${region}: is not an AWS region name; write one like us-east-1`);
  } else if (queueRegion && aws.region && queueRegion !== aws.region) {
    problems.push(
      `aws.region ${aws.region}: the queue ${queue.url} is in ${queueRegion}; set aws.region ${queueRegion} or ` +
        `leave it unset`,
    );
  }
  for (const key of ['accessKeyId', 'secretAccessKey'] as const) {
    if (!aws[key]) {
      const example = key === 'accessKeyId' ? 'AKIA...' : '...';
      problems.push(
        `aws.${key} is not set: the workers need it for ${usedFor}; pulumi config set --secret --path ` +
          `${PROJECT}:aws.${key} ${example}`,
      );
    }
  }
  if (
    context.secretKeys &&
    (aws.accessKeyId || aws.secretAccessKey) &&
    !context.secretKeys.includes(`${PROJECT}:aws`)
  ) {
    warnings.push(
      `aws keys are stored in plain text in Pulumi.<stack>.yaml (set without --secret): anyone who reads the file or ` +
        `the repository has them; ` +
        `set them again with pulumi config set --secret --path ${PROJECT}:aws.secretAccessKey ... (and ` +
        `aws.accessKeyId)`,
    );
  }
  if (problems.length > before || !region || !aws.accessKeyId || !aws.secretAccessKey) return undefined;
  return {
    aws: {
      region,
      accessKeyId: aws.accessKeyId,
      secretAccessKey: aws.secretAccessKey,
      ...(aws.endpoint ? { endpoint: aws.endpoint } : {}),
    },
  };
}

/** A long lease on spot workers: a preempted worker's tasks stay invisible until it runs out. */
export function checkSpotLease(leaseSeconds: number, spot: boolean, { warnings }: Report): void {
  if (!spot || leaseSeconds <= SPOT_LEASE_WARNING_SECONDS) return;
  warnings.push(
    `workers.leaseSeconds ${leaseSeconds}: the workers run on spot nodes; a preempted worker's tasks stay invisible ` +
      `on the queue until their lease runs out (${(leaseSeconds / 3600).toFixed(1)} h); ` +
      `keep it at ${SPOT_LEASE_WARNING_SECONDS} s or less (the worker renews it while a task runs), or use an ` +
      `on-demand pool`,
  );
}

/** REGISTRY[:PORT]/REPO/NAME[:TAG][@sha256:DIGEST], in Docker's lowercase path syntax. */
const PATH_COMPONENT = '[a-z0-9]+([._-][a-z0-9]+)*';
const IMAGE_REFERENCE = new RegExp(
  `^${PATH_COMPONENT}(:\\d+)?(\\/${PATH_COMPONENT})*(:[\\w][\\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$`,
);

export function checkImage(
  image: ImageInput,
  clusterName: string | undefined,
  context: EndpointContext,
  { problems, warnings }: Report,
): ImageSettings | undefined {
  const before = problems.length;
  const resolved = { ...image, repository: image.repository ?? clusterName ?? 'gke-batch' };
  if (image.existing !== undefined) {
    if (!IMAGE_REFERENCE.test(image.existing)) {
      problems.push(
        `image.existing ${image.existing}: is not an image reference; write REGISTRY/REPO/NAME@sha256:DIGEST or ` +
          `REPO/NAME:TAG`,
      );
    } else if (!image.existing.includes('@sha256:')) {
      warnings.push(
        `image.existing ${image.existing}: is a tag, not a digest; pods roll out only when this string changes, so ` +
          `pin it as NAME@sha256:DIGEST`,
      );
    }
    return problems.length === before ? resolved : undefined;
  }
  if (
    image.registry !== 'artifact-registry' &&
    !/^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/.test(image.registry)
  ) {
    problems.push(
      `image.registry ${image.registry}: write "artifact-registry" or an image repository such as ` +
        `docker.io/ME/gke-batch-worker (no tag)`,
    );
  }
  if (image.platform !== 'linux/amd64') {
    problems.push(
      `image.platform ${image.platform}: the machine families this stack plans for (${MACHINE_FAMILIES.join(', ')}) ` +
        `are x86-64; use linux/amd64`,
    );
  }
  const dockerfile = path.resolve(context.projectDir, image.context, image.dockerfile);
  if (!context.fileExists(dockerfile)) {
    problems.push(
      `image.dockerfile ${image.dockerfile}: there is no ${dockerfile}; fix image.context/image.dockerfile, or set ` +
        `image.existing to deploy a prebuilt image`,
    );
  }
  return problems.length === before ? resolved : undefined;
}
