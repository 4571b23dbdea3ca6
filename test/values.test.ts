/**
 * Helm values renderers, for the example fleet (dev-01 AWS, prod-01 GCP simple-scalable,
 * stag-01 Azure, hub ops-01): every key they set exists in the pinned chart's values.yaml,
 * Loki's values pass the chart's JSON schema, the HA pair differs only by the replica label,
 * every container is sized, logs stay in the cluster, and Grafana reaches each spoke's Loki
 * with basic auth and a client certificate.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import Ajv from "ajv";
import { knownStacks, readStackFile, validateStackConfig, type HubConfig, type SpokeConfig, type StackConfig } from "../components/config";
import { HUB_ALERTMANAGER, LOKI_GATEWAY, RELEASES } from "../components/endpoints";
import { externalLabels } from "../components/labels";
import { REPLICA_LABEL } from "../components/thanos/args";
import { CONTAINERS, containerResources, spokeReplicas, totalRequests } from "../components/workloads/resources";
import {
  ALLOY_STREAM_LABELS,
  alloyConfig,
  alloyValues,
  fleetDashboard,
  grafanaValues,
  hubAlertmanagerValues,
  isInClusterUrl,
  kubePrometheusStackValues,
  kubeProxyScraped,
  LOKI_HTPASSWD_KEY,
  lokiPushUrl,
  lokiValues,
  type GrafanaSpoke,
  type HelmValues,
  type LokiStorage,
  type WorkloadIdentity,
} from "../components/workloads/values";
import { unknownKeyPaths } from "./support/reference";
import { s3Endpoint } from "../components/clouds/s3/context";
import { renderS3CompatibleLokiStorage } from "../components/clouds/s3/render";
import { lokiStorageSchema } from "../components/workloads/values/loki";
import { TLS_PROXY_IMAGE } from "../components/workloads/hub";

const REPO = resolve(__dirname, "..");

function load(stack: string): StackConfig {
  const f = readStackFile(REPO, stack);
  const r = validateStackConfig(structuredClone(f.values), { stack, secretKeys: f.secretKeys, knownStacks: knownStacks(REPO) });
  if (!r.ok) throw new Error(`${stack}: ${JSON.stringify(r.issues)}`);
  return r.config;
}

function spoke(stack: string): SpokeConfig {
  const c = load(stack);
  if (c.role !== "spoke") throw new Error(`${stack} is not a spoke`);
  return c;
}

function hub(stack: string): HubConfig {
  const c = load(stack);
  if (c.role !== "hub") throw new Error(`${stack} is not a hub`);
  return c;
}

/** What each cloud module hands a workload: the shapes of IRSA/Pod Identity, GKE and AKS workload identity. */
function identity(c: StackConfig, sa: string): WorkloadIdentity {
  switch (c.cloud) {
    case "aws":
      return c.cluster.identity === "irsa"
        ? { serviceAccountName: sa, annotations: { "eks.amazonaws.com/role-arn": `arn:aws:iam::${c.cluster.accountId}:role/${c.stack}-${sa}` }, podLabels: {} }
        : { serviceAccountName: sa, annotations: {}, podLabels: {} };
    case "gcp":
      return { serviceAccountName: sa, annotations: { "iam.gke.io/gcp-service-account": `${c.stack}-${sa}@${c.cluster.project}.iam.gserviceaccount.com` }, podLabels: {} };
    case "azure":
      return { serviceAccountName: sa, annotations: { "azure.workload.identity/client-id": "00000000-0000-0000-0000-00000000beef" }, podLabels: { "azure.workload.identity/use": "true" } };
    case "s3":
      // No workload identity on S3-compatible services: each workload's key is in its own Secret.
      return { serviceAccountName: sa, annotations: {}, podLabels: {} };
  }
}

function lokiStorage(c: StackConfig): LokiStorage {
  const bucket = `${c.stack}-logs`;
  switch (c.cloud) {
    case "aws":
      return { type: "s3", bucketNames: { chunks: bucket, ruler: bucket }, s3: { region: c.region, endpoint: `s3.${c.region}.amazonaws.com`, s3ForcePathStyle: false, insecure: false, disable_dualstack: true } };
    case "gcp":
      return { type: "gcs", bucketNames: { chunks: bucket, ruler: bucket, admin: bucket }, gcs: { enableHttp2: true } };
    case "azure":
      return { type: "azure", bucketNames: { chunks: "logs", ruler: "logs" }, azure: { accountName: "stag01logs", useFederatedToken: true } };
    case "s3":
      return lokiStorageSchema.parse(renderS3CompatibleLokiStorage({ bucket, endpoint: s3Endpoint(c) }).storage);
  }
}

