/**
 * Every place where the loopback fleet departs from the plan, in one table: printed by the
 * harness at start and reproduced in README ("Loopback fleet"). Anything not listed here is
 * the plan's own value (args, flags, TLS files, rules, routes, timeouts), with only the paths
 * rewritten to the harness directories and the listen addresses to the pod's loopback address.
 */
import { parse, stringify } from "yaml";
import { edgeRuleGroups } from "../components/alerting/edges";
import { durationSeconds } from "../components/alerting/rules";
import { isAlertingRule } from "../components/alerting/types";
import { isObj } from "./plan";

export interface Substitution {
  what: string;
  plan: string;
  harness: string;
  why: string;
}

/** Time compression used by `--check` only (the interactive fleet runs the plan's durations). */
export const CHECK_TIME_FACTOR = 20;

export const SUBSTITUTIONS: readonly Substitution[] = [
  { what: "object storage", plan: "S3 / GCS / Azure Blob bucket of the objstore file", harness: "Thanos FILESYSTEM bucket, one directory per bucket; every other objstore key is dropped", why: "no cloud here" },
  { what: "read-only bucket credential", plan: "the hub store gateway's projected ServiceAccount token, exchanged by the spoke's cloud for read and list only (hubReader.auth key: S3 keys / GCS key / SAS)", harness: "the same bucket directory remounted read-only (mount -o remount,bind,ro) in the hub store gateway's private mount namespace", why: "the cloud enforces read-only; here the kernel does" },
  { what: "projected ServiceAccount token", plan: "kubelet writes a token of the hub cluster's issuer for the spoke cloud's audience into the federated store gateway (AWS_WEB_IDENTITY_TOKEN_FILE and friends)", harness: "a stand-in file at the same path; the credential environment is kept but nothing reads it (the bucket is a directory)", why: "no cluster issuer, no cloud STS" },
  { what: "cluster DNS names", plan: "CoreDNS of each cluster (*.svc.cluster.local), public DNS of the exposed endpoints", harness: "one authoritative resolver per cluster on 127.0.<n>.53 (dns-packet), bind-mounted as the pod's /etc/resolv.conf with kubelet's search path; dnssrv+/dns+ discovery kept", why: "no cluster here" },
  { what: "pod network", plan: "one IP per pod, listen 0.0.0.0 / :port, in-pod localhost", harness: "one loopback address 127.0.<n>.<m> per pod inside the harness's network namespace; listen and in-pod localhost addresses rewritten to it, ports kept", why: "loopback only" },
  { what: "ClusterIP Services", plan: "a virtual IP load-balanced by kube-proxy", harness: "A records of the selected pods, rotated on each answer", why: "no kube-proxy" },
  { what: "LoadBalancer Services", plan: "cloud NLB with loadBalancerSourceRanges", harness: "in-harness TCP forwarder on its own loopback address, port to targetPort; source ranges NOT enforced (every client is on loopback)", why: "no cloud LB" },
  { what: "Deployment replicas", plan: "2 replicas of stateless Deployments", harness: "1 pod per Deployment (StatefulSets, Prometheus and Alertmanager keep their replica counts)", why: "2 cores" },
  { what: "prometheus-operator", plan: "operator v0.93 renders Prometheus/Alertmanager StatefulSets and config from the kube-prometheus-stack CRs", harness: "localfleet/operator.ts renders the same args (cited from pkg/prometheus/server/statefulset.go, pkg/alertmanager/statefulset.go at v0.93.0) from the helm-rendered CRs", why: "no Kubernetes API" },
  { what: "scrape discovery", plan: "ServiceMonitors through kubernetes_sd_configs", harness: "static_configs: each Prometheus scrapes both replicas (job kps-prometheus), the synthetic target (job loopback-synthetic) and the zone receiver's routers (their planned ServiceMonitor: job thanos-receive-router), with the labels the operator's relabeling gives (job, namespace, service, pod, instance); other ServiceMonitors are not scraped", why: "no Kubernetes API" },
  { what: "Alertmanager receiver URLs", plan: "team secrets (offline stand-ins https://offline.invalid/...)", harness: "http://<webhook>/<same path>: the harness's webhook receiver records every notification", why: "no external receivers" },
  { what: "ghostunnel sidecar", plan: "ghostunnel server --listen --target --cert --key --cacert --allow-all", harness: "Node TLS server with the same certificate, key and client CA, client certificate required and verified, forwarding to --target", why: "ghostunnel is not built here" },
  { what: "shipped blocks", plan: "blocks Prometheus cuts every 2h", harness: "one pre-made block per Prometheus replica (promtool tsdb create-blocks-from openmetrics, 3h..2h15m ago) placed in its data dir before start; the real sidecar ships it, and the store gateways start once it is shipped (their first bucket sync finds it, as a running fleet's would)", why: "a 2h block does not finish in 3 minutes" },
  { what: "probe alert (addition)", plan: "(none)", harness: "rule file loopback-probe.yaml on each spoke Prometheus: LoopbackFleetForwardProbe = vector(1), no for:, so a spoke alert reaches the hub at once (the plan's spoke Watchdog is dropped before the hub by design)", why: "every spoke alert of the plan waits 5m or more" },
  { what: "rule timing (--check only)", plan: "ruler --eval-interval=1m, alert for: durations", harness: `divided by ${CHECK_TIME_FACTOR} in the harness's copy of the hub rules and ruler args (for: 5m -> ${divideDuration("5m", CHECK_TIME_FACTOR)}, eval 1m -> ${divideDuration("1m", CHECK_TIME_FACTOR)}); Alertmanager routes and timers unchanged`, why: "SpokeUnreachable for: 5m does not fit in 3 minutes" },
  { what: "edge cluster", plan: "the edge's own cluster: kube-prometheus-stack in agent mode (operator, PrometheusAgent, node-exporter, kube-state-metrics), Alloy, the heartbeat CronJob", harness: "only the PrometheusAgent's pod, rendered by localfleet/operator.ts from the helm-rendered CR (prometheus --agent, the operator's config with the plan's remote write, client certificate and key from the planned remote-write-tls Secret); it scrapes only itself; its resolver answers the public names, so it dials the receiver's planned URL; no Alloy, no heartbeat", why: "the data path under test is the agent's remote write" },
  { what: "edge-silent timing (--check only)", plan: "EdgeRemoteWriteSilent window 10m, for: 5m, evaluated every 30s; routers scraped every 30s (ServiceMonitor); edge agent scrape_interval 30s", harness: `the spoke's copy of the zone-receiver.edges group re-rendered by edgeRuleGroups with window ${edgeWindow("10m", CHECK_TIME_FACTOR)} (its minimum; 10m / ${CHECK_TIME_FACTOR} would be ${divideDuration("10m", CHECK_TIME_FACTOR)}) and for: ${divideDuration("5m", CHECK_TIME_FACTOR)}, group interval ${divideDuration("30s", CHECK_TIME_FACTOR)}; the routers' scrape interval and the edge agent's scrape interval divided by ${CHECK_TIME_FACTOR} (${divideDuration("30s", CHECK_TIME_FACTOR)})`, why: "a 10m window and 5m for: do not fit in 4 minutes" },
];

