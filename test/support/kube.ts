/**
 * A real single-node Kubernetes for the deploy test, started as root from the binaries
 * scripts/test-tools.sh builds (etcd and the control plane in one Go binary, kubelet too) and
 * Debian's containerd, runc and CNI plugins. Everything lives in one scratch folder: etcd's data,
 * certificates, a containerd of its own (its own socket, root and state, so the Docker daemon's
 * containerd is untouched), the kubelet's root. `stop()` kills the pods' processes, unmounts what the
 * kubelet and containerd mounted, removes the CNI bridge and the folder.
 *
 * Pod Security admission is on (as on GKE); the Node and RBAC authorizers check every component.
 * There is no kube-proxy or cluster DNS: pods reach the host at the CNI bridge's gateway address
 * (`hostIpForPods`), which is how the tests' queue server is reached.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from './fauxqs';
import { kubeApi, KubeApi } from './kubeApi';
import { KubePki, makeKubePki } from './kubePki';
import { spawnTool, ToolProcess, waitUntilReady } from './tools';

const run = promisify(execFile);

export const NODE_NAME = 'gke-batch-test-node';
/** The pods' subnet; its first address is the bridge, i.e. the host as the pods see it. */
const POD_SUBNET = '10.244.0.0/24';
const POD_GATEWAY = '10.244.0.1';
const SERVICE_CIDR = '10.96.0.0/16';
const BRIDGE = 'gkebatch0';
const CNI_DIR = '/usr/lib/cni';
/** Where containerd (1.6) puts pod network namespaces; only the ones this cluster made are removed. */
const NETNS_DIR = '/var/run/netns';
export const PAUSE_IMAGE = 'gke-batch.local/pause:1';

export interface LocalCluster {
  /** An admin (system:masters) kubeconfig file, self-contained. */
  readonly kubeconfig: string;
  readonly api: KubeApi;
  /** The address pods reach this host at. */
  readonly hostIpForPods: string;
  /** The address the API server reaches this host at (for an aggregated API served by a host process). */
  readonly hostAddress: string;
  /** The cluster's certificate authority and certificates (to issue more, e.g. for KEDA). */
  readonly pki: KubePki;
  /** containerd's socket, for `ctr -a SOCKET -n k8s.io ...`. */
  readonly containerdSocket: string;
  /** Each component's last output, for a failing test's message. */
  logs(): string;
  stop(): Promise<void>;
}

/** Why the local cluster cannot start here, or undefined when it can. */
export function localClusterProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'the local Kubernetes needs root (kubelet, containerd, CNI)';
  for (const command of ['containerd', 'runc', 'ctr', 'iptables', 'openssl']) {
    if (!whichSync(command)) return `${command} is not installed: run scripts/test-tools.sh kubernetes`;
  }
  for (const plugin of ['bridge', 'host-local', 'loopback', 'portmap']) {
    if (!existsSync(path.join(CNI_DIR, plugin))) {
      return `the CNI plugin ${CNI_DIR}/${plugin} is missing: run scripts/test-tools.sh kubernetes`;
    }
  }
  return undefined;
}

