/**
 * GkeCluster: a GKE Standard cluster with our own node pools (the default pool removed), Workload
 * Identity, Dataplane V2, a least-privilege node service account, optional private nodes with
 * Cloud NAT for the cluster's subnet only, optional authorized networks, and the Kubernetes
 * provider that talks to it. The provider depends on the node pools, so every in-cluster object
 * is created after them and deleted before them (KEDA's finalizers still have their operator).
 */
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { kubeconfig } from '../plan/kubeconfig';
import { serviceAccountId } from '../plan/names';
import type { RELEASE_CHANNELS, Taint } from '../plan/schema';
import type { NodePool } from '../plan/types';

/**
 * The project role GKE documents for a node service account that is not the default compute one
 * (logging, monitoring, metadata). Pulling images is granted on the stack's repository only
 * (WorkerImage), not project-wide.
 */
export const NODE_ROLES = ['roles/container.defaultNodeServiceAccount'] as const;

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
  /**
   * GKE's managed collection for Managed Service for Prometheus. Set explicitly: GKE turns it on
   * by default for new clusters, but older clusters and other defaults may not have it.
   */
  readonly managedPrometheus: boolean;
  /** Node pools, validated (machine types known, GPU types fit the family). */
  readonly nodePools: readonly NodePool[];
  /** CIDR blocks allowed to reach the control plane; empty: GKE's default. */
  readonly authorizedNetworks?: readonly string[];
  /**
   * With private nodes: TCP ports on the nodes the control plane must reach beyond GKE's own
   * 443/10250 (KEDA's metrics API server 6443 and webhooks 9443 in continuous mode).
   */
  readonly controlPlanePorts?: readonly string[];
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
  /** With private nodes and extra control-plane ports: the firewall rule that opens them. */
  public readonly controlPlaneFirewall?: gcp.compute.Firewall;

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

    // Auto-mode networks (like "default") name their subnet in each region after the network.
    const subnetwork = args.subnetwork ?? args.network;
    let nat: gcp.compute.RouterNat | undefined;
    if (args.privateNodes && args.cloudNat) {
      const router = new gcp.compute.Router(
        `${name}-router`,
        { name: `${args.clusterName}-router`, project: args.project, region: args.region, network: args.network },
        named,
      );
      nat = new gcp.compute.RouterNat(
        `${name}-nat`,
        {
          name: `${args.clusterName}-nat`,
          project: args.project,
          region: args.region,
          router: router.name,
          natIpAllocateOption: 'AUTO_ONLY',
          // Only the cluster's subnet: other workloads of the network keep their own egress.
          sourceSubnetworkIpRangesToNat: 'LIST_OF_SUBNETWORKS',
          subnetworks: [{ name: subnetwork, sourceIpRangesToNats: ['ALL_IP_RANGES'] }],
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
        monitoringConfig: { managedPrometheus: { enabled: args.managedPrometheus } },
        masterAuthorizedNetworksConfig:
          args.authorizedNetworks && args.authorizedNetworks.length > 0
            ? {
                cidrBlocks: args.authorizedNetworks.map((cidrBlock, i) => ({
                  cidrBlock,
                  displayName: `authorized-${i}`,
                })),
              }
            : undefined,
        resourceLabels: { 'managed-by': 'pulumi', app: 'gke-batch' },
      },
      {
        ...named,
        dependsOn: roleBindings,
        ignoreChanges: ['nodeConfig', 'initialNodeCount'],
        // GKE checks deletionProtection only when the cluster itself is deleted, after everything
        // else is gone; protect makes `pulumi destroy` refuse up front instead of half-way.
        protect: args.deletionProtection,
      },
    );

    const ports = args.controlPlanePorts ?? [];
    if (args.privateNodes && ports.length > 0) {
      this.controlPlaneFirewall = new gcp.compute.Firewall(
        `${name}-control-plane`,
        {
          name: `${args.clusterName}-control-plane`,
          project: args.project,
          network: args.network,
          direction: 'INGRESS',
          // The control plane's range (or, for clusters without one, its private endpoint).
          sourceRanges: this.cluster.privateClusterConfig.apply((config) =>
            config?.masterIpv4CidrBlock
              ? [config.masterIpv4CidrBlock]
              : config?.privateEndpoint
                ? [`${config.privateEndpoint}/32`]
                : [],
          ),
          allows: [{ protocol: 'tcp', ports: [...ports] }],
          targetServiceAccounts: [this.nodeServiceAccount.email],
          description: `GKE control plane of ${args.clusterName} to nodes: KEDA metrics API and webhooks`,
        },
        named,
      );
    }

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
        // Nodes without external IPs need the NAT before they can pull images and reach SQS.
        { ...named, dependsOn: [...roleBindings, ...(nat ? [nat] : [])] },
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
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      {
        kubeconfig: this.kubeconfig,
        // Rotating the AWS keys updates the Secret in place instead of replacing it under running pods.
        enableSecretMutable: true,
      },
      // Through the provider, every in-cluster object waits for the pools (and the firewall), and
      // is deleted before them.
      {
        ...parent,
        dependsOn: [...Object.values(pools), ...(this.controlPlaneFirewall ? [this.controlPlaneFirewall] : [])],
      },
    );

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
