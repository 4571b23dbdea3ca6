/**
 * Alertmanager configurations and the Prometheus-side entry that forwards a spoke's alerts to
 * the hub, as pure renderers.
 *
 * Forwarding is Prometheus's job, not Alertmanager's: Alertmanager has no receiver that speaks
 * the Alertmanager API (a webhook to `/api/v2/alerts` posts the wrong payload), while Prometheus
 * sends every alert to each Alertmanager listed under `alerting.alertmanagers`. So the spoke's
 * Prometheus lists its local Alertmanager and the hub's, the latter over mutual TLS.
 *
 * Receiver URLs are secrets; they come in as plain strings and the caller keeps the rendered
 * config a secret.
 */
import { stringify } from "yaml";

/** A route of the routing tree (upstream keys). */
export interface AmRoute {
  receiver?: string;
  matchers?: string[];
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  continue?: boolean;
  routes?: AmRoute[];
}

/** A receiver; one without any `*_configs` drops what it receives. */
export interface AmReceiver {
  name: string;
  webhook_configs?: { url: string; send_resolved: boolean }[];
}

/** An inhibition: while a source alert fires, matching targets with equal labels stay quiet. */
export interface AmInhibitRule {
  source_matchers: string[];
  target_matchers: string[];
  equal: string[];
}

/** An Alertmanager configuration file. */
export interface AlertmanagerConfig {
  global: { resolve_timeout: string };
  route: AmRoute & { receiver: string };
  receivers: AmReceiver[];
  inhibit_rules: AmInhibitRule[];
}

/** Receiver names, fixed so that routing tests and dashboards can name them. */
export const RECEIVERS = {
  deadMansSwitch: "dead-mans-switch",
  spoke: "spoke-default",
  prod: "prod",
  nonProd: "non-prod",
  discard: "discard",
} as const;