function whichSync(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The first non-loopback IPv4 address that is not a container bridge's: the API server advertises it. */
function hostAddress(): string {
  for (const [name, addresses] of Object.entries(os.networkInterfaces())) {
    if (name.startsWith('docker') || name.startsWith('br-') || name === BRIDGE) continue;
    const ipv4 = addresses?.find((address) => address.family === 'IPv4' && !address.internal);
    if (ipv4) return ipv4.address;
  }
  throw new Error('no non-loopback IPv4 address on this machine for the API server to advertise');
}

function containerdConfig(dir: string, socket: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    'version = 2',
    `root = "${dir}/containerd/root"`,
    `state = "${dir}/containerd/state"`,
    `[grpc]\n  address = "${socket}"`,
    `[plugins."io.containerd.internal.v1.opt"]\n  path = "${dir}/containerd/opt"`,
    `[${cri}]`,
    `  sandbox_image = "${PAUSE_IMAGE}"`,
    // This machine runs in a container without CAP_SYS_RESOURCE: no negative OOM scores; no AppArmor.
    '  restrict_oom_score_adj = true',
    '  disable_apparmor = true',
    // Pod network namespaces under the state folder, so stop() finds every one this cluster made.
    '  netns_mounts_under_state_dir = true',
    `[${cri}.containerd]\n  snapshotter = "overlayfs"\n  default_runtime_name = "runc"`,
    `[${cri}.containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"`,
    `[${cri}.containerd.runtimes.runc.options]\n  SystemdCgroup = false`,
    `[${cri}.cni]\n  bin_dir = "${CNI_DIR}"\n  conf_dir = "${dir}/cni"`,
    '',
  ].join('\n');
}

function cniConfig(dir: string): string {
  return JSON.stringify({
    cniVersion: '0.4.0',
    name: 'gke-batch-test',
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: POD_SUBNET, gateway: POD_GATEWAY }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: path.join(dir, 'cni-ipam'),
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
}

function kubeletConfig(dir: string, socket: string, caCert: string, port: number, healthzPort: number): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: caCert } },
    authorization: { mode: 'Webhook' },
    containerRuntimeEndpoint: `unix://${socket}`,
    // This machine has cgroup v1 only; Kubernetes 1.35 refuses it unless told otherwise.
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    port,
    healthzPort,
    readOnlyPort: 0,
    failSwapOn: false,
    oomScoreAdj: 0,
    // A shared, busy disk: never evict or garbage-collect the test's images mid-run.
    evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    resolvConf: '/etc/resolv.conf',
    podPidsLimit: 4096,
    logging: { format: 'text' },
    staticPodPath: path.join(dir, 'static-pods'),
  });
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

/** Every cgroup folder the kubelet made (`kubepods` in each v1 hierarchy), deepest first. */
function podCgroups(): string[] {
  const found: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(folder, entry.name));
    }
    found.push(folder);
  };
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const top = path.join('/sys/fs/cgroup', hierarchy, 'kubepods');
    if (existsSync(top)) walk(top);
  }
  return found;
}

