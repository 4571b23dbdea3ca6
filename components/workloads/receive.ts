/**
 * The zone receiver of a spoke: Thanos Receive routers taking the remote write of the edges of
 * the spoke's sovereignty zone, and ingesters holding one TSDB per edge, uploading its blocks to
 * the spoke's own metrics bucket with the spoke's writer identity, and serving the spoke's local
 * query. The argument renderers are components/thanos/receive.ts.
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SpokeConfig } from "../config";
import { SERVICE_ACCOUNTS } from "../endpoints";
import { POD_SELECTORS } from "../exposure/flows";
import { k8sLabels } from "../labels";
import { GRPC_PORT, PATHS } from "../thanos/args";
import { RECEIVE_PATHS, receiveIngesterArgs, receiveProfile, receiveRouterArgs, renderHashrings } from "../thanos/receive";
import { containerResources } from "./resources";
import { ThanosWorkload } from "./thanos";

/** Names of the receiver's objects. */
export const RECEIVER = {
  router: "thanos-receive-router",
  ingester: "thanos-receive",
  hashrings: "thanos-receive-hashrings",
  /** The router's remote-write server certificate and the bundle of the edges' CAs. */
  remoteWriteTls: "thanos-receive-remote-write-tls",
} as const;

/** The in-cluster name of the ingesters (their headless Service), which the internal server certificate carries. */
export function ingesterServiceName(namespace: string): string {
  return `${RECEIVER.ingester}.${namespace}.svc`;
}

/** The gRPC address of each ingester in the hashring: its stable StatefulSet DNS name. */
export function ingesterEndpoints(namespace: string, replicas: number): string[] {
  return Array.from({ length: replicas }, (_, i) => `${RECEIVER.ingester}-${i}.${ingesterServiceName(namespace)}.cluster.local:${GRPC_PORT}`);
}

/** Disk of each ingester: the TSDB heads and the blocks not yet past the local retention. */
const INGESTER_DISK = { small: "10Gi", medium: "20Gi", large: "50Gi" } as const;

export interface ZoneReceiverArgs {
  config: SpokeConfig;
  /** The edges (tenants) the receiver accepts: those the spoke could read and that are of its zone. */
  edges: readonly string[];
  /** The Secret with the sidecar writer's objstore file (the ingesters upload like a sidecar: no deletes). */
  objstoreSecretName: string;
  /** Pod labels of the sidecar's cloud identity (Azure workload identity), for the ingesters. */
  writerPodLabels: pulumi.Input<Record<string, string>>;
  /** The secret of the internal gRPC server certificate (ingesters) and client certificate (routers). */
  internalServerTlsSecret: string;
  internalClientTlsSecret: string;
  /** ServiceMonitor labels and what they wait for (the Prometheus Operator CRDs). */
  monitoring: { labels: Record<string, string>; dependsOn: pulumi.Input<pulumi.Resource>[] };
  /**
   * A digest of the router's remote-write TLS Secret: Thanos loads the server certificate and the
   * client CA once (thanos v0.42.4 pkg/tls/options.go), so a renewed certificate or a rotated
   * edge CA rolls the routers.
   */
  remoteWriteTlsChecksum: pulumi.Input<string>;
}

/**
 * The zone receiver. With no edge accepted yet it deploys nothing: a hashring without tenants
 * would accept every tenant (Thanos' default hashring), so there is no receiver until there is
 * an edge to receive.
 */
export class ZoneReceiver extends pulumi.ComponentResource {
  /** Ingester replicas deployed (0 while no edge is accepted). */
  public readonly ingesters: number;
  /** Router replicas deployed. */
  public readonly routers: number;