/** The table as printed text. */
export function substitutionTable(): string {
  const rows = SUBSTITUTIONS.map((s, i) => `${String(i + 1).padStart(2)}. ${s.what}: ${s.plan}\n    -> ${s.harness} (${s.why})`);
  return `Substitutions (everything else is the plan's):\n${rows.join("\n")}`;
}

/** A bucket's identity in an objstore config (the directory name of its FILESYSTEM stand-in). */
export function bucketId(objstoreYaml: string): string | undefined {
  const doc = parse(objstoreYaml) as unknown;
  if (!isObj(doc) || !isObj(doc.config)) return undefined;
  const c = doc.config;
  switch (doc.type) {
    case "S3":
    case "GCS":
      return typeof c.bucket === "string" ? c.bucket : undefined;
    case "AZURE":
      return typeof c.storage_account === "string" && typeof c.container === "string" ? `${c.storage_account}-${c.container}` : undefined;
    default:
      return undefined;
  }
}

/** Substitution 1: the objstore file as a FILESYSTEM bucket at `dir`. */
export function filesystemObjstore(dir: string): string {
  // Thanos objstore FILESYSTEM provider (https://thanos.io/tip/thanos/storage.md/#filesystem).
  return stringify({ type: "FILESYSTEM", config: { directory: dir } });
}