function webhookUrl(kind: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${kind} must be an absolute URL`);
  }
  // Never echo the URL: it usually embeds a token.
  if (parsed.protocol !== "https:") throw new Error(`${kind} must use https (receiver URLs carry tokens)`);
  return url;
}

function webhook(name: string, url: string, sendResolved: boolean): AmReceiver {
  return { name, webhook_configs: [{ url, send_resolved: sendResolved }] };
}

/** Seconds between two heartbeats at the dead-man's switch (configure its period to this). */
export const HEARTBEAT_PERIOD_SECONDS = 60;

/**
 * The heartbeat route: at once, then every {@link HEARTBEAT_PERIOD_SECONDS}, so the dead-man's
 * switch can use a short timeout. It must not `continue`: a heartbeat reaching a human receiver
 * is noise every minute.
 *
 * Alertmanager re-sends only at a flush of the group, every `group_interval`, and only when the
 * last notification (logged after its send completed) is older than `repeat_interval`
 * (alertmanager v0.34.0 notify/dedup_stage.go, `needsUpdate`). So equal values, 1m and 1m,
 * notify every 2 minutes (prometheus/alertmanager#676; seen on the loopback fleet). Flushing every
 * 10s with a repeat of 55s makes the first flush past the repeat the one at 60s.
 */
function heartbeatRoute(matchers: string[]): AmRoute {
  return { matchers, receiver: RECEIVERS.deadMansSwitch, group_by: ["..."], group_wait: "0s", group_interval: "10s", repeat_interval: "55s", continue: false };
}

/**
 * kube-prometheus-stack's `InfoInhibitor` (default rules, severity `none`) fires while a
 * namespace has `severity="info"` alerts and no warning or critical one. It is meant to be
 * "routed to a null receiver and configured to inhibit alerts with severity="info""
 * (kube-prometheus-stack 88.5.3 templates/prometheus/rules-1.14/general.rules.yaml, the rule's
 * description; runbook https://runbooks.prometheus-operator.dev/runbooks/general/infoinhibitor/),
 * which is also what the chart's default Alertmanager config does (values.yaml
 * `alertmanager.config`). Routed to a real receiver it would notify on every info alert.
 */
export const INFO_INHIBITOR = "InfoInhibitor";

/** The first route of every tree: InfoInhibitor goes nowhere. */
const INFO_INHIBITOR_ROUTE: AmRoute = { matchers: [`alertname="${INFO_INHIBITOR}"`], receiver: RECEIVERS.discard, continue: false };

/**
 * While InfoInhibitor fires, info alerts of the same namespace stay quiet; `cluster` is part of
 * the equality so one spoke's InfoInhibitor never silences another spoke's info alerts at the hub.
 */
const INFO_INHIBITOR_INHIBITS_INFO: AmInhibitRule = {
  source_matchers: [`alertname="${INFO_INHIBITOR}"`],
  target_matchers: ['severity="info"'],
  equal: ["cluster", "namespace"],
};

/** Critical silences warning of the same alert on the same object. */
const CRITICAL_INHIBITS_WARNING: AmInhibitRule = {
  source_matchers: ['severity="critical"'],
  target_matchers: ['severity=~"warning|info"'],
  equal: ["alertname", "cluster", "namespace"],
};

/** Parameters of {@link spokeAlertmanagerConfig}. */
export interface SpokeAlertmanagerParams {
  /** Webhook receiving the spoke's own alerts. */
  receiverUrl: string;
  /** Webhook of the external dead-man's switch, fed by the Watchdog heartbeat. */
  deadMansSwitchUrl: string;
}

/**
 * The spoke Alertmanager: the Watchdog goes only to the dead-man's switch, InfoInhibitor
 * nowhere (it only inhibits), everything else to the spoke's receiver. (Forwarding to the hub is {@link prometheusAdditionalAlertmanager}.)
 */
export function spokeAlertmanagerConfig(p: SpokeAlertmanagerParams): AlertmanagerConfig {
  return {
    global: { resolve_timeout: "5m" },
    route: {
      receiver: RECEIVERS.spoke,
      group_by: ["alertname", "namespace"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: [INFO_INHIBITOR_ROUTE, heartbeatRoute(['alertname="Watchdog"'])],
    },
    receivers: [
      webhook(RECEIVERS.spoke, webhookUrl("receiverUrl", p.receiverUrl), true),
      // A heartbeat never resolves while healthy; a resolve message would only confuse the switch.
      webhook(RECEIVERS.deadMansSwitch, webhookUrl("deadMansSwitchUrl", p.deadMansSwitchUrl), false),
      { name: RECEIVERS.discard },
    ],
    inhibit_rules: [INFO_INHIBITOR_INHIBITS_INFO, CRITICAL_INHIBITS_WARNING],
  };
}

/** Parameters of {@link hubAlertmanagerConfig}. */
export interface HubAlertmanagerParams {
  /** Webhook paging for `environment="prod"`. */
  prodUrl: string;
  /** Webhook for every other environment, and for alerts without one. */
  nonProdUrl: string;
  /** Webhook of the hub's external dead-man's switch. */
  deadMansSwitchUrl: string;
}

/**
 * The hub Alertmanager: the hub's Watchdog to the dead-man's switch only, `prod` to the prod
 * receiver, everything else to non-prod.
 *
 * Spoke heartbeats (`watchdog="spoke"`) are discarded should a spoke forward one: feeding them
 * to the hub's switch would keep it quiet while the hub itself is dead. The hub watches spoke
 * heartbeats through its `SpokeWatchdogMissing` rules instead.
 */
export function hubAlertmanagerConfig(p: HubAlertmanagerParams): AlertmanagerConfig {
  return {
    global: { resolve_timeout: "5m" },
    route: {
      receiver: RECEIVERS.nonProd,
      group_by: ["alertname", "cluster", "namespace"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: [
        // Spokes forward their InfoInhibitor with every other alert.
        INFO_INHIBITOR_ROUTE,
        { matchers: ['alertname="Watchdog"', 'watchdog="spoke"'], receiver: RECEIVERS.discard, continue: false },
        heartbeatRoute(['alertname="Watchdog"']),
        { matchers: ['environment="prod"'], receiver: RECEIVERS.prod, repeat_interval: "1h", continue: false },
      ],
    },
    receivers: [
      webhook(RECEIVERS.prod, webhookUrl("prodUrl", p.prodUrl), true),
      webhook(RECEIVERS.nonProd, webhookUrl("nonProdUrl", p.nonProdUrl), true),
      webhook(RECEIVERS.deadMansSwitch, webhookUrl("deadMansSwitchUrl", p.deadMansSwitchUrl), false),
      { name: RECEIVERS.discard },
    ],
    inhibit_rules: [
      // An unreachable spoke also misses its heartbeat and may raise stale warnings through
      // forwarded alerts: one page for the cause, not one per symptom.
      { source_matchers: ['alertname="SpokeUnreachable"'], target_matchers: ['alertname="SpokeWatchdogMissing"'], equal: ["cluster"] },
      { source_matchers: ['alertname="SpokeUnreachable"'], target_matchers: ['severity=~"warning|info"'], equal: ["cluster"] },
      INFO_INHIBITOR_INHIBITS_INFO,
      CRITICAL_INHIBITS_WARNING,
    ],
  };
}

/** Parameters of {@link prometheusAdditionalAlertmanager}. */
export interface HubAlertmanagerTarget {
  /** The hub Alertmanager's base URL (`https://host[:port][/prefix]`). */
  url: string;
  /** Client certificate issued by the spoke CA (the hub trusts it). */
  tlsCertFile: string;
  keyFile: string;
  /** CA bundle the hub Alertmanager's server certificate is verified against. */
  caFile: string;
  /** Name the hub's server certificate must carry. */
  serverName: string;
  /** Keep heartbeats local (default true): see {@link hubAlertmanagerConfig}. */
  dropHeartbeats?: boolean;
}

