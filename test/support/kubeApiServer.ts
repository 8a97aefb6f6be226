/**
 * A real Kubernetes control plane without nodes: etcd and kube-apiserver from the single binary
 * scripts/test-tools.sh builds (test/go/kubernetes), with the test cluster's certificates
 * (kubePki.ts). No root, containerd or kubelet: tests write objects and their statuses through the
 * API themselves (no controller or kubelet changes them), which is what `status --cluster` reads.
 * For a whole cluster that runs pods, see kube.ts.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './fauxqs';
import { kubeApi, KubeApi } from './kubeApi';
import { makeKubePki } from './kubePki';
import { spawnTool, ToolProcess, waitUntilReady } from './tools';

export interface ApiServer {
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** An admin (system:masters) kubeconfig file, self-contained (certificates inline). */
  readonly kubeconfig: string;
  readonly api: KubeApi;
  /** etcd's and kube-apiserver's last output, for a failing test's message. */
  logs(): string;
  stop(): Promise<void>;
}

export async function startApiServer(binary: string): Promise<ApiServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kube-api-'));
  const processes: { name: string; tool: ToolProcess }[] = [];
  const logs = () => processes.map(({ name, tool }) => `--- ${name} ---\n${tool.output().slice(-3000)}`).join('\n');
  const stop = async () => {
    for (const { tool } of [...processes].reverse()) await tool.stop(10_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [etcdPort, etcdPeerPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
    mkdirSync(path.join(dir, 'pki'));
    const pki = makeKubePki(path.join(dir, 'pki'), 'no-node', { dns: ['localhost'], ips: ['127.0.0.1'] });
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = pki.kubeconfig('admin', server);
    const api = kubeApi(kubeconfig);
    const start = (name: string, args: readonly string[]) => {
      const tool = spawnTool(binary, [name, ...args]);
      processes.push({ name, tool });
      return tool;
    };
    const etcd = start('etcd', [
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-url=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-url=http://127.0.0.1:${etcdPeerPort}`,
    ]);
    await waitUntilReady('etcd', etcd, async () => etcd.output().includes('etcd: ready'), 60_000);
    const apiserver = start('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      '--authorization-mode=RBAC',
      '--profiling=false',
      '--v=0',
    ]);
    await waitUntilReady('kube-apiserver', apiserver, async () => (await api.text('/readyz')).trim() === 'ok', 120_000);
    return { server, kubeconfig, api, logs, stop };
  } catch (error) {
    const message = `${(error as Error).message}\n${logs()}`;
    await stop();
    throw new Error(message);
  }
}