function kpsValues(c: SpokeConfig): HelmValues {
  return kubePrometheusStackValues({
    profile: c.profile,
    labels: externalLabels(c),
    retention: c.retention,
    thanos: { version: c.versions.thanos, objstore: { name: "thanos-objstore", key: "objstore.yaml" }, grpcTls: { secretName: "thanos-sidecar-grpc-tls", requireClientCert: true } },
    sidecarIdentity: identity(c, "thanos-sidecar"),
    alertmanagerConfigSecret: "alertmanager-spoke-config",
    kubeProxy: kubeProxyScraped(c),
    hubAlertmanager: c.alerting.forwardToHub ? { url: "https://alertmanager.ops-01.obs.example.eu", serverName: "alertmanager.ops-01.obs.example.eu", clientTlsSecret: "alertmanager-hub-client-tls" } : undefined,
  });
}

function lokiFor(c: SpokeConfig): HelmValues {
  return lokiValues({
    profile: c.profile,
    mode: c.loki.mode,
    storage: lokiStorage(c),
    retention: c.retention,
    identity: identity(c, "loki"),
    gateway: { htpasswdSecret: "loki-gateway-htpasswd", tlsSecret: "loki-gateway-tls" },
  });
}

function alloyFor(c: SpokeConfig): HelmValues {
  return alloyValues({ profile: c.profile, labels: externalLabels(c), lokiPushUrl: lokiPushUrl(c.namespace, c.loki.mode) });
}

const PEM = (what: string): string => `-----BEGIN CERTIFICATE-----\n${Buffer.from(what).toString("base64")}\n-----END CERTIFICATE-----\n`;

