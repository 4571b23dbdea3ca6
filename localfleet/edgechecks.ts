/**
 * The edge path of `npm run fleet:local` (issue 16, "Edge clusters"): the zone receiver of each
 * spoke that accepts edges (router + ingesters, the plan's args, hashrings and certificates,
 * uploading to the spoke's bucket) and each edge's Prometheus agent (the operator's rendering
 * of the planned PrometheusAgent, writing to the receiver's planned URL with the client
 * certificate the spoke signed), and the `--check` assertions on that path, each judged by the
 * real processes: the receiver's own metrics, the hub's global query, the receiver's answers to
 * remote writes, the blocks the ingester uploaded (read by promtool), and the spoke
 * Prometheus' rule state, ALERTS series and the notifications its Alertmanager sends.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { EDGE_SILENT_ALERT, EDGE_WRITE_SERIES } from "../components/alerting/edges";
import { TENANT_LABEL } from "../components/thanos/receive";
import { EDGE_SECRETS } from "../components/workloads/edge";
import { RECEIVER } from "../components/workloads/receive";
import { SPOKE_SECRETS } from "../components/workloads/spoke";
import { instantQuery, notificationsOf, receiverOf, receiverPath, waitFor, type PromSeries } from "./checks";
import { blockSeries, bucketBlocks, clientCertificate, describeWrite, freshCa, metricLines, planIssuer, remoteWrite, scrape, type ClientPem } from "./edge";
import type { Cluster, LoopbackFleet } from "./fleet";
import { isObj, type Obj } from "./plan";
import type { Pod } from "./pods";
import type { Proc, ProcSpec } from "./proc";

/** The router pods of a zone receiver (a Deployment: `<name>-loopback`). */
export const isRouterPod = (pod: string): boolean => pod.startsWith(`${RECEIVER.router}-`);
/** The ingester pods (a StatefulSet: `<name>-<ordinal>`). */
export const isIngesterPod = (pod: string): boolean => new RegExp(`^${RECEIVER.ingester}-[0-9]+$`).test(pod);
export const isReceiverProc = (p: Pick<ProcSpec, "pod">): boolean => isRouterPod(p.pod) || isIngesterPod(p.pod);

/** A tenant no hashring lists, with a certificate of the spoke's edge CA. */
const UNLISTED_TENANT = "edge-unlisted-01";

/** One edge and the zone receiver it writes to. */
export interface ZonePath {
  edge: Cluster;
  spoke: Cluster;
  routers: Pod[];
  ingesters: Pod[];
  /** The receiver's LoadBalancer (the public name of `receiver.url` resolves to it). */
  lb: { host: string; port: number };
  url: string;
  serverName: string;
  caPem: string;
}

/** The edges of the fleet with their zone receivers, from the plans' contracts. */
export function zonePaths(fleet: LoopbackFleet): ZonePath[] {
  return fleet.edges.map((edge) => {
    const spokeName = (edge.plan.config().spoke as { stack?: unknown } | undefined)?.stack;
    const spoke = fleet.spokes.find((s) => s.stack === spokeName);
    if (spoke === undefined) throw new Error(`edge ${edge.stack}: its zone spoke ${String(spokeName)} is not in the loopback fleet`);
    const r = spoke.plan.outputs.receiver;
    if (!isObj(r) || typeof r.url !== "string" || typeof r.serverName !== "string" || typeof r.caPem !== "string") throw new Error(`${spoke.stack}: no receiver output`);
    if (!Array.isArray(r.edges) || !r.edges.includes(edge.stack)) throw new Error(`${spoke.stack}: its receiver does not accept ${edge.stack} (edges ${JSON.stringify(r.edges)})`);
    const port = Number(new URL(r.url).port);
    const lb = spoke.loadBalancers.find((l) => l.port === port);
    if (lb === undefined) throw new Error(`${spoke.stack}: no LoadBalancer on the receiver port ${port}`);
    const routers = spoke.pods.filter((p) => isRouterPod(p.name));
    const ingesters = spoke.pods.filter((p) => isIngesterPod(p.name));
    if (routers.length === 0 || ingesters.length === 0) throw new Error(`${spoke.stack}: the plan has no receiver router or ingester (${spoke.pods.map((p) => p.name).join(", ")})`);
    return { edge, spoke, routers, ingesters, lb: { host: lb.host, port: lb.port }, url: r.url, serverName: r.serverName, caPem: r.caPem };
  });
}