/** Substitution 10: receiver URLs of an Alertmanager config to the webhook, path kept. */
export function receiversToWebhook(alertmanagerYaml: string, webhookBase: string): string {
  return alertmanagerYaml.replace(/https:\/\/offline\.invalid(\/[^\s"']*)/g, (_m, path: string) => `${webhookBase}${path}`);
}

/** Substitution 14: `for:` and group `interval:` durations divided by `factor`. */
export function compressRuleTimes(rulesYaml: string, factor: number): string {
  const doc = parse(rulesYaml) as unknown;
  if (!isObj(doc) || !Array.isArray(doc.groups)) return rulesYaml;
  for (const g of doc.groups as unknown[]) {
    if (!isObj(g) || !Array.isArray(g.rules)) continue;
    for (const r of g.rules as unknown[]) if (isObj(r) && typeof r.for === "string") r.for = divideDuration(r.for, factor);
  }
  return stringify(doc, { lineWidth: 0 });
}

/** The edge-silent window divided by `factor`, but never below the renderer's minimum (2m, components/alerting/edges.ts). */
export function edgeWindow(planned: string, factor: number): string {
  return `${Math.max(120, Math.round(durationSeconds(planned) / factor))}s`;
}

const canonical = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (isObj(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));

/**
 * Substitution "edge-silent timing": the spoke's `zone-receiver.edges` group as the plan renders
 * it (edgeRuleGroups with its defaults; anything else is refused, so the harness never runs a
 * rule the plan does not have) re-rendered by the same renderer with the window and `for:`
 * divided by `factor` (the window no shorter than the renderer allows) and the group evaluated
 * at the Prometheus evaluation interval divided by `factor`. Other groups are returned as they are.
 */
export function compressEdgeGroups(groups: unknown, p: { stack: string; edges: readonly string[]; evaluationInterval: string; factor: number }): unknown[] {
  if (!Array.isArray(groups)) return [];
  const [planned] = edgeRuleGroups({ stack: p.stack, edges: p.edges });
  return groups.map((g: unknown) => {
    if (!isObj(g) || planned === undefined || g.name !== planned.name) return g;
    if (canonical(g) !== canonical(planned)) throw new Error(`${p.stack}: the planned ${planned.name} group is not edgeRuleGroups' default for edges ${p.edges.join(", ")}; the harness only compresses the renderer's own rule`);
    const rule = planned.rules[0];
    if (!isAlertingRule(rule) || rule.for === undefined) throw new Error(`${planned.name}: no alerting rule with for:`);
    const window = /\[([0-9]+[smhdwy])\]/.exec(rule.expr)?.[1];
    if (window === undefined) throw new Error(`${planned.name}: no range window in ${rule.expr}`);
    const [compressed] = edgeRuleGroups({ stack: p.stack, edges: p.edges, window: edgeWindow(window, p.factor), for: divideDuration(rule.for, p.factor) });
    return { ...compressed, interval: divideDuration(p.evaluationInterval, p.factor) };
  });
}

/** A Prometheus duration divided by `factor`, in whole seconds (at least 1s). */
export function divideDuration(d: string, factor: number): string {
  return `${Math.max(1, Math.round(durationSeconds(d) / factor))}s`;
}
