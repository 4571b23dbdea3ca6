/**
 * The hub's workloads: a store gateway per `hub-store` spoke over that spoke's bucket with its
 * read-only credential (memory only), a store gateway over the hub's own bucket, the global
 * Thanos Query with one mTLS entry per spoke in a reloadable endpoint config, the query
 * frontend, the Thanos Ruler for global SLIs, the hub Alertmanager and Grafana.
 * Nothing read from a spoke is written to a disk or a bucket of the hub.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createHash } from "node:crypto";
import { hubAlertmanagerConfig, hubRuleGroups, toYaml } from "../alerting";
import type { HubConfig } from "../config";
import { federatedReaderPod, type ReaderPod } from "../clouds/readers";
import type { HubRead, SpokeView } from "../contracts";
import { RELEASES, SERVICE_ACCOUNTS } from "../endpoints";
import { k8sLabels } from "../labels";
import { GRPC_PORT, HTTP_PORT, PATHS, queryArgs, queryFrontendArgs, renderEndpointConfig, ruleArgs, RULER_REPLICA_LABEL, storeArgs, type EndpointEntry } from "../thanos/args";
import { containerResources } from "./resources";
import type { IdentityBindings } from "./spoke";
import { chartRelease } from "./release";
import { ThanosWorkload, TOKEN_FILE, type ThanosVolume } from "./thanos";
import { ALERTMANAGER_CONFIG_KEY, grafanaValues, hubAlertmanagerValues } from "./values";

/**
 * The mTLS terminating proxy in front of the hub Alertmanager, pinned to the ghostunnel release
 * v1.11.1 (the newest tag of github.com/ghostunnel/ghostunnel; there is no v1.11.3). Release tags
 * are pushed to Docker Hub as `v1.x.x` (Alpine) and `v1.x.x-distroless`/`-debian`
 * (ghostunnel README "Docker Images" and magefile.go `buildDocker`/`getDockerTags` at v1.11.1).
 * The distroless variant runs as the distroless `nonroot` user (Dockerfile-distroless at v1.11.1:
 * `FROM gcr.io/distroless/base-nossl:nonroot`); the Alpine one runs as root, which the pod's
 * `runAsNonRoot` would refuse.
 */
export const TLS_PROXY = { release: "v1.11.1", image: "ghostunnel/ghostunnel:v1.11.1-distroless", uid: 65532 } as const;
/** The proxy's image reference (see {@link TLS_PROXY}). */
export const TLS_PROXY_IMAGE = TLS_PROXY.image;

/**
 * Name prefix of each spoke's store gateway, its Service and its ServiceAccount
 * (`thanos-store-<spoke>`). Published in the hub's contract (`federation.serviceAccountPrefix`):
 * a federated spoke trusts exactly that ServiceAccount.
 */
export const HUB_STORE_SA_PREFIX = "thanos-store-";

/** Where a federated store gateway finds its projected token and its objstore files. */
export const READER_PATHS = { tokenDir: "/var/run/secrets/sovereign/reader", objstoreDir: "/etc/thanos/objstore" } as const;

/** Names of the hub's Thanos services. */
export const HUB_THANOS = {
  query: "thanos-query-global",
  frontend: "thanos-query-frontend",
  rule: "thanos-rule",
  ownStore: "thanos-store-hub",
  spokeStore: (spoke: string): string => `${HUB_STORE_SA_PREFIX}${spoke}`,
  endpointsConfigMap: "thanos-query-global-endpoints",
  spokeCasConfigMap: "thanos-spoke-cas",
  rulesConfigMap: "thanos-rules",
} as const;

/** Where the global query finds each spoke's CA. */
export const SPOKE_CA_DIR = "/etc/thanos/spoke-cas";

/** Secrets the hub workloads mount. */
export const HUB_SECRETS = {
  ownObjstore: "thanos-objstore-hub",
  spokeObjstore: (spoke: string): string => `thanos-objstore-${spoke}`,
  queryClientTls: "thanos-query-client-tls",
  alertmanagerTls: "alertmanager-tls",
  alertmanagerConfig: "alertmanager-config",
  grafanaAdmin: "grafana-admin",
  /** Grafana's HTTPS certificate from the hub CA (unless `grafana.tls.existingSecret` names the operator's own). */
  grafanaTls: "grafana-tls",
  /** The OAuth client secret (`grafana.sso.clientSecret`), read by Grafana from the environment. */
  grafanaOauth: "grafana-oauth",
} as const;