/** Samples the routers accepted (HTTP 200) for a tenant: the counter the edge-silent rule reads. */
async function acceptedSamples(path: ZonePath): Promise<number> {
  let sum = 0;
  for (const r of path.routers) for (const l of metricLines(await scrape(`${r.ip}:10902`), EDGE_WRITE_SERIES)) if (l.labels.tenant === path.edge.stack && l.labels.code === "200") sum += l.value;
  return sum;
}

/** Starts each zone receiver (router and ingesters) and each edge's agent. */
export function startEdges(fleet: LoopbackFleet): void {
  const paths = zonePaths(fleet);
  for (const s of new Set(paths.map((p) => p.spoke))) fleet.startCluster(s, isReceiverProc);
  for (const p of paths) fleet.startCluster(p.edge);
}

/**
 * Waits until every edge's writes are accepted (--check: before the caller starts the spokes'
 * Prometheus, so the edge-silent rule's first evaluations already see the edges writing and its
 * startup pending time stays far below the compressed `for:`, substitution "edge-silent
 * timing"). Returns a problem, or undefined.
 */
export async function edgesAccepted(fleet: LoopbackFleet): Promise<string | undefined> {
  const paths = zonePaths(fleet);
  try {
    await waitFor("every edge's first accepted remote write", 45_000, async () => {
      for (const p of paths) if ((await acceptedSamples(p)) <= 0) return undefined;
      return true;
    });
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** What the edge-silent judgement needs from the run. */
export interface EdgeSilentWatch {
  path: ZonePath;
  /** When the agent was stopped (ms); undefined if it never was. */
  stopAt?: number;
  problem?: string;
}

type Attempt = (name: string, fn: () => Promise<[boolean, string]>) => Promise<void>;

const fmt = (v: unknown): string => JSON.stringify(v);

/** The Prometheus pods (the operator's StatefulSet) of a spoke. */
const prometheusPodsOf = (c: Cluster): Pod[] => c.pods.filter((p) => p.name.startsWith("prometheus-"));

interface ApiRule {
  name: string;
  query: string;
  duration: number;
  state: string;
  alerts?: { labels: Record<string, string>; state: string; activeAt: string }[];
}

/** The rule named `alert` on a Prometheus (`/api/v1/rules`), with its group's interval. */
async function ruleOf(base: string, alert: string): Promise<{ rule: ApiRule; interval: number } | undefined> {
  const body = (await (await fetch(`http://${base}/api/v1/rules?type=alert`, { signal: AbortSignal.timeout(10_000) })).json()) as { data?: { groups?: { interval: number; rules: ApiRule[] }[] } };
  for (const g of body.data?.groups ?? []) for (const r of g.rules) if (r.name === alert) return { rule: r, interval: g.interval };
  return undefined;
}

/**
 * The edge checks that need the edge writing, run while the hub starts: its writes through the
 * receiver, the receiver's refusals, the edge-silent rule inactive on every spoke Prometheus;
 * then the agent is stopped (the edge-silent alert's clock starts) and the ingesters are
 * restarted gracefully (their heads are cut into blocks and uploaded). Returns what
 * {@link edgeHubCheck} and {@link judgeEdgeSilent} need.
 */
export async function edgeWritePhase(fleet: LoopbackFleet, attempt: Attempt, ctx: { startProblem?: string; log: (m: string) => void }): Promise<EdgeSilentWatch[]> {
  const watches: EdgeSilentWatch[] = [];
  for (const path of zonePaths(fleet)) {
    const edge = path.edge.stack;
    const spoke = path.spoke;
    const watch: EdgeSilentWatch = { path };
    watches.push(watch);

    // 1. Through the receiver: the routers accepted the agent's writes for the tenant its certificate names; the ingesters hold them in the tenant's head.
    await attempt(`${edge} writes through ${spoke.stack}'s zone receiver: router accepts its tenant, ingester head holds it`, async () => {
      if (ctx.startProblem !== undefined) return [false, `the edge's writes were never accepted at start: ${ctx.startProblem}`];
      const lines: string[] = [];
      let ok = true;
      const accepted = await acceptedSamples(path);
      const routerText = (await Promise.all(path.routers.map((r) => scrape(`${r.ip}:10902`)))).join("\n");
      const reloaded = metricLines(routerText, "thanos_receive_config_last_reload_successful").map((l) => l.value);
      const byTenant = metricLines(routerText, EDGE_WRITE_SERIES).filter((l) => l.labels.code === "200").map((l) => l.labels.tenant);
      ok &&= accepted > 0 && reloaded.length > 0 && reloaded.every((v) => v === 1) && byTenant.every((t) => t === edge);
      lines.push(`routers ${path.routers.map((r) => r.name).join(", ")}: ${accepted} samples accepted (HTTP 200) for tenant ${edge} (${EDGE_WRITE_SERIES}), tenants with accepted writes ${fmt([...new Set(byTenant)])}, planned hashrings file loaded ${fmt(reloaded)}`);
      let head = 0;
      for (const i of path.ingesters) {
        const n = metricLines(await scrape(`${i.ip}:10902`), "prometheus_tsdb_head_samples_appended_total").filter((l) => l.labels.tenant === edge).reduce((s, l) => s + l.value, 0);
        head += n;
        lines.push(`ingester ${i.name}: ${n} samples appended to tenant ${edge}'s head (prometheus_tsdb_head_samples_appended_total{tenant="${edge}"})`);
      }
      ok &&= head > 0;
      const agent = path.edge.pods[0];
      const sent = metricLines(await scrape(`${agent.ip}:9090`), "prometheus_remote_storage_samples_total").reduce((s, l) => s + l.value, 0);
      lines.push(`agent ${agent.name}: ${sent} samples sent by its remote-write queue to ${path.url} (resolved by the edge's resolver to the receiver's LoadBalancer ${path.lb.host}:${path.lb.port})`);
      return [ok, lines.join("\n")];
    });

    // 2. The receiver refuses what is not an accepted edge: other CAs in the TLS handshake, an unlisted tenant of the right CA by the hashring.
    await attempt(`${spoke.stack}'s receiver refuses foreign CAs and a tenant outside its hashring`, async () => {
      const target = { host: path.lb.host, port: path.lb.port, servername: path.serverName, ca: path.caPem };
      const tls = path.edge.plan.objectData("Secret", EDGE_SECRETS.remoteWriteTls);
      const planned: ClientPem = { cert: tls["tls.crt"], key: tls["tls.key"] };
      const series = (who: string): Record<string, string> => ({ __name__: "loopback_edge_probe", edge: who });
      const control = await remoteWrite({ ...target, client: planned, series: series(edge) });
      const fresh = await remoteWrite({ ...target, client: await clientCertificate(await freshCa("loopback foreign CA"), edge), series: series(edge) });
      const foreignSpokes: { who: string; r: Awaited<ReturnType<typeof remoteWrite>> }[] = [];
      for (const s of fleet.spokes) {
        // The spoke's internal client certificate: its own CA, not the edge CA the receiver trusts.
        const own = s.plan.objectData("Secret", SPOKE_SECRETS.internalClientTls);
        foreignSpokes.push({ who: `${s.stack}'s internal client certificate (${s.stack}'s spoke CA)`, r: await remoteWrite({ ...target, client: { cert: own["tls.crt"], key: own["tls.key"] }, series: series(edge) }) });
      }
      const none = await remoteWrite({ ...target, series: series(edge) });
      const unlisted = await remoteWrite({ ...target, client: await clientCertificate(planIssuer(spoke.plan, `${spoke.stack}-edges-pki-ca-cert`), UNLISTED_TENANT), series: series(UNLISTED_TENANT) });
      const refusedTls = (r: { status?: number }): boolean => r.status === undefined;
      const routerText = (await Promise.all(path.routers.map((r) => scrape(`${r.ip}:10902`)))).join("\n");
      const unlistedAccepted = metricLines(routerText, EDGE_WRITE_SERIES).filter((l) => l.labels.tenant === UNLISTED_TENANT);
      const ok = control.status === 200 && refusedTls(fresh) && foreignSpokes.every((x) => refusedTls(x.r)) && refusedTls(none) && unlisted.status !== undefined && unlisted.status >= 400 && /no matching hashring to handle tenant/.test(unlisted.body ?? "") && unlistedAccepted.length === 0;
      return [ok, [
        `receiver LoadBalancer ${target.host}:${target.port} (server name ${path.serverName}, verified against ${spoke.stack}'s CA):`,
        `  ${edge}'s planned client certificate (control, same client code): ${describeWrite(control)}`,
        `  a fresh CA's certificate for CN=${edge}: ${describeWrite(fresh)}`,
        ...foreignSpokes.map((x) => `  ${x.who}: ${describeWrite(x.r)}`),
        `  no client certificate: ${describeWrite(none)}`,
        `  ${spoke.stack}'s edge CA, CN=${UNLISTED_TENANT} (not in the hashring): ${describeWrite(unlisted)}; router series for that tenant: ${unlistedAccepted.length}`,
      ].join("\n")];
    });

    // 3. The edge-silent rule sees the edge writing before the agent stops (the alert must then fire because of the stop, not before it).
    const proms = prometheusPodsOf(spoke);
    try {
      await waitFor(`${EDGE_SILENT_ALERT} inactive for ${edge} on every ${spoke.stack} Prometheus`, 40_000, async () => {
        for (const p of proms) {
          const r = await ruleOf(`${p.ip}:9090`, EDGE_SILENT_ALERT);
          if (r === undefined || r.rule.state !== "inactive") return undefined;
        }
        return true;
      });
    } catch (e) {
      watch.problem = `the rule never saw ${edge} writing before the stop: ${e instanceof Error ? e.message : String(e)}`;
    }
    watch.stopAt = Date.now();
    await fleet.stopCluster(path.edge);
    ctx.log(`stopped ${edge}'s agent (${EDGE_SILENT_ALERT} should fire once for it)`);

    // 4. The ingesters' blocks in the spoke's bucket: a graceful stop cuts the head into a block and
    //    uploads it (thanos v0.42.4 cmd/thanos/receive.go startTSDBAndUpload: "uploading the final
    //    cut block before exiting"), as a rolling restart of the StatefulSet does; then they start again.
    await attempt(`${edge}'s samples uploaded by the ingester to ${spoke.stack}'s bucket`, async () => {
      const bucket = fleet.bucketDir(fleet.spokeBucket(spoke));
      const before = new Set(bucketBlocks(bucket).map((b) => b.id));
      const procs: Proc[] = fleet.supervisor.running().filter((p) => p.spec.cluster === spoke.stack && isIngesterPod(p.spec.pod));
      await fleet.supervisor.stop(procs, 30_000);
      const lines: string[] = [];
      let ok = procs.length === path.ingesters.length;
      try {
        for (const p of procs) {
          const uploaded = /the final cut block was uploaded/.test(readFileSync(p.log, "utf8"));
          ok &&= p.exitCode === 0 && uploaded;
          lines.push(`${p.spec.id}: stopped (SIGTERM), exit ${String(p.exitCode)}, log ${uploaded ? "says the final cut block was uploaded" : "has NO final upload"}`);
        }
        const fresh = bucketBlocks(bucket).filter((b) => !before.has(b.id) && b.labels[TENANT_LABEL] === edge);
        ok &&= fresh.length > 0 && fresh.every((b) => b.numSamples > 0 && path.ingesters.some((i) => i.name === b.labels.prometheus_replica));
        for (const b of fresh) {
          const series = blockSeries(bucket, b.id, `up{edge="${edge}"}`);
          ok &&= series.length > 0 && series.every((s) => s.includes(`edge="${edge}"`) && s.includes(`cluster="${edge}"`));
          lines.push(`block ${b.id} in ${bucket}: labels ${fmt(b.labels)}, ${b.numSeries} series, ${b.numSamples} samples, ${new Date(b.minTime).toISOString()}..${new Date(b.maxTime).toISOString()}; promtool tsdb dump --match='up{edge="${edge}"}': ${series.length > 0 ? series.join(" ") : "nothing"}`);
        }
        if (fresh.length === 0) lines.push(`no new block labelled ${TENANT_LABEL}=${edge} in ${bucket}`);
      } finally {
        // Started again whatever the outcome: the spoke's query keeps its ingester endpoint for the checks that follow.
        fleet.startCluster(spoke, (s) => isIngesterPod(s.pod));
      }
      await waitFor("the ingesters ready again", 30_000, async () => {
        for (const i of path.ingesters) if ((await fetch(`http://${i.ip}:10902/-/ready`)).status !== 200) return undefined;
        return true;
      }).then(() => lines.push("ingesters ready again after the restart"), () => {
        ok = false;
        lines.push("ingesters NOT ready within 30s of the restart");
      });
      return [ok, lines.join("\n")];
    });
  }
  return watches;
}

/**
 * The edge's series through the hub's global query, which reaches them through the spoke's local
 * query and its (planned) ingester endpoint. Run after the agent stopped: an instant query finds
 * the last sample within the 5m lookback, and a Prometheus that shuts down writes no staleness
 * markers for its targets (prometheus v3.14.0 scrape/scrape.go: `endOfRunStaleness` first waits
 * for the next scrape tick and returns when the pool's context ends, which `scrapePool.stop`
 * cancels right after its loops stopped), so the edge's last write is what the hub shows; were
 * it otherwise, this check would find no series.
 */
export async function edgeHubCheck(watches: EdgeSilentWatch[], attempt: Attempt, ctx: { globalQuery: string }): Promise<void> {
  for (const { path } of watches) {
    const edge = path.edge.stack;
    const spoke = path.spoke;
    // The hub's global query reads the edge's series through the spoke's local query, whose planned endpoints include the ingesters.
    await attempt(`hub global query returns ${edge}'s series (edge="${edge}") through ${spoke.stack}'s query and its ingester endpoint`, async () => {
      const q = `up{edge="${edge}"}`;
      const got = await waitFor(`${q} through the hub`, 45_000, async () => {
        const r = await instantQuery(ctx.globalQuery, q, { partial: false });
        return r.series.length > 0 ? r : undefined;
      }).catch(async () => instantQuery(ctx.globalQuery, q, { partial: false }));
      const raw = await instantQuery(ctx.globalQuery, q, { dedup: false, partial: false });
      const m: Record<string, string> = got.series[0]?.metric ?? {};
      const expected = path.ingesters.map((i) => i.name).sort();
      let ok = got.series.length === 1 && m.edge === edge && m[TENANT_LABEL] === edge && m.cluster === edge && m.prometheus_replica === undefined;
      ok &&= raw.series.length === expected.length && fmt(raw.series.map((s) => s.metric.prometheus_replica).sort()) === fmt(expected);
      // The spoke query's endpoints, as it discovered them (dnssrv+ of the planned endpoint file).
      const queryPod = spoke.pods.find((p) => p.name.startsWith("thanos-query-"));
      const stores = queryPod === undefined ? {} : ((await (await fetch(`http://${queryPod.ip}:10902/api/v1/stores`, { signal: AbortSignal.timeout(10_000) })).json()) as { data?: Record<string, { name: string; lastError: string | null; labelSets?: Record<string, string>[] }[]> }).data ?? {};
      const all = Object.entries(stores).flatMap(([type, list]) => list.map((x) => ({ type, ...x })));
      const ingesterEndpoints = path.ingesters.map((i) => all.find((x) => x.name === `${i.ip}:10901`));
      ok &&= ingesterEndpoints.every((x) => x !== undefined && x.lastError === null && (x.labelSets ?? []).some((l) => l[TENANT_LABEL] === edge));
      return [ok, [
        `${q} at the hub global query: ${got.series.length} series after deduplication ${fmt(got.series.map((s: PromSeries) => s.metric))}, ${raw.series.length} without (replicas ${fmt(raw.series.map((s) => s.metric.prometheus_replica))}, expected the ingesters ${fmt(expected)})`,
        `${spoke.stack} query ${queryPod?.name ?? "(none)"} endpoints: ${all.map((x) => `${x.type} ${x.name}${x.lastError !== null ? ` (error ${x.lastError})` : ""}`).join(", ")}; the ingesters ${ingesterEndpoints.every((x) => x !== undefined) ? "are" : "are NOT all"} among them with ${TENANT_LABEL}="${edge}"`,
      ].join("\n")];
    });

  }
}

/** Contiguous runs of a range-query series (samples `step` apart), as [first, last] timestamps (s). */
function episodes(values: [number, string][], step: number): [number, number][] {
  const out: [number, number][] = [];
  for (const [t] of values) {
    const last = out[out.length - 1];
    if (last !== undefined && t - last[1] <= step * 1.5) last[1] = t;
    else out.push([t, t]);
  }
  return out;
}

/**
 * The edge-silent alert after the agent stopped: firing on every spoke Prometheus for exactly
 * this edge, one firing episode in each one's ALERTS series over the whole run, beginning after
 * the stop, and one notification with one alert at the spoke's receiver and at the hub (the
 * spoke forwards its alerts).
 */
export async function judgeEdgeSilent(fleet: LoopbackFleet, watches: EdgeSilentWatch[], attempt: Attempt, ctx: { runStart: number; hubAmConfigFile: string }): Promise<void> {
  for (const w of watches) {
    const edge = w.path.edge.stack;
    const spoke = w.path.spoke;
    await attempt(`${EDGE_SILENT_ALERT} fires once for ${edge} after its agent stops`, async () => {
      if (w.stopAt === undefined) return [false, "the agent was never stopped"];
      const stopAt = w.stopAt;
      const proms = prometheusPodsOf(spoke);
      const lines: string[] = [];
      if (w.problem !== undefined) lines.push(w.problem);
      const first = await ruleOf(`${proms[0].ip}:9090`, EDGE_SILENT_ALERT);
      if (first === undefined) return [false, `${spoke.stack}: no ${EDGE_SILENT_ALERT} rule loaded`];
      const window = /\[([0-9]+)([smh])\]/.exec(first.rule.query);
      const windowS = window === null ? 0 : Number(window[1]) * ({ s: 1, m: 60, h: 3600 }[window[2]] ?? 1);
      const planned = plannedEdgeRule(spoke);
      lines.push(`harness rule (substitution "edge-silent timing", --check only): window ${windowS}s, for: ${first.rule.duration}s, evaluated every ${first.interval}s; the plan's: window ${planned.window}, for: ${planned.for}, evaluated every 30s`);
      // Firing on every replica: the window plus for: plus a few evaluations after the last accepted write.
      const deadline = stopAt + (windowS + first.rule.duration + 60) * 1000;
      try {
        await waitFor(`${EDGE_SILENT_ALERT} firing for ${edge} on every ${spoke.stack} Prometheus`, Math.max(1000, deadline - Date.now()), async () => {
          for (const p of proms) {
            const r = await ruleOf(`${p.ip}:9090`, EDGE_SILENT_ALERT);
            if (!(r?.rule.alerts ?? []).some((a) => a.state === "firing" && a.labels.edge === edge)) return undefined;
          }
          return true;
        }, 2000);
      } catch (e) {
        lines.push(e instanceof Error ? e.message : String(e));
      }
      const labels = { alertname: EDGE_SILENT_ALERT, severity: "warning" };
      const amPod = spoke.pods.find((p) => p.name.startsWith("alertmanager-"));
      const amFile = amPod === undefined ? "" : join(fleet.opts.root, spoke.stack, amPod.name, "volumes", "config-out", "alertmanager.env.yaml");
      const spokePath = receiverPath(readFileSync(amFile, "utf8"), receiverOf(amFile, labels));
      const promConfig = (parse(readFileSync(join(fleet.opts.root, spoke.stack, proms[0].name, "volumes", "config-out", "prometheus.env.yaml"), "utf8")) as { global: { external_labels: Record<string, string> } }).global.external_labels;
      const hubLabels: Record<string, string> = { ...promConfig, ...labels };
      delete hubLabels.prometheus_replica;
      const hubPath = receiverPath(readFileSync(ctx.hubAmConfigFile, "utf8"), receiverOf(ctx.hubAmConfigFile, hubLabels));
      const mine = (path: string): { at: number; alerts: number }[] =>
        notificationsOf(fleet.notifications, path, EDGE_SILENT_ALERT)
          .filter((n) => n.status === "firing" && n.alerts.some((a) => a.labels.alertname === EDGE_SILENT_ALERT && a.labels.edge === edge))
          .map((n) => ({ at: n.at, alerts: n.alerts.filter((a) => a.labels.alertname === EDGE_SILENT_ALERT).length }));
      // Alertmanager group_wait as planned (30s) before the first notification. A second alert for
      // the edge (a replica's labels not deduplicated) would be in the same notification: the
      // route groups by alertname and namespace; dev-01's single Alertmanager has no peer to repeat it.
      await waitFor(`${EDGE_SILENT_ALERT} at ${spokePath} and ${hubPath}`, 60_000, () => (mine(spokePath).length > 0 && mine(hubPath).length > 0 ? true : undefined)).catch(() => undefined);
      let ok = w.problem === undefined;
      for (const p of proms) {
        const r = await ruleOf(`${p.ip}:9090`, EDGE_SILENT_ALERT);
        const alerts = r?.rule.alerts ?? [];
        const firing = alerts.filter((a) => a.state === "firing");
        const activeAt = firing[0] !== undefined ? Date.parse(firing[0].activeAt) : NaN;
        // activeAt is when the condition last became true: after the stop, not a startup pending carried over.
        ok &&= firing.length === 1 && firing[0].labels.edge === edge && firing[0].labels.tenant === edge && activeAt > stopAt;
        // Every firing sample of the run (ALERTS, one sample per evaluation).
        const step = Math.max(1, first.interval);
        const range = new URLSearchParams({ query: `ALERTS{alertname="${EDGE_SILENT_ALERT}",alertstate="firing"}`, start: String(Math.floor(ctx.runStart / 1000)), end: String(Math.ceil(Date.now() / 1000)), step: String(step) });
        const body = (await (await fetch(`http://${p.ip}:9090/api/v1/query_range?${range.toString()}`, { signal: AbortSignal.timeout(10_000) })).json()) as { data?: { result?: { metric: Record<string, string>; values: [number, string][] }[] } };
        const series = body.data?.result ?? [];
        const eps = series.map((s) => ({ edge: s.metric.edge, eps: episodes(s.values, step) }));
        // The pending time at start (the rule's fallback 0 until two router scrapes show an increase): how far it stayed below for:.
        const pendingRange = new URLSearchParams({ query: `ALERTS{alertname="${EDGE_SILENT_ALERT}",alertstate="pending",edge="${edge}"}`, start: String(Math.floor(ctx.runStart / 1000)), end: String(Math.floor(stopAt / 1000)), step: String(step) });
        const pendingBody = (await (await fetch(`http://${p.ip}:9090/api/v1/query_range?${pendingRange.toString()}`, { signal: AbortSignal.timeout(10_000) })).json()) as { data?: { result?: { values: [number, string][] }[] } };
        const startupPending = (pendingBody.data?.result ?? []).flatMap((r) => episodes(r.values, step)).map(([a, b]) => b - a + step);
        const firstFiring = eps[0]?.eps[0]?.[0];
        ok &&= series.length === 1 && eps[0].edge === edge && eps[0].eps.length === 1 && firstFiring !== undefined && firstFiring * 1000 > stopAt;
        lines.push(`${p.name}: ${firing.length} firing alert(s) ${fmt(firing.map((a) => ({ edge: a.labels.edge, tenant: a.labels.tenant, activeAt: a.activeAt })))}; ALERTS firing over the run: ${series.length} series, episodes ${fmt(eps.map((x) => ({ edge: x.edge, episodes: x.eps.map(([a, b]) => `${((a * 1000 - stopAt) / 1000).toFixed(0)}s..${((b * 1000 - stopAt) / 1000).toFixed(0)}s after the stop`) })))}; pending before the stop (at start, until the rule saw the edge write): ${startupPending.length === 0 ? "never" : startupPending.map((d) => `~${d}s`).join(", ")} (for: ${first.rule.duration}s)`);
      }
      const atSpoke = mine(spokePath);
      const atHub = mine(hubPath);
      ok &&= atSpoke.length === 1 && atSpoke[0].alerts === 1 && atHub.length === 1 && atHub[0].alerts === 1;
      lines.push(`notifications: ${atSpoke.length} at ${spoke.stack}'s receiver ${spokePath} (alerts ${fmt(atSpoke.map((n) => n.alerts))}, ${atSpoke.map((n) => `${((n.at - stopAt) / 1000).toFixed(0)}s after the stop`).join(", ")}), ${atHub.length} forwarded to the hub's ${hubPath} (alerts ${fmt(atHub.map((n) => n.alerts))})`);
      return [ok, lines.join("\n")];
    });
  }
}

/** The plan's window and for: of the edge-silent rule of a spoke (its PrometheusRule as recorded). */
function plannedEdgeRule(spoke: Cluster): { window: string; for: string } {
  for (const r of spoke.plan.prometheusRules()) {
    for (const g of (r.spec.groups as Obj[] | undefined) ?? []) {
      for (const rule of (g.rules as Obj[] | undefined) ?? []) {
        if (rule.alert !== EDGE_SILENT_ALERT) continue;
        return { window: /\[([0-9]+[smhdwy])\]/.exec(String(rule.expr))?.[1] ?? "?", for: String(rule.for ?? "0s") };
      }
    }
  }
  return { window: "?", for: "?" };
}