/** A `relabel_config` as Prometheus writes it. */
export interface RelabelConfig {
  source_labels: string[];
  regex: string;
  action: "drop" | "keep";
}

/** One `alerting.alertmanagers[]` entry of a Prometheus configuration. */
export interface PrometheusAlertmanagerEntry {
  scheme: "https";
  path_prefix?: string;
  api_version: "v2";
  timeout: string;
  tls_config: { cert_file: string; key_file: string; ca_file: string; server_name: string; min_version: "TLS13"; insecure_skip_verify: false };
  static_configs: { targets: string[] }[];
  /** Per-Alertmanager alert relabelling; needs Prometheus ≥ 2.51. */
  alert_relabel_configs?: RelabelConfig[];
}

/**
 * The Prometheus `alerting.alertmanagers[]` entry that sends a spoke's alerts to the hub
 * Alertmanager over mutual TLS (kube-prometheus-stack:
 * `prometheus.prometheusSpec.additionalAlertManagerConfigs`). The certificate files come from
 * a Secret listed in `prometheusSpec.secrets` (see {@link prometheusSecretFiles}).
 */
export function prometheusAdditionalAlertmanager(p: HubAlertmanagerTarget): PrometheusAlertmanagerEntry {
  let u: URL;
  try {
    u = new URL(p.url);
  } catch {
    throw new Error(`hub Alertmanager url '${p.url}' is not an absolute URL`);
  }
  if (u.protocol !== "https:") throw new Error(`hub Alertmanager url '${p.url}' must use https: alerts cross clouds`);
  if (u.search !== "" || u.hash !== "" || u.username !== "" || u.password !== "") throw new Error(`hub Alertmanager url '${p.url}' must be host, port and path only`);
  for (const [k, v] of Object.entries({ tlsCertFile: p.tlsCertFile, keyFile: p.keyFile, caFile: p.caFile })) {
    if (!v.startsWith("/")) throw new Error(`${k} '${v}' must be an absolute path inside the Prometheus pod`);
  }
  if (p.serverName.length === 0) throw new Error("serverName must not be empty: the hub's certificate is verified against it");
  const entry: PrometheusAlertmanagerEntry = {
    scheme: "https",
    api_version: "v2",
    timeout: "10s",
    tls_config: { cert_file: p.tlsCertFile, key_file: p.keyFile, ca_file: p.caFile, server_name: p.serverName, min_version: "TLS13", insecure_skip_verify: false },
    static_configs: [{ targets: [`${u.hostname}:${u.port === "" ? "443" : u.port}`] }],
  };
  const prefix = u.pathname.replace(/\/+$/, "");
  if (prefix !== "") entry.path_prefix = prefix;
  if (p.dropHeartbeats ?? true) entry.alert_relabel_configs = [{ source_labels: ["alertname"], regex: "Watchdog", action: "drop" }];
  return entry;
}

/** Where the Prometheus Operator mounts a Secret listed in `prometheusSpec.secrets`. */
export function prometheusSecretFiles(secretName: string): { certFile: string; keyFile: string; caFile: string } {
  const dir = `/etc/prometheus/secrets/${secretName}`;
  return { certFile: `${dir}/tls.crt`, keyFile: `${dir}/tls.key`, caFile: `${dir}/ca.crt` };
}

/** YAML text of a rendered configuration (Alertmanager config, rule file, ...). */
export function toYaml(value: object): string {
  // No anchors/aliases: Alertmanager and the Operator read plain YAML, and shared objects
  // (the inhibit rule both configs use) must be written out in full.
  return stringify(value, { aliasDuplicateObjects: false, lineWidth: 0 });
}
