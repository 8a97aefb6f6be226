/** The `image` and `aws` config keys: the worker image and the AWS credentials for SQS. Pure. */
import { z } from 'zod';
import { bool, gkeName } from './schemaFields';

export const imageSchema = z.strictObject({
  existing: z
    .string()
    .min(1, 'is empty')
    .optional()
    .describe('Use this image as is (best by digest: repo/name@sha256:...) instead of building one. Default: build.'),
  context: z.string().default('.').describe('Docker build context, relative to the project directory. Default ".".'),
  dockerfile: z
    .string()
    .default('Dockerfile')
    .describe('Dockerfile, relative to the build context. Default "Dockerfile".'),
  platform: z
    .string()
    .default('linux/amd64')
    .describe('Build platform; GKE nodes of the listed families are linux/amd64. Default linux/amd64.'),
  registry: z
    .string()
    .default('artifact-registry')
    .describe(
      '"artifact-registry" (default: a repository the stack creates) or an image repository to push to, e.g. ' +
        '"docker.io/me/gke-batch-worker".',
    ),
  repository: gkeName(63)
    .optional()
    .describe(
      'Artifact Registry repository id. Default: the cluster name, so two stacks in one project never share (or ' +
        'clash on) a repository.',
    ),
  createRepository: bool()
    .default(true)
    .describe('true (default): the stack creates the repository; false: push to an existing repository of that id.'),
  name: z
    .string()
    .regex(/^[a-z0-9]+([._-][a-z0-9]+)*$/, 'must be lowercase letters, digits and . _ -')
    .default('worker')
    .describe('Image name inside the Artifact Registry repository. Default "worker".'),
});

export const awsSchema = z.strictObject({
  region: z.string().optional().describe('AWS region of the SQS queue. Default: the region in an https:// queue URL.'),
  accessKeyId: z
    .string()
    .min(1, 'is empty')
    .optional()
    .describe('AWS access key id for SQS (and S3 outputs). Set with --secret.'),
  secretAccessKey: z.string().min(1, 'is empty').optional().describe('AWS secret access key. Set with --secret.'),
  endpoint: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .optional()
    .describe(
      'SQS/S3 endpoint the workers use instead of AWS (AWS_ENDPOINT_URL), e.g. a VPC endpoint or an ' +
        'SQS-compatible server. Default: AWS.',
    ),
});

export type ImageInput = z.output<typeof imageSchema>;
export type AwsInput = z.output<typeof awsSchema>;
