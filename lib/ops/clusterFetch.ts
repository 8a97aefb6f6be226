/**
 * `status --cluster`: one look at the cluster through the Kubernetes API, with the maintained
 * official client (@kubernetes/client-node). Reads the kubeconfig where kubectl would (`--kubeconfig`,
 * else KUBECONFIG's files, else ~/.kube/config), lists the workers' Jobs, Deployments and pods by
 * the stack's label selector in one namespace, and every node; then hands them to the pure summary
 * (clusterReport.ts). Never throws: an API it cannot read becomes a report saying why and what to do.
 *
 * Only the commands load this module (cli/status.ts imports it when --cluster is given); the worker
 * never does, so the client stays out of the worker image (the dependency rule checks it).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  Observable,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import {
  CredentialsError,
  DEFAULT_TIMEOUT_SECONDS,
  explainClusterError,
  KubeconfigMissingError,
  type ClusterErrorContext,
} from './clusterErrors';
import { summariseCluster, type ClusterReport, type ClusterTarget } from './clusterReport';

export interface ClusterLookOptions {
  /** `--kubeconfig FILE`; default as kubectl: KUBECONFIG, else ~/.kube/config. */
  readonly kubeconfig?: string;
  readonly namespace: string;
  readonly selector: string;
  /** Each look gives up after this long (default {@link DEFAULT_TIMEOUT_SECONDS}). */
  readonly timeoutSeconds?: number;
  /** For tests: the environment and home folder kubectl would read. */
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
}

/** The kubeconfig files kubectl would read, in its order (it skips the missing ones of KUBECONFIG too). */
export function kubeconfigFiles(options: Pick<ClusterLookOptions, 'kubeconfig' | 'env' | 'home'>): string[] {
  if (options.kubeconfig) return [path.resolve(options.kubeconfig)];
  const env = options.env ?? process.env;
  const fromEnv = (env.KUBECONFIG ?? '').split(path.delimiter).filter((file) => file !== '');
  const candidates = fromEnv.length > 0 ? fromEnv : [path.join(options.home ?? os.homedir(), '.kube', 'config')];
  const found = candidates.filter((file) => existsSync(file));
  if (found.length === 0) throw new KubeconfigMissingError(candidates);
  return found;
}

function loadKubeconfig(files: readonly string[]): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(files[0]!);
  for (const file of files.slice(1)) {
    const more = new KubeConfig();
    more.loadFromFile(file);
    config.mergeConfig(more);
  }
  return config;
}

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * A middleware that gives every request a deadline (the client has none of its own) and keeps the
 * connection pool the client made for it, so the look can close it: an aborted request's socket
 * (a TLS handshake nobody answers) would otherwise keep the command alive for most of a minute.
 */
function deadline(seconds: number, pools: Set<Dispatcher>): ObservableMiddleware {
  return {
    pre: (context: RequestContext) => {
      context.setSignal(AbortSignal.timeout(seconds * 1000));
      const pool = context.getDispatcher();
      if (pool) pools.add(pool);
      return new Observable(Promise.resolve(context));
    },
    post: (context: ResponseContext) => new Observable(Promise.resolve(context)),
  };
}

/** One look at the cluster: the workers' workloads, pods and the nodes, summarised. */
export async function lookAtCluster(options: ClusterLookOptions, at: () => number = Date.now): Promise<ClusterReport> {
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const base = { namespace: options.namespace, selector: options.selector };
  let files: string[];
  try {
    files = kubeconfigFiles(options);
  } catch (error) {
    const where = error instanceof KubeconfigMissingError ? error.lookedAt.join(path.delimiter) : '';
    const target = { ...base, server: null, kubeconfig: where, context: null };
    return unreachable(target, error, { timeoutSeconds }, at());
  }
  let config: KubeConfig;
  try {
    config = loadKubeconfig(files);
  } catch (error) {
    const target = { ...base, server: null, kubeconfig: files.join(path.delimiter), context: null };
    return unreachable(target, error, { timeoutSeconds }, at());
  }
  const target: ClusterTarget = {
    ...base,
    server: config.getCurrentCluster()?.server ?? null,
    kubeconfig: files.join(path.delimiter),
    context: config.getCurrentContext() || null,
  };
  const context: ClusterErrorContext = {
    execCommand: config.getCurrentUser()?.exec?.command,
    timeoutSeconds,
  };
  const pools = new Set<Dispatcher>();
  try {
    if (target.server === null) throw new Error(`the kubeconfig ${target.kubeconfig} names no current cluster`);
    // Credentials first, so a failing auth plugin is told apart from a failing API.
    await config.applyToHTTPSOptions({}).catch((error: unknown) => {
      throw new CredentialsError(context.execCommand, error);
    });
    const core = config.makeApiClient(CoreV1Api);
    const batch = config.makeApiClient(BatchV1Api);
    const apps = config.makeApiClient(AppsV1Api);
    const request = { middleware: [deadline(timeoutSeconds, pools)], middlewareMergeStrategy: 'append' as const };
    const selected = { namespace: options.namespace, labelSelector: options.selector };
    const [jobs, deployments, pods, nodes] = await Promise.all([
      batch.listNamespacedJob(selected, request),
      apps.listNamespacedDeployment(selected, request),
      core.listNamespacedPod(selected, request),
      core.listNode({}, request),
    ]);

    const objects = { jobs: jobs.items, deployments: deployments.items, pods: pods.items, nodes: nodes.items };
    const report = summariseCluster(target, objects, at());
    if (jobs.items.length + deployments.items.length + pods.items.length > 0) return report;
    return { ...report, note: await whyNothingFound(core, options.namespace, request) };
  } catch (error) {
    return unreachable(target, error, context, at());
  } finally {
    // The client makes a pool per request (nothing reuses them): close them, whatever happened. A
    // socket still in a TLS handshake can outlive this; the command does not wait for it (cli/status.ts).
    await Promise.all([...pools].map((pool) => pool.destroy().catch(() => undefined)));
  }
}

/** Nothing matched the selector: say whether the namespace exists at all. */
async function whyNothingFound(
  core: CoreV1Api,
  namespace: string,
  request: Parameters<CoreV1Api['readNamespace']>[1],
): Promise<string> {
  try {
    await core.readNamespace({ name: namespace }, request);
    return `no workers in namespace ${namespace} (not deployed yet, or their Job was deleted)`;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) {
      return `namespace ${namespace} does not exist: pass --namespace (the stack's namespace output)`;
    }
    throw error;
  }
}

function unreachable(target: ClusterTarget, error: unknown, context: ClusterErrorContext, at: number): ClusterReport {
  return { ...target, reachable: false, time: new Date(at).toISOString(), ...explainClusterError(error, context) };
}
