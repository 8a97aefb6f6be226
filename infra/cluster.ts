/**
 * GkeCluster: a GKE Standard cluster with our own node pools (the default pool removed), Workload
 * Identity, Dataplane V2, a least-privilege node service account, optional private nodes with
 * Cloud NAT, and the Kubernetes provider that talks to it.
 */
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { RELEASE_CHANNELS, Taint } from './config';
import { kubeconfig } from './kubeconfig';
import { serviceAccountId } from './names';
import type { NodePool } from './validate';

/** The roles GKE documents for a node service account that is not the default compute one. */
export const NODE_ROLES = [
  'roles/logging.logWriter',
  'roles/monitoring.metricWriter',
  'roles/monitoring.viewer',
  'roles/stackdriver.resourceMetadata.writer',
  'roles/artifactregistry.reader',
] as const;

const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

const TAINT_EFFECTS: Readonly<Record<Taint['effect'], string>> = {
  NoSchedule: 'NO_SCHEDULE',
  PreferNoSchedule: 'PREFER_NO_SCHEDULE',
  NoExecute: 'NO_EXECUTE',
};

export interface GkeClusterArgs {
  /** GCP project id. */
  readonly project: string;
  /** GCP region (Cloud NAT lives there). */
  readonly region: string;
  /** Cluster location: a zone (zonal cluster) or the region (regional cluster). */
  readonly location: string;
  /** Zones for the nodes of a regional cluster; empty for GKE's default zones. */
  readonly nodeLocations: readonly string[];
  /** GKE cluster name (also the prefix of the node service account). */
  readonly clusterName: string;
  /** GKE release channel. */
  readonly releaseChannel: (typeof RELEASE_CHANNELS)[number];
  /** VPC network name. */
  readonly network: string;
  /** Subnetwork name; undefined for the network's subnetwork in the region. */
  readonly subnetwork?: string;
  /** Nodes without external IPs. */
  readonly privateNodes: boolean;
  /** With private nodes, create a Cloud Router and NAT for outbound traffic (SQS, AWS). */
  readonly cloudNat: boolean;
  /** Refuse `pulumi destroy` of the cluster. */
  readonly deletionProtection: boolean;
  /** Node pools, validated (machine types known, GPU types fit the family). */
  readonly nodePools: readonly NodePool[];
}

/**
 * The stack names its cloud resources itself (so commands and docs can name them), so a resource
 * that must be replaced is deleted first: creating the replacement first would clash on the name.
 */
const NAMED = { deleteBeforeReplace: true } as const;

export class GkeCluster extends pulumi.ComponentResource {
  public readonly cluster: gcp.container.Cluster;
  public readonly nodeServiceAccount: gcp.serviceaccount.Account;
  /** Node pools by their config name. */
  public readonly nodePools: Readonly<Record<string, gcp.container.NodePool>>;
  public readonly clusterName: pulumi.Output<string>;
  /** "PROJECT.svc.id.goog": the Workload Identity pool of the cluster. */
  public readonly workloadPool: pulumi.Output<string>;
  /** Kubeconfig using gke-gcloud-auth-plugin (a secret: it names the endpoint and CA). */
  public readonly kubeconfig: pulumi.Output<string>;
  /** Kubernetes provider for this cluster, for every in-cluster resource of the stack. */
  public readonly provider: k8s.Provider;

