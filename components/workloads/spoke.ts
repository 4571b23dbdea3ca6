/**
 * The workloads of a spoke: kube-prometheus-stack (Prometheus HA pair + Thanos sidecar,
 * local Alertmanager), the Thanos compactor, the local query the hub dials (and a store
 * gateway with `spoke-query`), Loki with its mTLS gateway, Alloy, and the pipeline-alive rules.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { deadRuleSelectors, prometheusRule, spokeAlertmanagerConfig, spokeRuleGroups, spokeScrapes, toYaml } from "../alerting";
import type { BucketUser } from "../clouds/types";
import type { SpokeConfig } from "../config";
import { RELEASES, SERVICE_ACCOUNTS, THANOS_QUERY } from "../endpoints";
import { externalLabels, k8sLabels } from "../labels";
import { compactArgs, PATHS, queryArgs, renderEndpointConfig, storeArgs, type EndpointEntry, type EndpointTls } from "../thanos/args";
import { containerResources, totalRequests, type SpokeFootprint } from "./resources";
import { chartRelease } from "./release";
import { ThanosWorkload, type ThanosVolume } from "./thanos";
import { ingesterServiceName, ZoneReceiver } from "./receive";
import { edgeRuleGroups } from "../alerting/edges";
import { alloyValues, ALERTMANAGER_CONFIG_KEY, kubePrometheusStackValues, kubeProxyScraped, PROMETHEUS_MONITOR_LABELS, LOKI_HTPASSWD_KEY, LOKI_S3_KEY_ENV, lokiPushUrl, lokiStorageSchema, lokiValues } from "./values";


/** Secret names the workloads mount. */
export const SPOKE_SECRETS = {
  objstore: "thanos-objstore",
  alertmanagerConfig: "alertmanager-config",
  lokiHtpasswd: "loki-gateway-htpasswd",
  /** Server cert of the local query, dialled by the hub; `ca.crt` is the hub's client CA. */
  queryServerTls: "thanos-grpc-tls",
  /** Server cert of the sidecars and store gateway inside the cluster. */
  internalServerTls: "thanos-internal-tls",
  /** Client cert the local query presents to the sidecars and store gateway. */
  internalClientTls: "thanos-internal-client-tls",
  lokiGatewayTls: "loki-gateway-tls",
  hubAlertmanagerClientTls: "alertmanager-hub-client-tls",
  /** Cloud s3: Loki's own access key, as the environment its config references. */
  lokiS3Credentials: "loki-s3-credentials",
} as const;

/** Cloud s3: the objstore Secret of one Thanos bucket user, each with its own key. */
export function objstoreSecretOf(user: "sidecar" | "compactor" | "store"): string {
  return `${SPOKE_SECRETS.objstore}-${user}`;
}

/** In-cluster names the internal server certificate carries. */
export function internalThanosNames(namespace: string): { sidecars: string; store: string } {
  return { sidecars: `${RELEASES.prometheus}-thanos-discovery.${namespace}.svc`, store: `thanos-store.${namespace}.svc` };
}

/**
 * The local query's endpoints: the sidecars and (with `spoke-query`) the store gateway, found
 * through the SRV records of their headless Services (every ready pod, not one ClusterIP).
 */
export function spokeQueryEndpoints(namespace: string, withStore: boolean, withReceiver = false): EndpointEntry[] {
  const names = internalThanosNames(namespace);
  return [
    { address: `dnssrv+_grpc._tcp.${names.sidecars}.cluster.local` },
    ...(withStore ? [{ address: `dnssrv+_grpc._tcp.${names.store}.cluster.local` }] : []),
    // The receiver's ingesters: the edges' recent samples (their blocks are in the bucket, read like the sidecars').
    ...(withReceiver ? [{ address: `dnssrv+_grpc._tcp.${ingesterServiceName(namespace)}.cluster.local` }] : []),
  ];
}