function killPodProcesses(): void {
  for (const cgroup of podCgroups()) {
    const procs = path.join(cgroup, 'cgroup.procs');
    if (!existsSync(procs)) continue;
    for (const pid of readFileSync(procs, 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

/** containerd's shims outlive it (they are their own session): end the ones serving our socket. */
function killShims(socket: string): void {
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes('containerd-shim') && cmdline.includes(socket)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

function netnsEntries(): Set<string> {
  return new Set(existsSync(NETNS_DIR) ? readdirSync(NETNS_DIR) : []);
}

async function quietly(command: string, args: readonly string[]): Promise<void> {
  await run(command, args, { timeout: 30_000 }).catch(() => undefined);
}

export interface StartOptions {
  /** The Kubernetes binary (test/support/tools.ts toolPath('kubernetes')). */
  readonly binary: string;
  readonly log?: (line: string) => void;
}

export async function startLocalCluster(options: StartOptions): Promise<LocalCluster> {
  const problem = localClusterProblem();
  if (problem) throw new Error(problem);
  const log = options.log ?? (() => {});
  await acquireHostLock(log);
  const started = Date.now();
  // Short: containerd's sockets live under it and a socket path has at most 107 bytes.
  const dir = mkdtempSync('/tmp/kube-');
  const netnsBefore = netnsEntries();
  const processes: { name: string; tool: ToolProcess }[] = [];
  const socket = path.join(dir, 'containerd.sock');
  for (const sub of ['pki', 'etcd', 'cni', 'kubelet', 'static-pods', 'containerd']) mkdirSync(path.join(dir, sub));

  const logs = () => processes.map(({ name, tool }) => `--- ${name} ---\n${tool.output().slice(-3000)}`).join('\n');
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const byName = (name: string) => processes.find((entry) => entry.name === name)?.tool;
    await byName('kubelet')?.stop(10_000);
    killPodProcesses();
    await byName('containerd')?.stop(10_000);
    killShims(socket);
    for (const name of ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd']) {
      await byName(name)?.stop(10_000);
    }
    releaseHostLock();
    for (const point of mountsUnder(dir)) await quietly('umount', ['-l', point]);
    for (const entry of netnsEntries()) {
      if (netnsBefore.has(entry)) continue;
      await quietly('umount', ['-l', path.join(NETNS_DIR, entry)]);
      rmSync(path.join(NETNS_DIR, entry), { force: true });
    }
    await quietly('ip', ['link', 'delete', BRIDGE]);
    for (const cgroup of podCgroups()) {
      try {
        rmdirSync(cgroup);
      } catch {
        // A process that just exited may still hold it; the next start's kubelet reuses it.
      }
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    const [etcdPort, etcdPeerPort, apiPort, cmPort, schedulerPort, kubeletPort, kubeletHealthz] = await Promise.all(
      Array.from({ length: 7 }, () => freePort()),
    );
    const address = hostAddress();
    const pki = makeKubePki(path.join(dir, 'pki'), NODE_NAME, {
      dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      ips: ['127.0.0.1', address, '10.96.0.1'],
    });
    const server = `https://127.0.0.1:${apiPort}`;
    const admin = pki.kubeconfig('admin', server);
    const api = kubeApi(admin);
    const spawnComponent = (name: string, args: readonly string[], file = options.binary) => {
      const tool = spawnTool(file, file === options.binary ? [name, ...args] : args);
      processes.push({ name, tool });
      return tool;
    };

    const etcd = spawnComponent('etcd', [
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-url=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-url=http://127.0.0.1:${etcdPeerPort}`,
    ]);
    await waitUntilReady('etcd', etcd, async () => etcd.output().includes('etcd: ready'), 60_000);

    const kubeletClient = pki.cert('apiserver-kubelet-client');
    const frontProxy = pki.cert('front-proxy-client');
    const apiserver = spawnComponent('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--secure-port=${apiPort}`,
      '--bind-address=0.0.0.0',
      `--advertise-address=${address}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-issuer=https://kubernetes.default.svc`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction,PodSecurity',
      `--kubelet-client-certificate=${kubeletClient.cert}`,
      `--kubelet-client-key=${kubeletClient.key}`,
      // The node's Hostname address (NODE_NAME) resolves nowhere: reach the kubelet (logs, exec) at its IP.
      '--kubelet-preferred-address-types=InternalIP',
      // The aggregation layer, for KEDA's metrics adapter (external.metrics.k8s.io): the API server
      // proxies to it as front-proxy-client, straight to the endpoint's address (there is no kube-proxy).
      `--requestheader-client-ca-file=${pki.caCert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${frontProxy.cert}`,
      `--proxy-client-key-file=${frontProxy.key}`,
      '--enable-aggregator-routing=true',
      '--profiling=false',
      '--v=0',
    ]);
    await waitUntilReady('kube-apiserver', apiserver, async () => (await api.text('/readyz')).trim() === 'ok', 120_000);
    log(`kube-apiserver ready after ${Math.round((Date.now() - started) / 1000)} s`);

    const controllerManagerConfig = pki.kubeconfig('controller-manager', server);
    spawnComponent('kube-controller-manager', [
      `--kubeconfig=${controllerManagerConfig}`,
      `--authentication-kubeconfig=${controllerManagerConfig}`,
      `--authorization-kubeconfig=${controllerManagerConfig}`,
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--leader-elect=false',
      `--secure-port=${cmPort}`,
      '--v=0',
    ]);
    const schedulerConfig = pki.kubeconfig('scheduler', server);
    spawnComponent('kube-scheduler', [
      `--kubeconfig=${schedulerConfig}`,
      `--authentication-kubeconfig=${schedulerConfig}`,
      `--authorization-kubeconfig=${schedulerConfig}`,
      '--leader-elect=false',
      `--secure-port=${schedulerPort}`,
      '--v=0',
    ]);

    writeFileSync(path.join(dir, 'cni', '10-gke-batch-test.conflist'), cniConfig(dir));
    writeFileSync(path.join(dir, 'containerd.toml'), containerdConfig(dir, socket));
    const containerd = spawnComponent('containerd', ['--config', path.join(dir, 'containerd.toml')], 'containerd');
    await waitUntilReady('containerd', containerd, async () => existsSync(socket), 60_000);

    const kubeletConfigFile = path.join(dir, 'kubelet.json');
    writeFileSync(kubeletConfigFile, kubeletConfig(dir, socket, pki.caCert, kubeletPort, kubeletHealthz));
    const kubelet = spawnComponent('kubelet', [
      `--config=${kubeletConfigFile}`,
      `--kubeconfig=${pki.kubeconfig('kubelet', server)}`,
      `--root-dir=${path.join(dir, 'kubelet')}`,
      `--cert-dir=${path.join(dir, 'kubelet', 'pki')}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${address}`,
      '--v=0',
    ]);
    await waitUntilReady(
      'the node',
      kubelet,
      async () => {
        const node = await api.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
          `/api/v1/nodes/${NODE_NAME}`,
        );
        return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
      },
      180_000,
    );
    // The controller manager is working once it has made the default namespace's service account.
    await waitUntilReady(
      'the controller manager',
      kubelet,
      async () => (await api.get('/api/v1/namespaces/default/serviceaccounts/default')) !== undefined,
      120_000,
    );
    log(`node ${NODE_NAME} Ready after ${Math.round((Date.now() - started) / 1000)} s`);
    return {
      kubeconfig: admin,
      api,
      hostIpForPods: POD_GATEWAY,
      hostAddress: address,
      pki,
      containerdSocket: socket,
      logs,
      stop,
    };
  } catch (error) {
    const message = `${(error as Error).message}\n${logs()}`;
    await stop();
    throw new Error(message);
  }
}

/**
 * One local cluster per host at a time: two at once share the CNI bridge, /var/log/pods and the
 * pods' processes, and each kubelet killed the other's containers (exit 137 after 1-2 s, seen when
 * two test runs overlapped on the 2-core machine). A folder made with mkdir is the lock; it holds
 * the owner's pid, so a lock left by a process that died is taken over.
 */
const HOST_LOCK = '/tmp/gke-batch-local-cluster.lock';
const HOST_LOCK_WAIT_MS = 40 * 60_000;

function lockOwnerAlive(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(HOST_LOCK, 'pid'), 'utf8'));
  } catch {
    return true; // being written right now
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquireHostLock(log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + HOST_LOCK_WAIT_MS;
  let said = false;
  for (;;) {
    try {
      mkdirSync(HOST_LOCK);
      writeFileSync(path.join(HOST_LOCK, 'pid'), String(process.pid));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (!lockOwnerAlive()) {
      rmSync(HOST_LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another local cluster still holds ${HOST_LOCK}`);
    if (!said) log(`waiting for another local cluster on this host to stop (${HOST_LOCK})`);
    said = true;
    await sleep(2000);
  }
}

function releaseHostLock(): void {
  try {
    if (Number(readFileSync(path.join(HOST_LOCK, 'pid'), 'utf8')) !== process.pid) return;
  } catch {
    return;
  }
  rmSync(HOST_LOCK, { recursive: true, force: true });
}

/** Waits until `check` resolves true, polling every second; throws `what` with the cluster's logs. */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  cluster?: LocalCluster,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs / 1000} s${cluster ? `\n${cluster.logs()}` : ''}`);
    }
    await sleep(1_000);
  }
}