function grafanaFor(h: HubConfig, spokes: readonly SpokeConfig[]): HelmValues {
  const gs: GrafanaSpoke[] = spokes.map((s) => ({
    name: s.stack,
    environment: s.environment,
    loki: { url: `https://${s.endpoints.loki}`, serverName: s.endpoints.loki, caPem: PEM(`${s.stack} CA`), basicAuthUser: `hub-${s.stack}`, basicAuthPassword: `pw-${s.stack}` },
  }));
  return grafanaValues({
    profile: h.profile,
    admin: { existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" },
    rootUrl: `https://${h.endpoints.grafana}`,
    queryFrontendUrl: `http://thanos-query-frontend.${h.namespace}.svc.cluster.local:10902`,
    clientTls: { certPem: PEM("grafana client"), keyPem: "-----BEGIN PRIVATE KEY-----\nZ3JhZmFuYQ==\n-----END PRIVATE KEY-----\n" },
    spokes: gs,
    spokeNamespace: "observability",
    tlsSecret: "grafana-tls",
  });
}

/** The value at a dotted path (keys containing dots are not reachable, which these tests do not need). */
function at(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const k of path.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function obj(v: unknown): Record<string, unknown> {
  assert.ok(v !== null && typeof v === "object" && !Array.isArray(v), `expected an object, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

function arr(v: unknown): unknown[] {
  assert.ok(Array.isArray(v), `expected an array, got ${JSON.stringify(v)}`);
  return v;
}

import { ALLOY_REF, GRAFANA_REF, KPS_REF, LABEL_MAPS, LOKI_REF, LOKI_SCHEMA } from "./support/charts";

const SPOKES = ["dev-01", "prod-01", "stag-01"] as const;

describe("reference check guards", () => {
  it("unknownKeyPaths reports a misspelled key (and not its correctly spelled sibling)", () => {
    const doc = { prometheus: { prometheusSpec: { replicas: 2, replicaExternalLabelNmae: "prometheus_replica" } } };
    assert.deepEqual(unknownKeyPaths(doc, KPS_REF), ["prometheus.prometheusSpec.replicaExternalLabelNmae"]);
    assert.deepEqual(unknownKeyPaths({ gateway: { basicAuth: { existingSecrets: "x" } } }, LOKI_REF), ["gateway.basicAuth.existingSecrets"]);
  });

  it("free-form maps are open, but only below the listed path", () => {
    const doc = { prometheus: { serviceAccount: { annotations: { "eks.amazonaws.com/role-arn": "arn" }, anotations: {} } } };
    assert.deepEqual(unknownKeyPaths(doc, KPS_REF, LABEL_MAPS.kps), ["prometheus.serviceAccount.anotations"]);
  });

  it("the Loki schema rejects what the chart rejects", () => {
    const validate = new Ajv({ strict: false, allErrors: true }).compile(LOKI_SCHEMA as object);
    assert.equal(validate({ gateway: { replicas: "two" } }), false);
  });
});

describe("kube-prometheus-stack 88.5.3 (spokes)", () => {
  for (const stack of SPOKES) {
    const c = spoke(stack);
    const v = kpsValues(c);

    it(`${stack}: every key exists in values.yaml`, () => {
      assert.deepEqual(unknownKeyPaths(v, KPS_REF, LABEL_MAPS.kps), []);
    });

    it(`${stack}: an HA pair whose external labels differ only by ${REPLICA_LABEL}`, () => {
      assert.equal(at(v, "prometheus.prometheusSpec.replicas"), 2);
      assert.equal(at(v, "prometheus.prometheusSpec.replicaExternalLabelName"), REPLICA_LABEL);
      assert.deepEqual(at(v, "prometheus.prometheusSpec.externalLabels"), { cluster: stack, environment: c.environment, region: c.region, cloud: c.cloud });
      // Per-replica values come only from the operator's replica label: nothing else in the spec is indexed by replica.
      assert.ok(!Object.keys(obj(at(v, "prometheus.prometheusSpec.externalLabels"))).includes(REPLICA_LABEL));
      assert.equal(at(v, "prometheus.prometheusSpec.replicaExternalLabelNameClear"), undefined);
      assert.ok(["soft", "hard"].includes(String(at(v, "prometheus.prometheusSpec.podAntiAffinity"))));
      assert.equal(at(v, "prometheus.prometheusSpec.retention"), c.retention.local);
    });

    it(`${stack}: the two replicas' effective external labels (as the operator sets them) differ in ${REPLICA_LABEL} only`, () => {
      // The operator adds `prometheus="<ns>/<name>"` to every replica and the replica label set to the pod name.
      const spec = obj(at(v, "prometheus.prometheusSpec"));
      const effective = (i: number): Record<string, string> => ({
        ...(spec.externalLabels as Record<string, string>),
        prometheus: `${c.namespace}/${RELEASES.prometheus}-prometheus`,
        [String(spec.replicaExternalLabelName)]: `prometheus-${RELEASES.prometheus}-prometheus-${i}`,
      });
      const pods = Array.from({ length: Number(spec.replicas) }, (_, i) => effective(i));
      assert.equal(pods.length, 2);
      const differing = Object.keys(pods[0]).filter((k) => pods[0][k] !== pods[1][k]);
      assert.deepEqual(differing, [REPLICA_LABEL]);
      for (const k of ["cluster", "environment", "region", "cloud"]) assert.equal(pods[0][k], pods[1][k], k);
    });

    it(`${stack}: Thanos sidecar uploads from a Secret reference and serves gRPC with mTLS`, () => {
      const thanos = obj(at(v, "prometheus.prometheusSpec.thanos"));
      assert.deepEqual(thanos.objectStorageConfig, { existingSecret: { name: "thanos-objstore", key: "objstore.yaml" } });
      assert.deepEqual(thanos.grpcServerTlsConfig, { certFile: "/etc/thanos/tls/server/tls.crt", keyFile: "/etc/thanos/tls/server/tls.key", caFile: "/etc/thanos/tls/server/ca.crt" });
      const mount = obj(arr(thanos.volumeMounts)[0]);
      const volume = obj(arr(at(v, "prometheus.prometheusSpec.volumes"))[0]);
      assert.equal(mount.name, volume.name, "the sidecar mounts the pod volume holding its certificate");
      assert.deepEqual(volume.secret, { secretName: "thanos-sidecar-grpc-tls" });
      assert.equal(thanos.image, `quay.io/thanos/thanos:${c.versions.thanos}`);
      assert.equal(at(v, "prometheus.thanosService.enabled"), true);
      assert.equal(at(v, "prometheus.serviceAccount.name"), "thanos-sidecar");
      assert.deepEqual(at(v, "prometheus.serviceAccount.annotations"), identity(c, "thanos-sidecar").annotations);
      assert.deepEqual(at(v, "prometheus.prometheusSpec.podMetadata.labels"), identity(c, "thanos-sidecar").podLabels);
    });

    it(`${stack}: Alertmanager config comes from a Secret${c.alerting.forwardToHub ? "; alerts are also forwarded to the hub over mTLS" : ""}`, () => {
      assert.equal(at(v, "alertmanager.config"), undefined, "no receivers (webhook secrets) in values");
      assert.equal(at(v, "alertmanager.alertmanagerSpec.useExistingSecret"), true);
      assert.equal(at(v, "alertmanager.alertmanagerSpec.additionalConfig.configSecret"), "alertmanager-spoke-config");
      assert.equal(at(v, "fullnameOverride"), RELEASES.prometheus);
      assert.equal(`${RELEASES.prometheus}-alertmanager`, HUB_ALERTMANAGER.selector.alertmanager, "the CR name the hub's selector expects");
      if (!c.alerting.forwardToHub) {
        assert.deepEqual(at(v, "prometheus.prometheusSpec.additionalAlertManagerConfigs"), []);
        assert.deepEqual(at(v, "prometheus.prometheusSpec.secrets"), []);
      } else {
        const am = obj(arr(at(v, "prometheus.prometheusSpec.additionalAlertManagerConfigs"))[0]);
        assert.equal(am.scheme, "https");
        assert.deepEqual(am.static_configs, [{ targets: ["alertmanager.ops-01.obs.example.eu:443"] }]);
        const tls = obj(am.tls_config);
        assert.equal(tls.cert_file, "/etc/prometheus/secrets/alertmanager-hub-client-tls/tls.crt");
        assert.equal(tls.server_name, "alertmanager.ops-01.obs.example.eu");
        assert.deepEqual(at(v, "prometheus.prometheusSpec.secrets"), ["alertmanager-hub-client-tls"]);
      }
      assert.equal(at(v, "defaultRules.create"), true, "default rules (with the Watchdog) kept");
      assert.equal(at(v, "grafana.enabled"), false, "Grafana only on the hub");
    });
  }

  it("without forwarding, no hub endpoint and no client secret", () => {
    const c = spoke("dev-01");
    const v = kubePrometheusStackValues({
      profile: "small",
      labels: externalLabels(c),
      retention: c.retention,
      thanos: { version: "v0.42.4", objstore: { name: "o", key: "k" }, grpcTls: { secretName: "t", requireClientCert: false } },
      sidecarIdentity: identity(c, "p"),
      alertmanagerConfigSecret: "am",
      kubeProxy: false,
    });
    assert.deepEqual(at(v, "prometheus.prometheusSpec.additionalAlertManagerConfigs"), []);
    assert.deepEqual(at(v, "prometheus.prometheusSpec.secrets"), []);
    assert.equal(at(v, "prometheus.prometheusSpec.thanos.grpcServerTlsConfig.caFile"), undefined);
  });

  it("hub variant: Alertmanager only, mTLS on the port the hub exposes", () => {
    const v = hubAlertmanagerValues({ profile: "medium", configSecret: "alertmanager-hub-config", tlsSecret: "alertmanager-tls", tlsProxyImage: TLS_PROXY_IMAGE, tlsProxyUid: 65532 });
    assert.deepEqual(unknownKeyPaths(v, KPS_REF, LABEL_MAPS.kps), []);
    assert.equal(at(v, "prometheus.enabled"), false);
    const proxy = obj(arr(at(v, "alertmanager.alertmanagerSpec.containers"))[0]);
    assert.ok(arr(proxy.args).includes(`--listen=0.0.0.0:${HUB_ALERTMANAGER.targetPort}`));
    assert.ok(arr(proxy.args).includes("--cacert=/etc/tls/alertmanager/ca.crt"));
    assert.deepEqual(obj(arr(proxy.ports)[0]).containerPort, HUB_ALERTMANAGER.targetPort);
    assert.deepEqual(proxy.resources, { ...containerResources("medium", "tls-proxy") });
    assert.equal(at(v, "alertmanager.config"), undefined);
  });
});