/**
 * The mTLS the local query dials the sidecars and the store gateway with. It is the endpoint
 * config's `default_client_config`, because Thanos dials DNS-discovered addresses with that
 * only (see renderEndpointConfig). One config means one `server_name` for both: the sidecars'
 * name, which the shared internal server certificate carries next to the store's (stacks/spoke.ts
 * issues it with both names; test/thanos-endpoints.test.ts handshakes with the planned files).
 */
export function spokeInternalTls(namespace: string): EndpointTls {
  return { clientCertDir: PATHS.clientTls, caFile: `${PATHS.clientTls}/ca.crt`, serverName: internalThanosNames(namespace).sidecars };
}

/** Identity bindings per workload, as the cloud module resolved them. */
export type IdentityBindings = Partial<Record<BucketUser, { annotations: Record<string, string>; podLabels: Record<string, string> }>>;

export interface SpokeWorkloadsArgs {
  config: SpokeConfig;
  /** Forward alerts to the hub: its Alertmanager URL and server name; omitted when the hub is unreadable. */
  hubAlertmanager?: { url: string; serverName: string };
  writerObjstore: pulumi.Input<string>;
  /**
   * Services without workload identity (cloud s3): each Thanos bucket user's own objstore file,
   * with its own key; each goes into a Secret of its own, mounted by that workload only.
   */
  objstoreFor?: Partial<Record<"sidecar" | "compactor" | "store", pulumi.Input<string>>>;
  lokiStorage: pulumi.Input<Record<string, unknown>>;
  /** Services without workload identity: Loki's own key, given to Loki as its environment. */
  lokiCredentials?: pulumi.Input<{ accessKey: string; secretKey: string }>;
  identities: pulumi.Input<IdentityBindings>;
  /** `user:bcrypt` lines for the gateway (the hub's Loki datasource user, each accepted edge). */
  htpasswd: pulumi.Input<string>;
  /**
   * The zone receiver (`receive.enabled`), the edges it accepts, and a digest of its
   * remote-write TLS Secret (Thanos reads the client CA once, at start).
   */
  receiver?: { edges: readonly string[]; tlsChecksum: pulumi.Input<string> };
  /** A digest of the gateway's TLS Secret (nginx reads it only at start or reload). */
  gatewayTlsChecksum: pulumi.Input<string>;
}

function hash(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 16);
}

/** Everything running in a spoke's cluster. */
export class SpokeWorkloads extends pulumi.ComponentResource {
  /** Requested CPU and memory of the spoke (per-node agents separately). */
  public readonly footprint: SpokeFootprint;