function svc(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.cluster.local`;
}

/**
 * The global query's endpoints: every spoke's local query over mTLS (pinned to that spoke's CA
 * and server name), plus plaintext hub-local store gateways and the ruler.
 */
export function hubEndpoints(namespace: string, spokes: readonly Pick<SpokeView, "name" | "queryPath" | "thanos">[]): EndpointEntry[] {
  const entries: EndpointEntry[] = [];
  for (const s of spokes) {
    entries.push({ address: s.thanos.endpoint, tls: { clientCertDir: PATHS.clientTls, caFile: `${SPOKE_CA_DIR}/${s.name}.crt`, serverName: s.thanos.serverName } });
    if (s.queryPath === "hub-store") entries.push({ address: `${svc(HUB_THANOS.spokeStore(s.name), namespace)}:${GRPC_PORT}` });
  }
  entries.push({ address: `${svc(HUB_THANOS.ownStore, namespace)}:${GRPC_PORT}`, strict: true });
  entries.push({ address: `dnssrv+_grpc._tcp.${svc(HUB_THANOS.rule, namespace)}`, strict: false });
  return entries;
}

export interface HubWorkloadsArgs {
  config: HubConfig;
  spokes: readonly SpokeView[];
  /** How each `hub-store` spoke is read (see chooseHubRead in components/contracts). */
  reads: Readonly<Record<string, HubRead>>;
  /** Objstore YAML of the hub's own bucket (ruler output), workload identity. */
  writerObjstore: pulumi.Input<string>;
  identities: pulumi.Input<IdentityBindings>;
  /** Grafana's client certificate and key (PEM; the key is secret). */
  grafanaClient: { certPem: pulumi.Input<string>; keyPem: pulumi.Input<string> };
  /** The kubernetes.io/tls Secret Grafana serves HTTPS with. */
  grafanaTlsSecret: string;
}

/** The federated reader's pod parts for one spoke; undefined when it reads with a key. */
export function readerPod(read: HubRead, spoke: string, hub: string): ReaderPod | undefined {
  if (read.mode !== "federated") return undefined;
  return federatedReaderPod(read.identity, { tokenFile: `${READER_PATHS.tokenDir}/${TOKEN_FILE}`, filesDir: READER_PATHS.objstoreDir }, `${hub}-reads-${spoke}`);
}

function hash(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 16);
}

/** Everything running in the hub's cluster. */
export class HubWorkloads extends pulumi.ComponentResource {
  constructor(name: string, args: HubWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:workloads:HubWorkloads", name, {}, opts);
    const { config, spokes } = args;
    const ns = config.namespace;
    const child = { parent: this };
    const image = `quay.io/thanos/thanos:${config.versions.thanos}`;
    const labels = k8sLabels(config, "thanos");
    const identities = pulumi.output(args.identities);
    const identity = (user: "sidecar" | "store"): pulumi.Output<{ annotations: Record<string, string>; podLabels: Record<string, string> }> =>
      identities.apply((ids) => {
        const id = ids[user];
        if (id === undefined) throw new Error(`hub ${config.stack}: no cloud identity for ${user}`);
        return id;
      });
    const storeResources = containerResources(config.profile, "thanos-store");
    const memory = { small: "1Gi", medium: "2Gi", large: "4Gi" }[config.profile];
    const indexCacheSize = { small: "256MB", medium: "512MB", large: "2GB" }[config.profile];

    // The hub's own bucket: the ruler writes, a store gateway reads.
    const ownObjstore = new k8s.core.v1.Secret(`${name}-objstore`, { metadata: { name: HUB_SECRETS.ownObjstore, namespace: ns, labels }, stringData: { "objstore.yaml": args.writerObjstore } }, child);
    const sArgs = storeArgs({ indexCacheSize, grpcTls: false });
    new ThanosWorkload(`${name}-${HUB_THANOS.ownStore}`, {
      params: {
        name: HUB_THANOS.ownStore, namespace: ns, image, labels, kind: "Deployment", replicas: 1, args: sArgs,
        selector: { "app.kubernetes.io/name": "thanos-store", "app.kubernetes.io/instance": "hub" },
        podLabels: {}, serviceAccountName: SERVICE_ACCOUNTS.hubStore, resources: storeResources,
        volumes: [{ name: "objstore", mountPath: "/etc/thanos/objstore", kind: "secret", secretName: HUB_SECRETS.ownObjstore }, { name: "data", mountPath: PATHS.data, kind: "memory", sizeLimit: memory }],
        grpc: true, configHash: hash(sArgs.join(" ")),
      },
      serviceAccountAnnotations: identity("store").apply((i) => i.annotations),
      podLabels: identity("store").apply((i) => i.podLabels),
    }, { ...child, dependsOn: [ownObjstore] });

    // Per hub-store spoke: a store gateway that reads only that spoke's bucket, RAM only. Federated:
    // its own ServiceAccount's projected token is its only credential; key: the spoke's read-only key.
    for (const s of spokes.filter((x) => x.queryPath === "hub-store")) {
      const read = args.reads[s.name];
      if (read === undefined) throw new Error(`hub ${config.stack}: no read path chosen for spoke ${s.name} (hub-store)`);
      const spokeLabels = { ...labels, "observability.sovereign/spoke": s.name, "observability.sovereign/reader": read.mode };
      const reader = readerPod(read, s.name, config.stack);
      const secret = new k8s.core.v1.Secret(`${name}-objstore-${s.name}`, {
        metadata: { name: HUB_SECRETS.spokeObjstore(s.name), namespace: ns, labels: spokeLabels },
        // Federated: the objstore file (and GCP's credential configuration) hold no credential.
        stringData: read.mode === "key" ? { "objstore.yaml": read.objstore } : { "objstore.yaml": read.objstore, ...reader?.files },
      }, child);
      const volumes: ThanosVolume[] = [
        { name: "objstore", mountPath: READER_PATHS.objstoreDir, kind: "secret", secretName: HUB_SECRETS.spokeObjstore(s.name) },
        { name: "data", mountPath: PATHS.data, kind: "memory", sizeLimit: memory },
      ];
      if (reader !== undefined) volumes.push({ name: "reader-token", mountPath: READER_PATHS.tokenDir, kind: "token", audience: reader.audience, expirationSeconds: reader.expirationSeconds });
      new ThanosWorkload(`${name}-${HUB_THANOS.spokeStore(s.name)}`, {
        params: {
          name: HUB_THANOS.spokeStore(s.name), namespace: ns, image, kind: "Deployment", replicas: 1, args: sArgs,
          labels: spokeLabels,
          selector: { "app.kubernetes.io/name": "thanos-store", "app.kubernetes.io/instance": s.name },
          // No cloud webhook label or annotation: the hub's own cloud must not inject its identity here.
          podLabels: {},
          env: reader?.env,
          serviceAccountName: HUB_THANOS.spokeStore(s.name), resources: storeResources,
          volumes,
          grpc: true,
          // A switch between key and federation rolls the pod (the Secret's content is not in the args).
          configHash: hash(`${sArgs.join(" ")}\n${read.mode}\n${JSON.stringify(reader?.env ?? [])}`),
        },
        serviceAccountAnnotations: {},
      }, { ...child, dependsOn: [secret] });
    }

    // Global query: endpoint list and spoke CAs are files that change without a restart.
    const spokeCas = new k8s.core.v1.ConfigMap(`${name}-spoke-cas`, {
      metadata: { name: HUB_THANOS.spokeCasConfigMap, namespace: ns, labels },
      data: Object.fromEntries(spokes.map((s) => [`${s.name}.crt`, s.thanos.caPem])),
    }, child);
    const qArgs = queryArgs({ grpcTls: false, endpoints: { file: PATHS.endpoints }, queryTimeout: "2m", storeResponseTimeout: "30s", partialResponse: true });
    const queryVolumes: ThanosVolume[] = [
      { name: "endpoints", mountPath: "/etc/thanos/endpoints", kind: "configMap", configMapName: HUB_THANOS.endpointsConfigMap },
      { name: "spoke-cas", mountPath: SPOKE_CA_DIR, kind: "configMap", configMapName: HUB_THANOS.spokeCasConfigMap },
      { name: "client-tls", mountPath: PATHS.clientTls, kind: "secret", secretName: HUB_SECRETS.queryClientTls },
    ];
    new ThanosWorkload(`${name}-${HUB_THANOS.query}`, {
      params: {
        name: HUB_THANOS.query, namespace: ns, image, labels, kind: "Deployment", replicas: 2, args: qArgs,
        selector: { "app.kubernetes.io/name": "thanos-query", "app.kubernetes.io/instance": "global" },
        podLabels: {}, serviceAccountName: HUB_THANOS.query, resources: containerResources(config.profile, "thanos-query"),
        volumes: queryVolumes, grpc: true, configHash: hash(qArgs.join(" ")),
      },
      serviceAccountAnnotations: {},
      reloadableFiles: { "endpoints.yaml": renderEndpointConfig(hubEndpoints(ns, spokes)) },
      reloadableConfigMapName: HUB_THANOS.endpointsConfigMap,
    }, { ...child, dependsOn: [spokeCas] });

    const fArgs = queryFrontendArgs({ downstreamUrl: `http://${svc(HUB_THANOS.query, ns)}:${HTTP_PORT}`, splitInterval: "24h", cacheMaxSize: { small: "256MB", medium: "1GB", large: "4GB" }[config.profile] });
    new ThanosWorkload(`${name}-${HUB_THANOS.frontend}`, {
      params: {
        name: HUB_THANOS.frontend, namespace: ns, image, labels, kind: "Deployment", replicas: 2, args: fArgs,
        selector: { "app.kubernetes.io/name": "thanos-query-frontend", "app.kubernetes.io/instance": "global" },
        podLabels: {}, serviceAccountName: HUB_THANOS.frontend, resources: containerResources(config.profile, "thanos-query-frontend"),
        volumes: [], grpc: false, configHash: hash(fArgs.join(" ")),
      },
      serviceAccountAnnotations: {},
    }, child);

    // Ruler: global SLIs over the global query; its blocks go to the hub's own bucket.
    const rules = toYaml({ groups: hubRuleGroups({ spokes: spokes.map((s) => ({ name: s.name, environment: s.environment, cloud: s.cloud, region: s.region })) }) });
    const rArgs = ruleArgs({
      queryUrl: `http://${svc(HUB_THANOS.query, ns)}:${HTTP_PORT}`,
      alertmanagerUrl: `http://${svc(`${RELEASES.prometheus}-alertmanager`, ns)}:9093`,
      evalInterval: "1m",
      labels: { [RULER_REPLICA_LABEL]: "$(POD_NAME)", source: `${config.stack}-ruler` },
      // Dropped before alerting: both replicas then send the same alert, which the Alertmanager deduplicates.
      replicaLabel: RULER_REPLICA_LABEL,
    });
    new ThanosWorkload(`${name}-${HUB_THANOS.rule}`, {
      params: {
        name: HUB_THANOS.rule, namespace: ns, image, labels, kind: "StatefulSet", replicas: 2, args: rArgs,
        selector: { "app.kubernetes.io/name": "thanos-rule", "app.kubernetes.io/instance": "hub" },
        podLabels: {}, serviceAccountName: SERVICE_ACCOUNTS.ruler, resources: containerResources(config.profile, "thanos-rule"),
        volumes: [
          { name: "objstore", mountPath: "/etc/thanos/objstore", kind: "secret", secretName: HUB_SECRETS.ownObjstore },
          { name: "rules", mountPath: PATHS.rules, kind: "configMap", configMapName: HUB_THANOS.rulesConfigMap },
          // Derived series only, uploaded to the hub's bucket every 2h; nothing on a disk.
          { name: "data", mountPath: PATHS.data, kind: "memory", sizeLimit: memory },
        ],
        grpc: true,
        // The global query finds both replicas through `dnssrv+` (hubEndpoints).
        headless: true,
        // The ruler reads rule files at start: a new spoke's rules roll it (the query is not restarted).
        configHash: hash(`${rArgs.join(" ")}\n${rules}`),
      },
      serviceAccountAnnotations: identity("sidecar").apply((i) => i.annotations),
      podLabels: identity("sidecar").apply((i) => i.podLabels),
      reloadableFiles: { "global.yaml": rules },
      reloadableConfigMapName: HUB_THANOS.rulesConfigMap,
    }, { ...child, dependsOn: [ownObjstore] });

    // Alertmanager: per-environment routing; spokes reach it through the mTLS proxy.
    const amConfig = new k8s.core.v1.Secret(`${name}-alertmanager-config`, {
      metadata: { name: HUB_SECRETS.alertmanagerConfig, namespace: ns, labels: k8sLabels(config, "alertmanager") },
      stringData: {
        [ALERTMANAGER_CONFIG_KEY]: pulumi.secret(toYaml(hubAlertmanagerConfig({ prodUrl: config.alerting.receivers.prod.url, nonProdUrl: config.alerting.receivers.nonProd.url, deadMansSwitchUrl: config.alerting.deadMansSwitch.url }))),
      },
    }, child);
    chartRelease(`${name}-alertmanager`, {
      release: RELEASES.prometheus,
      chart: "kube-prometheus-stack",
      version: config.versions.kubePrometheusStack,
      namespace: ns,
      values: hubAlertmanagerValues({ profile: config.profile, configSecret: HUB_SECRETS.alertmanagerConfig, tlsSecret: HUB_SECRETS.alertmanagerTls, tlsProxyImage: TLS_PROXY.image, tlsProxyUid: TLS_PROXY.uid }),
      timeout: 900,
    }, { ...child, dependsOn: [amConfig] });

    // Grafana: a generated admin password, one Thanos datasource and one Loki datasource per spoke.
    const admin = new random.RandomPassword(`${name}-grafana-admin-password`, { length: 32, special: false }, child);
    const adminSecret = new k8s.core.v1.Secret(`${name}-grafana-admin`, {
      metadata: { name: HUB_SECRETS.grafanaAdmin, namespace: ns, labels: k8sLabels(config, "grafana") },
      stringData: { "admin-user": "admin", "admin-password": admin.result },
    }, child);
    const sso = config.grafana.sso;
    const oauthSecret = sso === undefined ? undefined : new k8s.core.v1.Secret(`${name}-grafana-oauth`, {
      metadata: { name: HUB_SECRETS.grafanaOauth, namespace: ns, labels: k8sLabels(config, "grafana") },
      stringData: { "client-secret": pulumi.secret(sso.clientSecret) },
    }, child);
    const grafana = pulumi
      .all([pulumi.output(args.grafanaClient.certPem), pulumi.output(args.grafanaClient.keyPem), pulumi.all(spokes.map((s) => s.lokiPassword))])
      .apply(([certPem, keyPem, passwords]) =>
        grafanaValues({
          profile: config.profile,
          admin: { existingSecret: HUB_SECRETS.grafanaAdmin, userKey: "admin-user", passwordKey: "admin-password" },
          rootUrl: `https://${config.endpoints.grafana}`,
          queryFrontendUrl: `http://${svc(HUB_THANOS.frontend, ns)}:${HTTP_PORT}`,
          clientTls: { certPem, keyPem },
          spokes: spokes.map((s, i) => ({
            name: s.name,
            environment: s.environment,
            loki: { url: s.loki.url, serverName: s.loki.serverName, caPem: s.loki.caPem, basicAuthUser: s.loki.username, basicAuthPassword: passwords[i] },
          })),
          spokeNamespace: "observability",
          tlsSecret: args.grafanaTlsSecret,
          sso: sso === undefined ? undefined : {
            name: sso.name, authUrl: sso.authUrl, tokenUrl: sso.tokenUrl, apiUrl: sso.apiUrl, clientId: sso.clientId, scopes: sso.scopes,
            allowedGroups: sso.allowedGroups, groupsAttributePath: sso.groupsAttributePath, roleAttributePath: sso.roleAttributePath,
            clientSecretRef: { name: HUB_SECRETS.grafanaOauth, key: "client-secret" },
          },
        }),
      );
    chartRelease(`${name}-grafana`, { release: RELEASES.grafana, chart: "grafana", version: config.versions.grafana, namespace: ns, values: pulumi.secret(grafana) }, { ...child, dependsOn: [adminSecret, ...(oauthSecret !== undefined ? [oauthSecret] : [])] });

    this.registerOutputs({});
  }
}