describe("loki 18.11.0 (spokes)", () => {
  const validate = new Ajv({ strict: false, allErrors: true }).compile(LOKI_SCHEMA as object);

  for (const stack of SPOKES) {
    const c = spoke(stack);
    const v = lokiFor(c);

    it(`${stack}: every key exists in values.yaml, and the values pass values.schema.json`, () => {
      assert.deepEqual(unknownKeyPaths(v, LOKI_REF, LABEL_MAPS.loki), []);
      const ok = validate(v);
      assert.ok(ok, JSON.stringify(validate.errors));
    });

    it(`${stack}: ${c.loki.mode}, tsdb v13, retention ${c.retention.logs} enforced by the compactor`, () => {
      const scalable = c.loki.mode === "simple-scalable";
      assert.equal(at(v, "deploymentMode"), scalable ? "SimpleScalable" : "Monolithic");
      const r = spokeReplicas(c.profile, c.loki.mode);
      assert.equal(at(v, "singleBinary.replicas"), scalable ? 0 : 1);
      assert.equal(at(v, "write.replicas"), r.lokiWrite);
      assert.equal(at(v, "loki.commonConfig.replication_factor"), scalable ? 3 : 1);
      const schema = obj(arr(at(v, "loki.schemaConfig.configs"))[0]);
      assert.equal(schema.store, "tsdb");
      assert.equal(schema.schema, "v13");
      assert.equal(schema.object_store, lokiStorage(c).type);
      const days = Number(/^([0-9]+)d$/.exec(c.retention.logs)?.[1]);
      assert.equal(at(v, "loki.limits_config.retention_period"), `${days * 24}h`);
      assert.equal(at(v, "loki.compactor.retention_enabled"), true);
      assert.equal(at(v, "loki.compactor.delete_request_store"), lokiStorage(c).type);
      assert.equal(at(v, "minio.enabled"), false);
      assert.equal(at(v, "loki.storage.type"), lokiStorage(c).type);
      assert.deepEqual(at(v, "loki.storage.bucketNames"), { chunks: lokiStorage(c).bucketNames.chunks, ruler: lokiStorage(c).bucketNames.ruler });
      assert.deepEqual(at(v, "serviceAccount.annotations"), identity(c, "loki").annotations);
      assert.deepEqual(at(v, "loki.podLabels"), identity(c, "loki").podLabels);
    });

    it(`${stack}: the gateway requires basic auth and, on ${LOKI_GATEWAY.targetPort}, a client certificate`, () => {
      assert.equal(at(v, "gateway.basicAuth.enabled"), true);
      assert.equal(at(v, "gateway.basicAuth.existingSecret"), "loki-gateway-htpasswd");
      assert.equal(LOKI_HTPASSWD_KEY, ".htpasswd");
      const snippet = String(at(v, "gateway.nginxConfig.httpSnippet"));
      assert.match(snippet, new RegExp(`listen ${LOKI_GATEWAY.targetPort} ssl;`));
      assert.match(snippet, /ssl_verify_client on;/);
      assert.match(snippet, /ssl_client_certificate \/etc\/nginx\/tls\/ca\.crt;/);
      assert.match(snippet, /auth_basic_user_file \/etc\/nginx\/secrets\/\.htpasswd;/);
      assert.doesNotMatch(snippet, /\{\{/, "the chart passes the snippet through tpl");
      // Edges' users may only push (no query, delete or admin path through their credentials).
      assert.match(snippet, /if \(\$remote_user ~ "\^edge-"\) \{ set \$edge_scope "edge"; \}/);
      assert.match(snippet, /if \(\$uri != "\/loki\/api\/v1\/push"\) \{ set \$edge_scope "\$\{edge_scope\}:other"; \}/);
      assert.match(snippet, /if \(\$edge_scope = "edge:other"\) \{ return 403; \}/);
      assert.ok(snippet.indexOf("return 403") < snippet.indexOf("location /"), "refused before any proxying");
      const mount = obj(arr(at(v, "gateway.extraVolumeMounts"))[0]);
      assert.equal(mount.mountPath, "/etc/nginx/tls");
      assert.deepEqual(obj(arr(at(v, "gateway.extraVolumes"))[0]).secret, { secretName: "loki-gateway-tls" });
    });
  }

  it("static credentials in the storage block are refused", () => {
    const c = spoke("dev-01");
    const storage = { ...lokiStorage(c), s3: { region: "eu-central-1", secretAccessKey: "x", accessKeyId: "y" } };
    assert.throws(() => lokiValues({ profile: "small", mode: "single-binary", storage: storage as LokiStorage, retention: c.retention, identity: identity(c, "loki"), gateway: { htpasswdSecret: "h", tlsSecret: "t" } }), /secretAccessKey|Unrecognized/);
  });
});

describe("alloy 1.11.1 (spokes)", () => {
  for (const stack of SPOKES) {
    const c = spoke(stack);
    const v = alloyFor(c);
    const config = String(at(v, "alloy.configMap.content"));

    it(`${stack}: every key exists in values.yaml; a DaemonSet reading /var/log`, () => {
      assert.deepEqual(unknownKeyPaths(v, ALLOY_REF, LABEL_MAPS.alloy), []);
      assert.equal(at(v, "controller.type"), "daemonset");
      assert.equal(at(v, "alloy.mounts.varlog"), true);
      assert.equal(at(v, "alloy.enableReporting"), false);
    });

    it(`${stack}: pushes only to the local Loki, with the required labels`, () => {
      const urls = [...config.matchAll(/url\s*=\s*"([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(urls, [lokiPushUrl(c.namespace, c.loki.mode)]);
      assert.ok(urls.every(isInClusterUrl));
      assert.equal((config.match(/loki\.write "/g) ?? []).length, 1, "one destination");
      assert.match(config, /field = "spec\.nodeName=" \+ sys\.env\("HOSTNAME"\)/);
      for (const label of ["namespace", "workload", "pod", "container"]) assert.match(config, new RegExp(`target_label\\s*=\\s*"${label}"`));
      assert.match(config, new RegExp(`cluster\\s*=\\s*"${stack}"`));
      assert.match(config, new RegExp(`environment\\s*=\\s*"${c.environment}"`));
      assert.match(config, new RegExp(`region\\s*=\\s*"${c.region}"`));
      assert.deepEqual([...ALLOY_STREAM_LABELS].sort(), ["cluster", "container", "environment", "namespace", "pod", "region", "workload"]);
      assert.match(config, /\/var\/log\/pods\/\*\$1\/\*\.log/);
    });
  }

  it("an off-cluster destination is refused", () => {
    for (const url of ["https://loki.dev-01.obs.example.eu/loki/api/v1/push", "http://10.0.0.1:3100/loki/api/v1/push", "http://loki.other.example.com:3100/", "http://user:pw@loki.observability.svc:3100/"]) {
      assert.equal(isInClusterUrl(url), false, url);
      assert.throws(() => alloyConfig({ labels: { cluster: "x", environment: "dev", region: "r" }, lokiPushUrl: url }), /only to the spoke's own Loki/);
    }
    assert.equal(isInClusterUrl("http://loki-write.observability.svc.cluster.local:3100/loki/api/v1/push"), true);
  });
});

describe("grafana 12.11.1 (hub)", () => {
  const h = hub("ops-01");
  const spokes = h.spokes.map(spoke);
  const v = grafanaFor(h, spokes);

  it("every key exists in values.yaml", () => {
    assert.deepEqual(unknownKeyPaths(v, GRAFANA_REF, LABEL_MAPS.grafana), []);
  });

  it("N+1 datasources: the global Thanos one, and per spoke a Loki with basic auth and TLS client auth", () => {
    const doc = obj(obj(obj(at(v, "datasources"))["datasources.yaml"]).secret);
    const ds = arr(doc.datasources).map(obj);
    assert.equal(ds.length, spokes.length + 1);
    assert.equal(ds.filter((d) => d.type === "prometheus").length, 1);
    assert.equal(ds.find((d) => d.type === "prometheus")?.url, `http://thanos-query-frontend.${h.namespace}.svc.cluster.local:10902`);
    for (const s of spokes) {
      const d = ds.find((x) => x.uid === `loki-${s.stack}`);
      assert.ok(d, s.stack);
      assert.equal(d.type, "loki");
      assert.equal(d.url, `https://${s.endpoints.loki}`);
      assert.equal(d.basicAuth, true);
      assert.equal(d.basicAuthUser, `hub-${s.stack}`);
      const json = obj(d.jsonData);
      assert.equal(json.tlsAuth, true);
      assert.equal(json.tlsAuthWithCACert, true);
      assert.equal(json.serverName, s.endpoints.loki);
      const secure = obj(d.secureJsonData);
      assert.equal(secure.basicAuthPassword, `pw-${s.stack}`);
      for (const k of ["tlsCACert", "tlsClientCert", "tlsClientKey"]) assert.ok(String(secure[k]).startsWith("-----BEGIN"), k);
    }
  });

  it("secrets go to the chart's Secret, the admin password comes from an existing one, nothing calls home", () => {
    assert.ok("secret" in obj(obj(at(v, "datasources"))["datasources.yaml"]), "datasources rendered into a Secret, not a ConfigMap");
    assert.deepEqual(at(v, "admin"), { existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" });
    assert.equal(at(v, "adminPassword"), undefined);
    const ini = obj(obj(v)["grafana.ini"]);
    assert.equal(obj(ini.analytics).reporting_enabled, false);
    assert.equal(obj(ini.security).disable_gravatar, true);
    assert.equal(at(v, "persistence.enabled"), false);
  });

  it("a folder per environment, each with its fleet overview", () => {
    const envs = [...new Set(spokes.map((s) => s.environment))].sort();
    const providers = arr(obj(obj(at(v, "dashboardProviders"))["dashboardproviders.yaml"]).providers).map(obj);
    assert.deepEqual(providers.map((p) => p.folder), envs);
    for (const p of providers) assert.equal(obj(p.options).path, `/var/lib/grafana/dashboards/${String(p.name)}`);
    for (const env of envs) {
      const dash = obj(JSON.parse(String(at(v, `dashboards.${env}.fleet-overview.json`))));
      const exprs = arr(dash.panels).flatMap((p) => arr(obj(p).targets).map((t) => String(obj(t).expr)));
      for (const metric of ["up{", "thanos_shipper_upload", "loki_distributor_bytes_received_total", "container_network_transmit_bytes_total"]) {
        assert.ok(exprs.some((e) => e.includes(metric)), `${env}: ${metric}`);
      }
      assert.ok(exprs.every((e) => e.includes(`environment="${env}"`)));
    }
  });

  it("a spoke listed twice or a plain-HTTP Loki is refused", () => {
    const s = spokes[0];
    const base = { name: s.stack, environment: s.environment, loki: { url: `https://${s.endpoints.loki}`, serverName: s.endpoints.loki, caPem: "x", basicAuthUser: "u", basicAuthPassword: "p" } };
    const params = { profile: "small" as const, admin: { existingSecret: "a", userKey: "u", passwordKey: "p" }, rootUrl: "https://g", queryFrontendUrl: "http://q:10902", clientTls: { certPem: "c", keyPem: "k" }, spokeNamespace: "observability", tlsSecret: "grafana-tls" };
    assert.throws(() => grafanaValues({ ...params, spokes: [base, base] }), /listed twice/);
    assert.throws(() => grafanaValues({ ...params, spokes: [{ ...base, loki: { ...base.loki, url: "http://loki" } }] }), /https/);
  });

  it("the fleet dashboard names only the listed clusters", () => {
    const d = obj(fleetDashboard({ environment: "prod", clusters: ["prod-01", "prod-02"], namespace: "observability" }));
    assert.match(JSON.stringify(d.panels), /cluster=~\\"prod-01\|prod-02\\"/);
  });
});

describe("resources", () => {
  /** Every `resources` object anywhere in a values document, by path. */
  function resourcesIn(doc: unknown, path = ""): [string, unknown][] {
    if (doc === null || typeof doc !== "object") return [];
    if (Array.isArray(doc)) return doc.flatMap((x, i) => resourcesIn(x, `${path}[${i}]`));
    // A claim template's `resources` is storage, not a container's.
    return Object.entries(doc).flatMap(([k, x]) => (k === "resources" ? [[`${path}.${k}`, x] as [string, unknown]] : k === "volumeClaimTemplate" ? [] : resourcesIn(x, `${path}.${k}`)));
  }

  it("every profile sizes every container with requests and limits, limits not below requests", () => {
    const cpu = (q: string): number => Number(q.replace(/m$/, ""));
    const mem = (q: string): number => Number(q.replace(/Mi$/, ""));
    for (const profile of ["small", "medium", "large"] as const) {
      for (const name of CONTAINERS) {
        const r = containerResources(profile, name);
        assert.ok(cpu(r.limits.cpu) >= cpu(r.requests.cpu) && mem(r.limits.memory) >= mem(r.requests.memory), `${profile}/${name}`);
      }
    }
  });

  for (const stack of SPOKES) {
    it(`${stack}: every container the values size has requests and limits`, () => {
      const c = spoke(stack);
      const docs: [string, HelmValues][] = [["kps", kpsValues(c)], ["loki", lokiFor(c)], ["alloy", alloyFor(c)]];
      for (const [name, doc] of docs) {
        const found = resourcesIn(doc);
        assert.ok(found.length > 0, name);
        for (const [path, r] of found) {
          const o = obj(r);
          assert.ok(obj(o.requests).cpu && obj(o.requests).memory && obj(o.limits).cpu && obj(o.limits).memory, `${name}${path}`);
        }
      }
      // Containers the charts would run unsized are switched off instead.
      const loki = lokiFor(c);
      for (const off of ["chunksCache.enabled", "resultsCache.enabled", "lokiCanary.enabled", "sidecar.rules.enabled", "gateway.metrics.enabled", "test.enabled"]) assert.equal(at(loki, off), false, off);
      const kps = kpsValues(c);
      for (const p of ["prometheus.prometheusSpec.resources", "prometheus.prometheusSpec.thanos.resources", "alertmanager.alertmanagerSpec.resources", "prometheusOperator.resources", "prometheusOperator.prometheusConfigReloader.resources", "prometheusOperator.admissionWebhooks.patch.resources", "kube-state-metrics.resources", "prometheus-node-exporter.resources"]) {
        assert.ok(at(kps, p) !== undefined, p);
      }
    });
  }

  it("grafana is sized and runs no unsized helper containers", () => {
    const h = hub("ops-01");
    const v = grafanaFor(h, h.spokes.map(spoke));
    assert.deepEqual(at(v, "resources"), { ...containerResources(h.profile, "grafana") });
    assert.equal(at(v, "initChownData.enabled"), false);
    assert.equal(at(v, "testFramework.enabled"), false);
  });

  it("totalRequests sums cluster workloads and counts per-node agents separately", () => {
    const small = totalRequests({ profile: "small", lokiMode: "single-binary", thanos: { "thanos-compact": 1 } });
    // prometheus 2x(200m,1024) + sidecar 2x(50,128) + alertmanager 1x(20,64) + reloader 3x(10,32)
    // + operator (50,128) + ksm (20,64) + loki single binary (200,512) + gateway 1x(20,32) + compactor (100,512)
    assert.deepEqual(small.cluster, { cpuMillicores: 400 + 100 + 20 + 30 + 50 + 20 + 200 + 20 + 100, memoryMiB: 2048 + 256 + 64 + 96 + 128 + 64 + 512 + 32 + 512 });
    // node-exporter (20,32) + alloy (50,128) + its reloader (10,32)
    assert.deepEqual(small.perNode, { cpuMillicores: 80, memoryMiB: 192 });
    assert.equal(small.counted.perNode["node-exporter"], 1);
    const large = totalRequests({ profile: "large", lokiMode: "simple-scalable", thanos: { "thanos-compact": 1, "thanos-store": 2, "thanos-query": 2 } });
    assert.equal(large.counted.cluster["loki-write"], 3);
    assert.equal(large.counted.cluster["loki-single-binary"], undefined);
    assert.ok(large.cluster.cpuMillicores > small.cluster.cpuMillicores && large.cluster.memoryMiB > small.cluster.memoryMiB);
  });
});
