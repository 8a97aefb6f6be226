/**
 * KEDA on the local test cluster (test/support/kube.ts), as the real continuous-mode test needs it:
 * its CRDs, its operator and its metrics adapter, both built from KEDA's own commands by
 * scripts/test-tools.sh (part `keda`) and run as host processes with the admin kubeconfig, the way
 * the Helm chart would run them as pods.
 *
 * - The operator reads the queue through its scalers and scales the Deployment between 0 and 1 by
 *   itself; it creates the HorizontalPodAutoscaler that sizes it from 1 to the maximum.
 * - That HPA (kube-controller-manager's) reads the queue's length from the external metrics API,
 *   which the adapter serves through the API server's aggregation layer. The adapter asks the
 *   operator over gRPC with mutual TLS; the two share one certificate, as the chart's do.
 * - There is no kube-proxy: the APIService's Service has no selector and one Endpoints address,
 *   this host's, and the API server dials it directly (--enable-aggregator-routing).
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { freePort } from './fauxqs';
import { eventually, LocalCluster } from './kube';
import { spawnTool, ToolProcess, waitUntilReady } from './tools';

export const KEDA_NAMESPACE = 'keda';
const ADAPTER_SERVICE = 'keda-metrics-apiserver';
const EXTERNAL_METRICS_API = 'v1beta1.external.metrics.k8s.io';

export interface LocalKeda {
  /** The operator's and the adapter's last output, for a failing test's message. */
  logs(): string;
  /** Stops both and removes the APIService (the CRDs go with the cluster). */
  stop(): Promise<void>;
}

interface Named {
  metadata: { name: string };
}

/** Applies KEDA's CRDs (copied beside its commands by the script) and waits until each is served. */
async function installCrds(cluster: LocalCluster, folder: string): Promise<void> {
  const crdFolder = folder;
  const files = readdirSync(crdFolder).filter((file) => file.endsWith('.yaml'));
  if (files.length === 0) throw new Error(`no KEDA CRDs in ${crdFolder}: run scripts/test-tools.sh keda`);
  const names: string[] = [];
  for (const file of files) {
    for (const document of parseAllDocuments(readFileSync(path.join(crdFolder, file), 'utf8'))) {
      const crd = document.toJS() as Named | null;
      if (!crd) continue;
      await cluster.api.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      names.push(crd.metadata.name);
    }
  }
  for (const name of names) {
    await eventually(
      `CRD ${name} established`,
      async () => {
        const crd = await cluster.api.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
        );
        return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
      },
      60_000,
      cluster,
    );
  }
}

/** Registers the adapter (listening on this host at `port`) as the external metrics API. */
async function registerAdapter(cluster: LocalCluster, port: number, caCert: string): Promise<void> {
  const api = cluster.api;
  const namespaced = `/api/v1/namespaces/${KEDA_NAMESPACE}`;
  await api.request('POST', `${namespaced}/services`, {
    metadata: { name: ADAPTER_SERVICE },
    spec: { ports: [{ name: 'https', port: 443, targetPort: port }] },
  });
  await api.request('POST', `${namespaced}/endpoints`, {
    metadata: { name: ADAPTER_SERVICE },
    subsets: [{ addresses: [{ ip: cluster.hostAddress }], ports: [{ name: 'https', port }] }],
  });
  await api.request('POST', '/apis/apiregistration.k8s.io/v1/apiservices', {
    metadata: { name: EXTERNAL_METRICS_API },
    spec: {
      group: 'external.metrics.k8s.io',
      version: 'v1beta1',
      service: { namespace: KEDA_NAMESPACE, name: ADAPTER_SERVICE, port: 443 },
      caBundle: readFileSync(caCert).toString('base64'),
      groupPriorityMinimum: 100,
      versionPriority: 100,
    },
  });
}

