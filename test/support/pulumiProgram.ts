/**
 * Runs the Pulumi program (index.ts) under Pulumi's unit-test mocks and returns what it declared:
 * every resource with its type, name, inputs and parent type, and the stack outputs resolved.
 * No Pulumi CLI, no cloud. Mocks and config are set before the program is loaded (a resource
 * created earlier would never register and the test would hang instead of failing).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import * as pulumi from '@pulumi/pulumi';
import { MockMonitor } from '@pulumi/pulumi/runtime/mocks';
import { specialSecretSig, specialSigKey } from '@pulumi/pulumi/runtime/rpc';
import { parse as parseYaml } from 'yaml';

export const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const PROGRAM = path.join(PROJECT_DIR, 'index.ts');

/** Resource inputs as the mock monitor hands them over: plain JSON-like data. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- resource inputs differ per type; tests read them as
// data.
export type Inputs = Record<string, any>;

export interface DeclaredResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Inputs;
  /** Type token of the parent resource, from the URN; undefined for top-level resources. */
  readonly parentType?: string;
  readonly custom: boolean;
  /** The resource options as the engine would receive them (from the real register request). */
  readonly options: ResourceOptionsSeen;
}

/** Options of a registered resource, read off the register request the SDK sends the engine. */
export interface ResourceOptionsSeen {
  /** URNs this resource depends on (dependsOn, plus the provider's for provider resources). */
  readonly dependencies: string[];
  readonly protect: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly replaceOnChanges: string[];
  readonly ignoreChanges: string[];
  /** The provider reference (URN::id) the resource uses, if any. */
  readonly provider: string;
  readonly urn: string;
}

/** The parts of the SDK's RegisterResourceRequest read here (a protobuf message). */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProvider(): string;
  getProtect(): boolean | undefined;
  getDependenciesList(): string[];
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
}

export interface ProgramRun {
  readonly resources: DeclaredResource[];
  readonly outputs: Record<string, unknown>;
  /** Names of the stack outputs Pulumi would store encrypted. */
  readonly secretOutputs: string[];
  /** What the program threw while loading (an invalid config), if anything. */
  readonly error?: Error;
  readonly logs: { info: string[]; warn: string[] };
}

export const FAKE_DIGEST = `sha256:${'ab12'.repeat(16)}`;
export const FAKE_ENDPOINT = '203.0.113.10';
/** The project number getProject answers with (the Pub/Sub service agent is named by it). */
export const FAKE_PROJECT_NUMBER = '123456789012';
export const FAKE_CA = Buffer.from('-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n').toString('base64');

/** Outputs the real providers compute, for the resource types whose outputs the program reads. */
function computedState(type: string, inputs: Inputs): Inputs {
  switch (type) {
    case 'gcp:container/cluster:Cluster':
      return { endpoint: FAKE_ENDPOINT, masterAuth: { clusterCaCertificate: FAKE_CA } };
    case 'gcp:serviceaccount/account:Account': {
      const email = `${inputs.accountId}@${inputs.project}.iam.gserviceaccount.com`;
      return { email, name: `projects/${inputs.project}/serviceAccounts/${email}` };
    }
    case 'docker:index/image:Image': {
      const repository = String(inputs.imageName).replace(/:[^:/]+$/, '');
      return { repoDigest: `${repository}@${FAKE_DIGEST}` };
    }
    default:
      return {};
  }
}

