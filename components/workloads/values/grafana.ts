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
 * Grafana's, not the chart's, and cannot be checked against values.yaml. The probes are
 * Kubernetes Probe objects the chart renders verbatim (templates/_pod.tpl
 * `with .Values.readinessProbe` / `.livenessProbe` + toYaml); values.yaml shows only some of
 * their fields (`httpGet.scheme` is Kubernetes').
 */
export const GRAFANA_FREE_FORM_PATHS = ["grafana.ini", "readinessProbe", "livenessProbe"] as const;

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
  /** kubernetes.io/tls Secret Grafana serves HTTPS with (hub CA certificate or the operator's own). */
  tlsSecret: string;
  /** Generic OAuth login; local login is off when set. */
  sso?: GrafanaSso;
}

/** Generic OAuth settings (Grafana "Configure generic OAuth2 authentication"). */
export interface GrafanaSso {
  name: string;
  authUrl: string;
  tokenUrl: string;
  apiUrl: string;
  clientId: string;
  scopes: readonly string[];
  allowedGroups: readonly string[];
  groupsAttributePath?: string;
  roleAttributePath?: string;
  /** The Secret and key holding the client secret; it reaches Grafana as an environment variable only. */
  clientSecretRef: { name: string; key: string };
}

/** Where the TLS Secret is mounted in the Grafana container. */
export const GRAFANA_TLS_DIR = "/etc/grafana/tls";

/**
 * Grafana reads any ini key from `GF_<SECTION>_<KEY>` (dots and dashes as `_`), which takes
 * precedence over grafana.ini (Grafana "Configure Grafana", "Override configuration with
 * environment variables"): the OAuth client secret never appears in the chart's values.
 */
export const GRAFANA_OAUTH_SECRET_ENV = "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET";

/**
 * The `grafana.ini` auth sections. With SSO: `[auth.generic_oauth]` from config, and local login
 * off (`[auth] disable_login_form`, `[auth.basic] enabled = false`), so the only way in is the
 * identity provider (keys from Grafana "Configure generic OAuth2 authentication" and "Configure
 * authentication"). Without SSO the generated admin login stays the way in.
 */
export function grafanaAuthIni(sso: GrafanaSso | undefined): Record<string, Json> {
  if (sso === undefined) return {};
  if (sso.allowedGroups.length > 0 && sso.groupsAttributePath === undefined) throw new Error("grafana.sso.allowedGroups needs groupsAttributePath");
  const oauth: Record<string, Json> = {
    enabled: true,
    name: sso.name,
    client_id: sso.clientId,
    scopes: sso.scopes.join(" "),
    auth_url: sso.authUrl,
    token_url: sso.tokenUrl,
    api_url: sso.apiUrl,
    use_pkce: true,
    allow_sign_up: true,
  };
  // allowed_groups accepts a JSON array (group names may contain spaces).
  if (sso.allowedGroups.length > 0) oauth.allowed_groups = JSON.stringify(sso.allowedGroups);
  if (sso.groupsAttributePath !== undefined) oauth.groups_attribute_path = sso.groupsAttributePath;
  if (sso.roleAttributePath !== undefined) {
    oauth.role_attribute_path = sso.roleAttributePath;
    // A claim that maps to no role denies the login instead of falling back to Viewer.
    oauth.role_attribute_strict = true;
  }
  return { "auth.generic_oauth": oauth, auth: { disable_login_form: true }, "auth.basic": { enabled: false } };
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
    // Grafana terminates TLS itself ([server] protocol/cert_file/cert_key, Grafana "Configure
    // Grafana"): the clouds' L4 load balancers pass TCP through, so no hop is plaintext.
    extraSecretMounts: [{ name: "grafana-tls", mountPath: GRAFANA_TLS_DIR, secretName: p.tlsSecret, readOnly: true }],
    readinessProbe: { httpGet: { path: "/api/health", port: "grafana", scheme: "HTTPS" } },
    livenessProbe: { httpGet: { path: "/api/health", port: "grafana", scheme: "HTTPS" }, initialDelaySeconds: 60, timeoutSeconds: 30, failureThreshold: 10 },
    ...(p.sso !== undefined ? { envValueFrom: { [GRAFANA_OAUTH_SECRET_ENV]: { secretKeyRef: { name: p.sso.clientSecretRef.name, key: p.sso.clientSecretRef.key } } } } : {}),
    "grafana.ini": {
      server: { root_url: p.rootUrl, protocol: "https", cert_file: `${GRAFANA_TLS_DIR}/tls.crt`, cert_key: `${GRAFANA_TLS_DIR}/tls.key` },
      ...grafanaAuthIni(p.sso),
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