/** Starts KEDA from `folder` (toolPath('keda')): CRDs, operator, adapter; resolves once the metrics API answers. */
export async function startKeda(cluster: LocalCluster, folder: string): Promise<LocalKeda> {
  const processes: { name: string; tool: ToolProcess }[] = [];
  const logs = () => processes.map(({ name, tool }) => `--- ${name} ---\n${tool.output().slice(-3000)}`).join('\n');
  const stop = async () => {
    await cluster.api.request('DELETE', `/apis/apiregistration.k8s.io/v1/apiservices/${EXTERNAL_METRICS_API}`);
    for (const { tool } of processes.reverse()) await tool.stop(10_000);
  };
  try {
    await installCrds(cluster, folder);
    await cluster.api.request('POST', '/api/v1/namespaces', { metadata: { name: KEDA_NAMESPACE } });

    // One certificate for the operator's gRPC server, the adapter's client and the adapter's HTTPS
    // server (the API server checks it against the Service's name): KEDA reads ca.crt, tls.crt and
    // tls.key from one folder.
    const certs = path.join(cluster.pki.dir, 'keda');
    mkdirSync(certs);
    const peer = cluster.pki.peerCert('keda', {
      dns: ['localhost', `${ADAPTER_SERVICE}.${KEDA_NAMESPACE}.svc`],
      ips: ['127.0.0.1', cluster.hostAddress],
    });
    copyFileSync(cluster.pki.caCert, path.join(certs, 'ca.crt'));
    copyFileSync(peer.cert, path.join(certs, 'tls.crt'));
    copyFileSync(peer.key, path.join(certs, 'tls.key'));

    const [metricsPort, probePort, grpcPort, adapterPort, adapterMetricsPort] = await Promise.all(
      Array.from({ length: 5 }, () => freePort()),
    );
    // Outside a pod KEDA cannot read its namespace from the service account's mount: it is given.
    const env = {
      ...process.env,
      KUBECONFIG: cluster.kubeconfig,
      POD_NAMESPACE: KEDA_NAMESPACE,
      KEDA_CLUSTER_OBJECT_NAMESPACE: KEDA_NAMESPACE,
      WATCH_NAMESPACE: '',
    };
    const operator = spawnTool(
      path.join(folder, 'operator'),
      [
        `--metrics-bind-address=127.0.0.1:${metricsPort}`,
        `--health-probe-bind-address=127.0.0.1:${probePort}`,
        `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
        `--cert-dir=${certs}`,
        `--ca-dir=${certs}`,
        '--leader-elect=false',
        '--enable-cert-rotation=false',
        '--zap-log-level=info',
      ],
      env,
    );
    processes.push({ name: 'keda-operator', tool: operator });
    await waitUntilReady(
      'keda-operator',
      operator,
      async () => (await fetch(`http://127.0.0.1:${probePort}/readyz`)).ok,
      120_000,
    );

    const adapter = spawnTool(
      path.join(folder, 'adapter'),
      [
        `--secure-port=${adapterPort}`,
        `--cert-dir=${certs}`,
        `--tls-cert-file=${path.join(certs, 'tls.crt')}`,
        `--tls-private-key-file=${path.join(certs, 'tls.key')}`,
        `--lister-kubeconfig=${cluster.kubeconfig}`,
        `--authentication-kubeconfig=${cluster.kubeconfig}`,
        `--authorization-kubeconfig=${cluster.kubeconfig}`,
        `--metrics-service-address=127.0.0.1:${grpcPort}`,
        `--port=${adapterMetricsPort}`,
      ],
      env,
    );
    processes.push({ name: 'keda-adapter', tool: adapter });
    await registerAdapter(cluster, adapterPort, cluster.pki.caCert);
    await waitUntilReady(
      'the external metrics API (keda-adapter)',
      adapter,
      async () => {
        const service = await cluster.api.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
          `/apis/apiregistration.k8s.io/v1/apiservices/${EXTERNAL_METRICS_API}`,
        );
        return service?.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') === true;
      },
      120_000,
    );
    return { logs, stop };
  } catch (error) {
    const message = `${(error as Error).message}\n${logs()}`;
    await stop().catch(() => undefined);
    throw new Error(message);
  }
}
