/**
 * Values of the grafana-community grafana chart 12.11.1 on the hub: one Thanos datasource
 * on the global query frontend, one Loki datasource per spoke (basic auth + client
 * certificate + the spoke's CA), a folder per environment with its fleet overview.
 */
import type { Profile } from "../../config";
import { containerResources } from "../resources";
import { fleetDashboard, THANOS_DATASOURCE_UID } from "./dashboard";
import type { HelmValues, Json } from "./types";

/**
 * `grafana.ini` is Grafana's own ini file rendered from a map: its sections and keys are
 * Grafana's, not the chart's, and cannot be checked against values.yaml.
 */
export const GRAFANA_FREE_FORM_PATHS = ["grafana.ini"] as const;

/** A spoke as Grafana sees it. */
export interface GrafanaSpoke {
  /** Stack name (`dev-01`), also its `cluster` label. */
  name: string;
  environment: string;
  loki: {
    /** `https://loki.dev-01.obs.example.eu` */
    url: string;
    /** The name the spoke's gateway certificate carries. */
    serverName: string;
    /** The spoke CA bundle the gateway certificate must chain to. */
    caPem: string;
    basicAuthUser: string;
    /** Secret: the caller keeps it a Pulumi secret; it lands only in the chart's Secret. */
    basicAuthPassword: string;
  };
}

/** Everything the hub's Grafana release depends on. */
export interface GrafanaParams {
  profile: Profile;
  /** Existing Secret with the admin user and password. */
  admin: { existingSecret: string; userKey: string; passwordKey: string };
  /** Public URL of Grafana (`https://grafana.ops-01.obs.example.eu`). */
  rootUrl: string;
  /** In-cluster URL of the global Thanos query frontend. */
  queryFrontendUrl: string;
  /** Grafana's client certificate from the hub CA, presented to every spoke's Loki gateway (secret key). */
  clientTls: { certPem: string; keyPem: string };
  spokes: readonly GrafanaSpoke[];
  /** Namespace of the platform's workloads on the spokes (for the dashboards' egress panel). */
  spokeNamespace: string;
}

/** Uid of a spoke's Loki datasource. */
export function lokiDatasourceUid(spoke: string): string {
  return `loki-${spoke}`;
}

/** The datasource provisioning document (apiVersion 1): N Loki datasources plus the global Thanos one. */
export function grafanaDatasources(p: Pick<GrafanaParams, "queryFrontendUrl" | "clientTls" | "spokes">): Json {
  const names = new Set<string>();
  for (const s of p.spokes) {
    if (names.has(s.name)) throw new Error(`spoke ${s.name} listed twice`);
    names.add(s.name);
    if (!URL.canParse(s.loki.url) || new URL(s.loki.url).protocol !== "https:") throw new Error(`spoke ${s.name}: Loki URL must be https:// (got ${s.loki.url})`);
  }
  const thanos: Json = {
    name: "Thanos (global)",
    uid: THANOS_DATASOURCE_UID,
    type: "prometheus",
    access: "proxy",
    url: p.queryFrontendUrl,
    isDefault: true,
    editable: false,
    jsonData: { prometheusType: "Thanos", httpMethod: "POST", timeInterval: "30s" },
  };
  const loki: Json[] = [...p.spokes]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => ({
      name: `Loki ${s.name}`,
      uid: lokiDatasourceUid(s.name),
      type: "loki",
      access: "proxy",
      url: s.loki.url,
      editable: false,
      basicAuth: true,
      basicAuthUser: s.loki.basicAuthUser,
      jsonData: { tlsAuth: true, tlsAuthWithCACert: true, serverName: s.loki.serverName, maxLines: 1000, timeout: 60 },
      secureJsonData: {
        basicAuthPassword: s.loki.basicAuthPassword,
        tlsCACert: s.loki.caPem,
        tlsClientCert: p.clientTls.certPem,
        tlsClientKey: p.clientTls.keyPem,
      },
    }));
  return { apiVersion: 1, datasources: [thanos, ...loki] };
}

/**
 * The hub's Grafana values.
 *
 * Persistence is off: datasources, folders and dashboards are provisioned from this code,
 * so a restart loses nothing the fleet needs, and the hub keeps no disk that could hold
 * what it reads. The price: UI-made dashboards and sessions do not survive a restart (one
 * replica, since SQLite state is per pod); dashboards belong in code anyway.
 */
export function grafanaValues(p: GrafanaParams): HelmValues {
  const r = containerResources(p.profile, "grafana");
  const environments = [...new Set(p.spokes.map((s) => s.environment))].sort();
  return {
    replicas: 1,
    admin: { existingSecret: p.admin.existingSecret, userKey: p.admin.userKey, passwordKey: p.admin.passwordKey },
    persistence: { enabled: false },
    initChownData: { enabled: false },
    testFramework: { enabled: false },
    resources: { requests: { ...r.requests }, limits: { ...r.limits } },
    "grafana.ini": {
      server: { root_url: p.rootUrl },
      // Nothing calls home: no usage reports, update checks, news feed or avatars from grafana.com/gravatar.
      analytics: { reporting_enabled: false, check_for_updates: false, check_for_plugin_updates: false, feedback_links_enabled: false },
      news: { news_feed_enabled: false },
      security: { disable_gravatar: true, cookie_secure: true },
      users: { allow_sign_up: false },
      "auth.anonymous": { enabled: false },
    },
    // Under `secret`, the chart renders the provisioning file into a Secret, not a ConfigMap: it holds passwords and a key.
    datasources: { "datasources.yaml": { secret: grafanaDatasources(p) } },
    dashboardProviders: {
      "dashboardproviders.yaml": {
        apiVersion: 1,
        providers: environments.map((env) => ({
          name: env,
          orgId: 1,
          folder: env,
          type: "file",
          disableDeletion: true,
          editable: false,
          options: { path: `/var/lib/grafana/dashboards/${env}` },
        })),
      },
    },
    dashboards: Object.fromEntries(
      environments.map((env) => [
        env,
        {
          "fleet-overview": {
            json: JSON.stringify(fleetDashboard({ environment: env, clusters: p.spokes.filter((s) => s.environment === env).map((s) => s.name), namespace: p.spokeNamespace })),
          },
        },
      ]),
    ),
  };
}