  constructor(name: string, args: ZoneReceiverArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:workloads:ZoneReceiver", name, {}, opts);
    const { config } = args;
    const ns = config.namespace;
    const size = receiveProfile(config.profile);
    this.ingesters = args.edges.length === 0 ? 0 : size.ingesters;
    this.routers = args.edges.length === 0 ? 0 : size.routers;
    if (args.edges.length === 0) {
      this.registerOutputs({});
      return;
    }
    const child = { parent: this };
    const image = `quay.io/thanos/thanos:${config.versions.thanos}`;
    const labels = k8sLabels(config, "thanos");
    const hashrings = renderHashrings({ edges: args.edges, ingesters: ingesterEndpoints(ns, size.ingesters), replicationFactor: size.replicationFactor });
    const hashringsMap = new k8s.core.v1.ConfigMap(`${name}-hashrings`, { metadata: { name: RECEIVER.hashrings, namespace: ns, labels }, data: { "hashrings.json": hashrings } }, child);

    const ingesterArgs = receiveIngesterArgs({
      localEndpoint: `$(POD_NAME).${ingesterServiceName(ns)}.cluster.local:${GRPC_PORT}`,
      replica: "$(POD_NAME)",
      retention: size.retention,
      upload: true,
    });
    new ThanosWorkload(`${name}-ingester`, {
      params: {
        name: RECEIVER.ingester,
        namespace: ns,
        image,
        labels,
        kind: "StatefulSet",
        replicas: size.ingesters,
        args: ingesterArgs,
        selector: { ...POD_SELECTORS.receiveIngester },
        podLabels: {},
        // The Prometheus ServiceAccount: bound to the spoke's sidecar writer identity (upload, never delete).
        serviceAccountName: SERVICE_ACCOUNTS.sidecar,
        resources: containerResources(config.profile, "thanos-receive"),
        volumes: [
          { name: "objstore", mountPath: "/etc/thanos/objstore", kind: "secret", secretName: args.objstoreSecretName },
          { name: "tls", mountPath: PATHS.grpcTls, kind: "secret", secretName: args.internalServerTlsSecret },
          { name: "data", mountPath: PATHS.data, kind: "claim", size: INGESTER_DISK[config.profile] },
        ],
        grpc: true,
        // Each ingester is addressed by its own DNS name (hashring) and discovered by the local query through SRV.
        headless: true,
        configHash: hash(ingesterArgs.join(" ")),
      },
      serviceAccount: "existing",
      serviceAccountAnnotations: {},
      podLabels: args.writerPodLabels,
      monitoring: args.monitoring,
    }, child);

    const routerArgs = receiveRouterArgs({
      replicationFactor: size.replicationFactor,
      ingesters: size.ingesters,
      ingesterServerName: ingesterServiceName(ns),
      labels: { receiver: config.stack },
    });
    new ThanosWorkload(`${name}-router`, {
      params: {
        name: RECEIVER.router,
        namespace: ns,
        image,
        labels,
        kind: "Deployment",
        replicas: size.routers,
        args: routerArgs,
        selector: { ...POD_SELECTORS.receiveRouter },
        podLabels: {},
        serviceAccountName: RECEIVER.router,
        resources: containerResources(config.profile, "thanos-receive-router"),
        volumes: [
          { name: "hashrings", mountPath: RECEIVE_PATHS.hashrings.replace(/\/[^/]+$/, ""), kind: "configMap", configMapName: RECEIVER.hashrings },
          { name: "remote-write-tls", mountPath: RECEIVE_PATHS.remoteWriteTls, kind: "secret", secretName: RECEIVER.remoteWriteTls },
          { name: "client-tls", mountPath: PATHS.clientTls, kind: "secret", secretName: args.internalClientTlsSecret },
        ],
        grpc: false,
        // The hashrings file is re-read every minute (--receive.hashrings-file-refresh-interval): a new edge needs no restart.
        configHash: hash(routerArgs.join(" ")),
      },
      serviceAccountAnnotations: {},
      podAnnotations: pulumi.output(args.remoteWriteTlsChecksum).apply((c) => ({ "checksum/tls": c })),
      monitoring: args.monitoring,
    }, { ...child, dependsOn: [hashringsMap] });
    this.registerOutputs({});
  }
}

function hash(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 16);
}