  constructor(name: string, args: SpokeWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:workloads:SpokeWorkloads", name, {}, opts);
    const { config } = args;
    const ns = config.namespace;
    const child = { parent: this };
    const image = `quay.io/thanos/thanos:${config.versions.thanos}`;
    const spokeQuery = config.queryPath === "spoke-query";
    const identities = pulumi.output(args.identities);
    const identity = (user: BucketUser): pulumi.Output<{ annotations: Record<string, string>; podLabels: Record<string, string> }> =>
      identities.apply((ids) => {
        const id = ids[user];
        if (id === undefined) throw new Error(`stack ${config.stack}: no cloud identity for ${user}`);
        return id;
      });

    // One Secret for every Thanos bucket user (workload identity tells them apart), or, with static
    // keys (cloud s3), one per user so that no pod mounts another's key.
    const perUser = args.objstoreFor;
    const objstoreSecrets = perUser === undefined
      ? [new k8s.core.v1.Secret(`${name}-objstore`, { metadata: { name: SPOKE_SECRETS.objstore, namespace: ns, labels: k8sLabels(config, "thanos") }, stringData: { "objstore.yaml": args.writerObjstore } }, child)]
      : (Object.entries(perUser) as ["sidecar" | "compactor" | "store", pulumi.Input<string>][]).map(([user, file]) =>
          new k8s.core.v1.Secret(`${name}-objstore-${user}`, { metadata: { name: objstoreSecretOf(user), namespace: ns, labels: k8sLabels(config, "thanos") }, stringData: { "objstore.yaml": pulumi.secret(file) } }, child));
    const objstoreSecretName = (user: "sidecar" | "compactor" | "store"): string => {
      if (perUser === undefined) return SPOKE_SECRETS.objstore;
      if (perUser[user] === undefined) throw new Error(`stack ${config.stack}: the cloud module gave ${user} no objstore file`);
      return objstoreSecretOf(user);
    };
    const lokiCredentials = args.lokiCredentials === undefined
      ? undefined
      : new k8s.core.v1.Secret(`${name}-loki-s3-credentials`, {
          metadata: { name: SPOKE_SECRETS.lokiS3Credentials, namespace: ns, labels: k8sLabels(config, "loki") },
          stringData: pulumi.secret(pulumi.output(args.lokiCredentials).apply((c) => ({ [LOKI_S3_KEY_ENV.accessKey]: c.accessKey, [LOKI_S3_KEY_ENV.secretKey]: c.secretKey }))),
        }, child);
    const amConfig = new k8s.core.v1.Secret(`${name}-alertmanager-config`, {
      metadata: { name: SPOKE_SECRETS.alertmanagerConfig, namespace: ns, labels: k8sLabels(config, "alertmanager") },
      stringData: {
        [ALERTMANAGER_CONFIG_KEY]: pulumi.secret(toYaml(spokeAlertmanagerConfig({ receiverUrl: config.alerting.receiver.url, deadMansSwitchUrl: config.alerting.deadMansSwitch.url }))),
      },
    }, child);
    const htpasswd = new k8s.core.v1.Secret(`${name}-loki-htpasswd`, {
      metadata: { name: SPOKE_SECRETS.lokiHtpasswd, namespace: ns, labels: k8sLabels(config, "loki") },
      stringData: { [LOKI_HTPASSWD_KEY]: pulumi.secret(args.htpasswd) },
    }, child);

    const kpsValues = identity("sidecar").apply((id) =>
      kubePrometheusStackValues({
        profile: config.profile,
        labels: externalLabels(config),
        retention: { local: config.retention.local },
        thanos: { version: config.versions.thanos, objstore: { name: objstoreSecretName("sidecar"), key: "objstore.yaml" }, grpcTls: { secretName: SPOKE_SECRETS.internalServerTls, requireClientCert: true } },
        sidecarIdentity: { serviceAccountName: SERVICE_ACCOUNTS.sidecar, ...id },
        alertmanagerConfigSecret: SPOKE_SECRETS.alertmanagerConfig,
        kubeProxy: kubeProxyScraped(config),
        hubAlertmanager: args.hubAlertmanager !== undefined && config.alerting.forwardToHub ? { ...args.hubAlertmanager, clientTlsSecret: SPOKE_SECRETS.hubAlertmanagerClientTls } : undefined,
      }),
    );
    const kps = chartRelease(`${name}-kube-prometheus-stack`, { release: RELEASES.prometheus, chart: "kube-prometheus-stack", version: config.versions.kubePrometheusStack, namespace: ns, values: kpsValues, timeout: 900 }, { ...child, dependsOn: [...objstoreSecrets, amConfig] });

    const lokiVals = pulumi.all([identity("loki"), args.lokiStorage, args.gatewayTlsChecksum]).apply(([id, storage, tlsChecksum]) =>
      lokiValues({
        profile: config.profile,
        mode: config.loki.mode,
        // Cloud modules hand over the chart's `loki` block; its `storage` part is what the renderer takes.
        storage: lokiStorageSchema.parse((storage as { storage?: unknown }).storage ?? storage),
        retention: { logs: config.retention.logs },
        identity: { serviceAccountName: SERVICE_ACCOUNTS.loki, ...id },
        gateway: { htpasswdSecret: SPOKE_SECRETS.lokiHtpasswd, tlsSecret: SPOKE_SECRETS.lokiGatewayTls, tlsChecksum },
        ...(lokiCredentials !== undefined ? { credentialsSecret: SPOKE_SECRETS.lokiS3Credentials } : {}),
      }),
    );
    const loki = chartRelease(`${name}-loki`, { release: RELEASES.loki, chart: "loki", version: config.versions.loki, namespace: ns, values: lokiVals, timeout: 900 }, { ...child, dependsOn: [htpasswd, kps, ...(lokiCredentials !== undefined ? [lokiCredentials] : [])] });

    chartRelease(`${name}-alloy`, {
      release: RELEASES.alloy,
      chart: "alloy",
      version: config.versions.alloy,
      namespace: ns,
      values: alloyValues({ profile: config.profile, labels: externalLabels(config), lokiPushUrl: lokiPushUrl(ns, config.loki.mode) }),
    }, { ...child, dependsOn: [loki, kps] });

    const objstoreVolume = (user: "compactor" | "store"): ThanosVolume => ({ name: "objstore", mountPath: "/etc/thanos/objstore", kind: "secret", secretName: objstoreSecretName(user) });
    const common = { namespace: ns, image, labels: k8sLabels(config, "thanos"), serviceAccountName: "" };
    // Scraped by the spoke's Prometheus, so the pipeline-alive rules on these components can fire;
    // the ServiceMonitors wait for the release that installs the Prometheus Operator CRDs.
    const monitoring = { labels: { ...PROMETHEUS_MONITOR_LABELS }, dependsOn: [kps] };
    const compactorDisk = { small: "20Gi", medium: "50Gi", large: "150Gi" }[config.profile];
    const compactorArgs = compactArgs({ retention: config.retention, deleteDelay: "48h", concurrency: config.profile === "large" ? 2 : 1 });
    new ThanosWorkload(`${name}-thanos-compact`, {
      params: {
        ...common,
        name: "thanos-compact",
        kind: "StatefulSet",
        replicas: 1,
        args: compactorArgs,
        selector: { "app.kubernetes.io/name": "thanos-compact", "app.kubernetes.io/instance": "spoke" },
        podLabels: {},
        serviceAccountName: SERVICE_ACCOUNTS.compactor,
        resources: containerResources(config.profile, "thanos-compact"),
        volumes: [objstoreVolume("compactor"), { name: "data", mountPath: PATHS.data, kind: "claim", size: compactorDisk }],
        grpc: false,
        configHash: hash(compactorArgs.join(" ")),
      },
      serviceAccountAnnotations: identity("compactor").apply((i) => i.annotations),
      podLabels: identity("compactor").apply((i) => i.podLabels),
      monitoring,
    }, { ...child, dependsOn: objstoreSecrets });

    const storeReplicas = config.profile === "large" ? 2 : 1;
    if (spokeQuery) {
      const args2 = storeArgs({ indexCacheSize: { small: "256MB", medium: "512MB", large: "2GB" }[config.profile], grpcTls: true });
      new ThanosWorkload(`${name}-thanos-store`, {
        params: {
          ...common,
          name: "thanos-store",
          kind: "Deployment",
          replicas: storeReplicas,
          args: args2,
          selector: { "app.kubernetes.io/name": "thanos-store", "app.kubernetes.io/instance": "spoke" },
          podLabels: {},
          serviceAccountName: SERVICE_ACCOUNTS.store,
          resources: containerResources(config.profile, "thanos-store"),
          volumes: [
            objstoreVolume("store"),
            { name: "tls", mountPath: PATHS.grpcTls, kind: "secret", secretName: SPOKE_SECRETS.internalServerTls },
            { name: "data", mountPath: PATHS.data, kind: "memory", sizeLimit: { small: "1Gi", medium: "2Gi", large: "4Gi" }[config.profile] },
          ],
          grpc: true,
          // The local query finds every replica through `dnssrv+` (spokeQueryEndpoints).
          headless: true,
          configHash: hash(args2.join(" ")),
        },
        serviceAccountAnnotations: identity("store").apply((i) => i.annotations),
        podLabels: identity("store").apply((i) => i.podLabels),
        monitoring,
      }, { ...child, dependsOn: objstoreSecrets });
    }

    const receiver = args.receiver !== undefined
      ? new ZoneReceiver(`${name}-receiver`, {
          config,
          edges: args.receiver.edges,
          objstoreSecretName: objstoreSecretName("sidecar"),
          writerPodLabels: identity("sidecar").apply((i) => i.podLabels),
          internalServerTlsSecret: SPOKE_SECRETS.internalServerTls,
          internalClientTlsSecret: SPOKE_SECRETS.internalClientTls,
          remoteWriteTlsChecksum: args.receiver.tlsChecksum,
          monitoring,
          // The ingesters run as the Prometheus ServiceAccount, which the kube-prometheus-stack release creates.
        }, { ...child, dependsOn: [...objstoreSecrets, kps] })
      : undefined;
    const endpoints = renderEndpointConfig(spokeQueryEndpoints(ns, spokeQuery, receiver !== undefined && receiver.ingesters > 0), { defaultTls: spokeInternalTls(ns) });
    const qArgs = queryArgs({ grpcTls: true, endpoints: { file: PATHS.endpoints }, queryTimeout: "2m", storeResponseTimeout: "30s", partialResponse: true });
    new ThanosWorkload(`${name}-thanos-query`, {
      params: {
        ...common,
        name: "thanos-query",
        kind: "Deployment",
        replicas: 2,
        args: qArgs,
        selector: { ...THANOS_QUERY.selector },
        podLabels: {},
        serviceAccountName: "thanos-query",
        resources: containerResources(config.profile, "thanos-query"),
        volumes: [
          { name: "endpoints", mountPath: "/etc/thanos/endpoints", kind: "configMap", configMapName: "thanos-query-endpoints" },
          { name: "server-tls", mountPath: PATHS.grpcTls, kind: "secret", secretName: SPOKE_SECRETS.queryServerTls },
          { name: "client-tls", mountPath: PATHS.clientTls, kind: "secret", secretName: SPOKE_SECRETS.internalClientTls },
        ],
        grpc: true,
        configHash: hash(qArgs.join(" ")),
      },
      serviceAccountAnnotations: {},
      reloadableFiles: { "endpoints.yaml": endpoints },
      reloadableConfigMapName: "thanos-query-endpoints",
      monitoring,
    }, child);

    // A rule over series nothing scrapes can never fire: refuse it before it is deployed.
    // The zone receiver's edges: one alert per edge that stops writing (components/alerting/edges.ts).
    const ruleGroups = [...spokeRuleGroups({ stack: config.stack }), ...edgeRuleGroups({ stack: config.stack, edges: args.receiver?.edges ?? [] })];
    const dead = deadRuleSelectors(ruleGroups, spokeScrapes({ namespace: ns, lokiMode: config.loki.mode, spokeQuery, kubeProxy: kubeProxyScraped(config), receiver: (receiver?.ingesters ?? 0) > 0 }));
    if (dead.length > 0) throw new Error(`stack ${config.stack}: rules that can never fire:\n  ${dead.join("\n  ")}`);
    new k8s.apiextensions.CustomResource(`${name}-pipeline-alive-rules`, {
      ...prometheusRule({ name: "pipeline-alive", namespace: ns, labels: { ...k8sLabels(config, "rules"), ...PROMETHEUS_MONITOR_LABELS }, groups: ruleGroups }),
    }, { ...child, dependsOn: [kps] });

    this.footprint = totalRequests({
      profile: config.profile,
      lokiMode: config.loki.mode,
      thanos: {
        "thanos-compact": 1,
        "thanos-query": 2,
        ...(spokeQuery ? { "thanos-store": storeReplicas } : {}),
        ...(receiver !== undefined && receiver.ingesters > 0 ? { "thanos-receive": receiver.ingesters, "thanos-receive-router": receiver.routers } : {}),
      },
    });
    this.registerOutputs({ footprint: this.footprint });
  }
}