  constructor(name: string, args: GkeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('gke-batch:infra:GkeCluster', name, {}, opts);
    const parent = { parent: this };
    const named = { parent: this, ...NAMED };

    this.nodeServiceAccount = new gcp.serviceaccount.Account(
      `${name}-nodes`,
      {
        project: args.project,
        accountId: serviceAccountId(args.clusterName, 'nodes'),
        displayName: `GKE nodes of ${args.clusterName} (least privilege)`,
      },
      named,
    );
    const member = pulumi.interpolate`serviceAccount:${this.nodeServiceAccount.email}`;
    const roleBindings = NODE_ROLES.map(
      (role) =>
        new gcp.projects.IAMMember(
          `${name}-nodes-${role.replace(/^roles\//, '').replace(/\./g, '-')}`,
          { project: args.project, role, member },
          parent,
        ),
    );

    if (args.privateNodes && args.cloudNat) {
      const router = new gcp.compute.Router(
        `${name}-router`,
        { name: `${args.clusterName}-router`, project: args.project, region: args.region, network: args.network },
        named,
      );
      new gcp.compute.RouterNat(
        `${name}-nat`,
        {
          name: `${args.clusterName}-nat`,
          project: args.project,
          region: args.region,
          router: router.name,
          natIpAllocateOption: 'AUTO_ONLY',
          sourceSubnetworkIpRangesToNat: 'ALL_SUBNETWORKS_ALL_IP_RANGES',
        },
        named,
      );
    }

    this.cluster = new gcp.container.Cluster(
      name,
      {
        name: args.clusterName,
        project: args.project,
        location: args.location,
        nodeLocations: args.nodeLocations.length > 0 ? [...args.nodeLocations] : undefined,
        removeDefaultNodePool: true,
        initialNodeCount: 1,
        // Shapes only the temporary default pool GKE deletes at once: keep it off the default compute SA.
        nodeConfig: { serviceAccount: this.nodeServiceAccount.email, oauthScopes: [CLOUD_PLATFORM_SCOPE] },
        releaseChannel: { channel: args.releaseChannel },
        network: args.network,
        subnetwork: args.subnetwork,
        networkingMode: 'VPC_NATIVE',
        ipAllocationPolicy: {},
        // Dataplane V2: the node sizing's DaemonSet budget assumes anetd.
        datapathProvider: 'ADVANCED_DATAPATH',
        workloadIdentityConfig: { workloadPool: `${args.project}.svc.id.goog` },
        privateClusterConfig: args.privateNodes
          ? { enablePrivateNodes: true, enablePrivateEndpoint: false }
          : undefined,
        deletionProtection: args.deletionProtection,
        resourceLabels: { 'managed-by': 'pulumi', app: 'gke-batch' },
      },
      { ...named, dependsOn: roleBindings, ignoreChanges: ['nodeConfig', 'initialNodeCount'] },
    );

    const pools: Record<string, gcp.container.NodePool> = {};
    for (const pool of args.nodePools) {
      pools[pool.name] = new gcp.container.NodePool(
        `${name}-${pool.name}`,
        {
          name: pool.name,
          project: args.project,
          location: args.location,
          cluster: this.cluster.name,
          autoscaling: {
            // total*: the bounds count nodes across all zones, as the stack config means them.
            totalMinNodeCount: pool.minNodes,
            totalMaxNodeCount: pool.maxNodes,
            // Spot capacity comes and goes per zone: take it wherever it is.
            locationPolicy: pool.spot ? 'ANY' : 'BALANCED',
          },
          management: { autoRepair: true, autoUpgrade: true },
          nodeConfig: nodeConfigFor(pool, this.nodeServiceAccount.email),
        },
        { ...named, dependsOn: roleBindings },
      );
    }
    this.nodePools = pools;

    this.clusterName = this.cluster.name;
    this.workloadPool = this.cluster.workloadIdentityConfig.apply(
      (wi) => wi?.workloadPool ?? `${args.project}.svc.id.goog`,
    );
    this.kubeconfig = pulumi.secret(
      pulumi
        .all([this.cluster.name, this.cluster.endpoint, this.cluster.masterAuth])
        .apply(([clusterName, endpoint, auth]) =>
          kubeconfig({
            project: args.project,
            location: args.location,
            clusterName,
            endpoint,
            caCertificate: auth.clusterCaCertificate ?? '',
          }),
        ),
    );
    this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig }, parent);

    this.registerOutputs({
      clusterName: this.clusterName,
      workloadPool: this.workloadPool,
      kubeconfig: this.kubeconfig,
    });
  }
}

/** The node pool's node config: machine, spot, disk, labels, taints, GPUs, the node SA. */
export function nodeConfigFor(
  pool: NodePool,
  serviceAccount: pulumi.Input<string>,
): gcp.types.input.container.NodePoolNodeConfig {
  return {
    machineType: pool.machine.name,
    spot: pool.spot,
    diskSizeGb: pool.diskSizeGb,
    diskType: pool.diskType,
    // GKE adds cloud.google.com/gke-nodepool itself; the workers select their pool by it.
    labels: { ...pool.labels },
    taints: pool.taints.map((t) => ({ key: t.key, value: t.value, effect: TAINT_EFFECTS[t.effect] })),
    serviceAccount,
    oauthScopes: [CLOUD_PLATFORM_SCOPE],
    workloadMetadataConfig: { mode: 'GKE_METADATA' },
    metadata: { 'disable-legacy-endpoints': 'true' },
    shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
    guestAccelerators: pool.gpu
      ? [{ type: pool.gpu.type, count: pool.gpu.count, gpuDriverInstallationConfig: { gpuDriverVersion: 'DEFAULT' } }]
      : undefined,
  };
}