/** Pulumi.<stack>.yaml's `config:` section as the runtime sees it: strings, JSON for structured values. */
export function readStackFile(file: string): Record<string, string> {
  const doc = parseYaml(readFileSync(file, 'utf8')) as { config?: Record<string, unknown> };
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    values[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return values;
}

/** Runs index.ts with this config; `secretKeys` are the keys Pulumi would mark secret. */
export async function runProgram(config: Record<string, string>, secretKeys: string[] = []): Promise<ProgramRun> {
  const declared: Array<Omit<DeclaredResource, 'parentType' | 'options'>> = [];
  const seen = new Map<string, Omit<ResourceOptionsSeen, 'urn'>>();
  const logs = { info: [] as string[], warn: [] as string[] };
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        declared.push({ type: args.type, name: args.name, inputs: args.inputs as Inputs, custom: args.custom ?? true });
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computedState(args.type, args.inputs as Inputs) } };
      },
      call: (args) => {
        if (args.token === 'gcp:organizations/getClientConfig:getClientConfig')
          return { accessToken: 'fake-access-token', project: 'p', region: 'r', zone: 'z', id: 'x' };
        if (args.token === 'gcp:organizations/getProject:getProject')
          return {
            projectId: args.inputs.projectId,
            number: FAKE_PROJECT_NUMBER,
            id: `projects/${args.inputs.projectId}`,
          };
        throw new Error(`unexpected invoke ${args.token}`);
      },
    },
    'gke-batch',
    'dev',
    false,
  );
  pulumi.runtime.setAllConfig(config, secretKeys);
  // Read each resource's options off the request the SDK sends (the mocks' callback never sees them).
  const mockMonitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, callback: unknown): Promise<void>;
  };
  const register = mockMonitor.registerResource.bind(mockMonitor);
  mockMonitor.registerResource = (req, callback) => {
    seen.set(`${req.getType()}::${req.getName()}`, {
      dependencies: req.getDependenciesList(),
      protect: req.getProtect() === true,
      deleteBeforeReplace: req.getDeletebeforereplace(),
      replaceOnChanges: req.getReplaceonchangesList(),
      ignoreChanges: req.getIgnorechangesList(),
      provider: req.getProvider(),
    });
    return register(req, callback);
  };

  const restore = captureLogs(logs);
  let error: Error | undefined;
  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  try {
    delete require.cache[require.resolve(PROGRAM)];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the program must load after the mocks are set.
    const program = require(PROGRAM) as Record<string, unknown>;
    for (const [key, value] of Object.entries(program)) {
      outputs[key] = await resolve(value);
      if (pulumi.Output.isInstance(value) && (await pulumi.isSecret(value))) secretOutputs.push(key);
    }
  } catch (thrown) {
    error = thrown instanceof Error ? thrown : new Error(String(thrown));
  } finally {
    restore();
  }

  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitor;
  await pulumi.runtime.disconnect();
  const parents = new Map<string, string | undefined>();
  const urns = new Map<string, string>();
  for (const { urn } of monitor.getRegisteredResources().values()) {
    // urn:pulumi:STACK::PROJECT::[PARENT_TYPE$]TYPE::NAME
    const parts = urn.split('::');
    const types = parts[2].split('$');
    const name = parts.slice(3).join('::');
    const key = `${types[types.length - 1]}::${name}`;
    parents.set(key, types.length > 1 ? types[types.length - 2] : undefined);
    urns.set(key, urn);
  }
  const none: Omit<ResourceOptionsSeen, 'urn'> = {
    dependencies: [],
    protect: false,
    deleteBeforeReplace: false,
    replaceOnChanges: [],
    ignoreChanges: [],
    provider: '',
  };
  const resources = declared.map((r) => {
    const key = `${r.type}::${r.name}`;
    return { ...r, parentType: parents.get(key), options: { ...(seen.get(key) ?? none), urn: urns.get(key) ?? '' } };
  });
  return { resources, outputs, secretOutputs, error, logs };
}

/** Whether a resource input arrived marked secret (the mock monitor keeps Pulumi's secret wrapper). */
export function isSecretInput(value: unknown): value is { value: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)[specialSigKey] === specialSecretSig
  );
}

/** An Output's value (and the values inside arrays and objects); plain values as they are. */
async function resolve(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value))
    return new Promise((done) => (value as pulumi.Output<unknown>).apply((v) => done(v)));
  if (Array.isArray(value)) return Promise.all(value.map(resolve));
  return value;
}

/** pulumi.log writes to the console under mocks: keep the lines for assertions, out of the test report. */
function captureLogs(logs: { info: string[]; warn: string[] }): () => void {
  const original = { info: pulumi.log.info, warn: pulumi.log.warn };
  const mutable = pulumi.log as { info: typeof pulumi.log.info; warn: typeof pulumi.log.warn };
  mutable.info = async (msg: string) => void logs.info.push(msg);
  mutable.warn = async (msg: string) => void logs.warn.push(msg);
  return () => {
    mutable.info = original.info;
    mutable.warn = original.warn;
  };
}

/** The resources of `type` the program declared. */
export function ofType(result: ProgramRun, type: string): DeclaredResource[] {
  return result.resources.filter((r) => r.type === type);
}

/** The one resource of `type` the program declared (asserts there is exactly one). */
export function onlyOne(result: ProgramRun, type: string): DeclaredResource {
  const found = ofType(result, type);
  assert.equal(found.length, 1, `one ${type}, found ${found.length}`);
  return found[0]!;
}

/** `result`, once asserted that the program ran without an error. */
export function succeeded(result: ProgramRun): ProgramRun {
  assert.equal(result.error, undefined, `the program failed: ${result.error?.message}`);
  return result;
}
