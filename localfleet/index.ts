/**
 * `npm run fleet:local` runs the example fleet's data path for real on this machine: two spokes
 * (one `hub-store`, one `spoke-query`), their hub, and an edge writing to the hub-store spoke's
 * zone receiver, planned offline, as real Prometheus, Thanos and Alertmanager processes on
 * loopback; `-- --check` runs the issue-13 and issue-16 (edgechecks.ts) assertions and exits
 * non-zero when one fails.
 *
 * Two processes: the outer one (root) creates a network namespace (`ip netns add`, loopback up),
 * runs the inner one inside it with `ip netns exec`, publishes the query frontend outside through
 * a Unix socket, and afterwards kills anything left in the namespace (`ip netns pids`) and
 * deletes it. The inner one plans, builds and supervises the fleet; every process it starts is
 * stopped at the end, also on failure, SIGINT, SIGTERM or an uncaught error.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { HEARTBEAT_PERIOD_SECONDS } from "../components/alerting/alertmanager";
import { toolPath } from "../toolchain";
import { foreignClient, hubDataDirs, instantQuery, metricSum, mountOf, notificationsOf, perCluster, receiverOf, receiverPath, sleep, spokeBlocksUnder, tlsAttempt, waitFor, walk, type CheckResult } from "./checks";
import { edgeHubCheck, edgesAccepted, edgeWritePhase, isReceiverProc, judgeEdgeSilent, startEdges, type EdgeSilentWatch } from "./edgechecks";
import { LoopbackFleet, type Cluster } from "./fleet";
import { Servers, tcpToUnix, unixBridge } from "./net";
import { isObj, planLoopbackFleet, type Obj } from "./plan";
import { substitutionTable } from "./substitutions";

/** The example stacks the fleet runs (Pulumi.<stack>.yaml): a hub-store spoke, a spoke-query spoke, their hub, and an edge of the hub-store spoke. */
export const LOOPBACK_STACKS = { hub: "ops-01", hubStore: "dev-01", spokeQuery: "prod-01", edge: "edge-dev-01" } as const;
/** Where `npm run fleet:local` publishes the hub's query frontend outside the namespace. */
export const PUBLISHED_PORT = 19902;
/** The budget for `--check` (issue 13's 3 minutes, plus the edge path of issue 16: its edge-silent window alone is 2m). */
export const CHECK_BUDGET_MS = 240_000;

const log = (msg: string): void => {
  process.stdout.write(`[fleet:local ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

// ---------------------------------------------------------------- outer: the network namespace

function need(cmd: string, pkg: string): void {
  if (spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0) throw new Error(`${cmd} is required (apt-get install ${pkg})`);
}

async function outer(argv: string[]): Promise<number> {
  const t0 = Date.now();
  const check = argv.includes("--check");
  if (process.getuid?.() !== 0) throw new Error("the loopback fleet needs root (network namespace, private mounts): run it as root or in CI's container");
  need("ip", "iproute2");
  need("unshare", "util-linux");
  need("mount", "mount");
  for (const t of ["thanos", "prometheus", "promtool", "alertmanager", "amtool", "helm"] as const) toolPath(t);
  const ns = `sovereign-fleet-${process.pid}`;
  const root = mkdtempSync(join(tmpdir(), "sovereign-localfleet-"));
  const ip = (...a: string[]): void => {
    const r = spawnSync("ip", a, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip ${a.join(" ")}: ${r.stderr}`);
  };
  ip("netns", "add", ns);
  const servers = new Servers();
  let code = 1;
  try {
    ip("-n", ns, "link", "set", "lo", "up");
    if (!check) await tcpToUnix(servers, "127.0.0.1", PUBLISHED_PORT, join(root, "frontend.sock"));
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", __filename, ...argv], {
      stdio: "inherit",
      env: { ...process.env, LOCALFLEET_NETNS: ns, LOCALFLEET_ROOT: root },
    });
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig);
    };
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    code = await new Promise<number>((resolve) => child.once("exit", (c) => resolve(c ?? 1)));
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
  } finally {
    await servers.closeAll();
    const left = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout.split("\n").filter((x) => x.trim() !== "");
    for (const pid of left) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone
      }
    }
    spawnSync("ip", ["netns", "del", ns]);
    const elapsed = Date.now() - t0;
    if (check) {
      const results: CheckResult[] = existsSync(join(root, "results.json"))
        ? (JSON.parse(readFileSync(join(root, "results.json"), "utf8")) as CheckResult[])
        : [{ name: "fleet ran", ok: false, detail: `the fleet process exited ${code} without results (its output above says why)` }];
      results.push({ name: "no process left behind", ok: left.length === 0, detail: left.length === 0 ? `network namespace ${ns} empty after the run (ip netns pids)` : `${left.length} processes were still in ${ns}: ${left.join(", ")} (killed)` });
      results.push({ name: `under ${CHECK_BUDGET_MS / 60_000} minutes`, ok: elapsed < CHECK_BUDGET_MS, detail: `${(elapsed / 1000).toFixed(1)}s from start to namespace deleted (budget ${CHECK_BUDGET_MS / 1000}s)` });
      printResults(results);
      if (results.some((r) => !r.ok) || results.length < 3) code = code === 0 ? 1 : code;
    }
    if (!argv.includes("--keep")) rmSync(root, { recursive: true, force: true });
    else log(`kept ${root}`);
  }
  return code;
}

function printResults(results: CheckResult[]): void {
  process.stdout.write("\nloopback fleet checks:\n");
  for (const r of results) process.stdout.write(`${r.ok ? "PASS" : "FAIL"}  ${r.name}\n      ${r.detail.replace(/\n/g, "\n      ")}\n`);
  const failed = results.filter((r) => !r.ok).length;
  process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
}

// ---------------------------------------------------------------- inner: the fleet

async function inner(argv: string[]): Promise<number> {
  const check = argv.includes("--check");
  const root = process.env.LOCALFLEET_ROOT ?? mkdtempSync(join(tmpdir(), "sovereign-localfleet-"));
  mkdirSync(root, { recursive: true });
  process.stdout.write(`${substitutionTable()}\n\n`);
  log(`planning ${LOOPBACK_STACKS.hubStore}, ${LOOPBACK_STACKS.spokeQuery}, ${LOOPBACK_STACKS.edge} and ${LOOPBACK_STACKS.hub} offline`);
  const plan = await planLoopbackFleet(LOOPBACK_STACKS.hub, [LOOPBACK_STACKS.hubStore, LOOPBACK_STACKS.spokeQuery], [LOOPBACK_STACKS.edge]);
  for (const [s, want] of [[LOOPBACK_STACKS.hubStore, "hub-store"], [LOOPBACK_STACKS.spokeQuery, "spoke-query"]] as const) {
    const got = plan.spokes.find((p) => p.stack === s)?.config().queryPath;
    if (got !== want) throw new Error(`Pulumi.${s}.yaml: observability:queryPath is ${String(got)}, the loopback fleet runs ${s} as its ${want} spoke`);
  }
  const edgeSpoke = (plan.edges[0]?.config().spoke as { stack?: unknown } | undefined)?.stack;
  if (edgeSpoke !== LOOPBACK_STACKS.hubStore) throw new Error(`Pulumi.${LOOPBACK_STACKS.edge}.yaml: observability:spoke is ${String(edgeSpoke)}, the loopback fleet runs it as an edge of ${LOOPBACK_STACKS.hubStore}`);
  log(`planned in ${(plan.planMs / 1000).toFixed(1)}s`);
  const fleet = new LoopbackFleet(plan, { root, check });
  log("rendered the kube-prometheus-stack releases with helm");
  let stopped = false;
  const stopEverything = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await fleet.supervisor.stopAll();
    fleet.dns?.stop();
    await fleet.servers.closeAll();
  };
  process.on("exit", () => fleet.supervisor.killAllSync());
  const onSignal = (): void => {
    log("interrupted: stopping the fleet");
    void stopEverything().then(() => process.exit(check ? 1 : 0));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("uncaughtException", (e) => {
    process.stderr.write(`uncaught: ${e.stack ?? e.message}\n`);
    void stopEverything().then(() => process.exit(1));
  });
  const results: CheckResult[] = [];
  const runStart = Date.now();
  try {
    fleet.build();
    log(`built the pods in ${((Date.now() - runStart) / 1000).toFixed(1)}s`);
    process.stdout.write(`${fleet.describe()}\n\n`);
    await fleet.startNetwork();
    // The zone receiver and the edge's agent first (edgechecks.ts): with --check the spokes start
    // once the edge's writes are accepted.
    startEdges(fleet);
    const blockRange = new Map<string, { from: number; to: number }>();
    const now = Date.now();
    for (const s of fleet.spokes) blockRange.set(s.stack, fleet.backfill(s, now));
    const edgeStartProblem = check ? await edgesAccepted(fleet) : undefined;
    log(edgeStartProblem === undefined ? "zone receiver and edge agent started" : `edge path: ${edgeStartProblem}`);
    // The store gateways start once the sidecars shipped (substitution "shipped blocks"): in a
    // running fleet they find the blocks at their first bucket sync, here that sync is the only
    // one the run sees (--sync-block-duration as planned).
    const isStore = (p: { pod: string }): boolean => p.pod.startsWith("thanos-store");
    for (const s of fleet.spokes) fleet.startCluster(s, (p) => !isStore(p) && !isReceiverProc(p));
    // --check: the edge's write phase runs while the hub starts (edgechecks.ts), so that its agent
    // stops, and the edge-silent window starts, as early as the spokes' rules have seen it write.
    const edgePhase: Promise<EdgeSilentWatch[]> = check
      ? edgeWritePhase(fleet, checker(results).attempt, { startProblem: edgeStartProblem, log }).catch((e: unknown) => {
          checker(results).add("edge path", false, e instanceof Error ? e.message : String(e));
          return [];
        })
      : Promise.resolve([]);
    log("spokes started; waiting for the sidecars to ship their blocks");
    await waitFor("every sidecar shipped its block", 60_000, () => (fleet.spokes.every((s) => [...fleet.shipped(s).values()].every((u) => u.length > 0)) ? true : undefined));
    for (const s of fleet.spokes) fleet.startCluster(s, isStore);
    const hub = fleet.hub;
    fleet.startCluster(hub, (p) => !p.pod.startsWith("thanos-rule"));
    const frontend = fleet.addr(hub.stack, "thanos-query-frontend");
    const globalQuery = fleet.addr(hub.stack, "thanos-query-global");
    log(`hub started; waiting until the global query sees both spokes`);
    await waitFor("both spokes' series through the query frontend", 60_000, async () => {
      const r = await instantQuery(frontend, 'up{job="loopback-synthetic"}', { partial: true });
      const c = perCluster(r.series);
      return fleet.spokes.every((s) => (c[s.stack] ?? 0) > 0) ? true : undefined;
    });
    fleet.startCluster(hub, (p) => p.pod.startsWith("thanos-rule"));
    if (!check) {
      await unixBridge(fleet.servers, join(root, "frontend.sock"), frontend.split(":")[0], Number(frontend.split(":")[1]));
      log(`the fleet runs. Query it (deduplicated across replicas, both spokes):`);
      log(`  outside the namespace: http://127.0.0.1:${PUBLISHED_PORT}  (bridge to the hub query frontend)`);
      log(`  inside:  ip netns exec ${process.env.LOCALFLEET_NETNS ?? "<ns>"} curl 'http://${frontend}/api/v1/query?query=up'`);
      for (const e of fleet.edges) log(`  edge ${e.stack}: its agent remote-writes to ${String((fleet.cluster(LOOPBACK_STACKS.hubStore).plan.outputs.receiver as Obj | undefined)?.url)}; its series: up{edge="${e.stack}"}`);
      log(`  hub global query http://${globalQuery}, webhook receiver http://${fleet.webhook.host}:${fleet.webhook.port} (notifications printed below); Ctrl-C stops everything`);
      let seen = 0;
      for (;;) {
        await sleep(2000);
        for (const n of fleet.notifications.slice(seen)) log(`webhook ${n.path}: ${n.status} ${n.alerts.map((a) => a.labels.alertname).join(", ")}`);
        seen = fleet.notifications.length;
      }
    }
    await runChecks(fleet, results, { frontend, globalQuery, blockRange, runStart, edgePhase });
  } catch (e) {
    results.push({ name: "fleet ran", ok: false, detail: e instanceof Error ? e.message : String(e) });
    for (const p of fleet.supervisor.procs.filter((x) => x.exitCode !== undefined && x.exitCode !== 0 && x.exitCode !== null)) results.push({ name: `process ${p.spec.id}`, ok: false, detail: `exited ${String(p.exitCode)}:\n${fleet.supervisor.tail(p)}` });
  } finally {
    const running = () => fleet.supervisor.procs.filter((p) => p.exitCode === undefined).length;
    const before = fleet.supervisor.procs.length;
    await stopEverything();
    results.push({ name: "every process stopped", ok: running() === 0, detail: `${before} processes started, ${running()} still running after the stop` });
    afterRunChecks(fleet, results);
    writeFileSync(join(root, "results.json"), JSON.stringify(results));
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

interface HubRule {
  alert: string;
  expr: string;
  labels: Record<string, string>;
  for?: string;
}

function hubRules(hub: Cluster): HubRule[] {
  const files = hub.plan.objectData("ConfigMap", "thanos-rules");
  const out: HubRule[] = [];
  for (const text of Object.values(files)) {
    const doc = parse(text) as { groups?: { rules?: Obj[] }[] };
    for (const g of doc.groups ?? []) for (const r of g.rules ?? []) if (typeof r.alert === "string") out.push({ alert: r.alert, expr: String(r.expr), labels: (isObj(r.labels) ? r.labels : {}) as Record<string, string>, for: typeof r.for === "string" ? r.for : undefined });
  }
  return out;
}

const fmt = (v: unknown): string => JSON.stringify(v);

/** Records a check's outcome, or the error it threw, in `results` (and logs it). */
function checker(results: CheckResult[]): { add: (name: string, ok: boolean, detail: string) => void; attempt: (name: string, fn: () => Promise<[boolean, string]>) => Promise<void> } {
  const add = (name: string, ok: boolean, detail: string): void => {
    results.push({ name, ok, detail });
    log(`${ok ? "PASS" : "FAIL"} ${name}`);
  };
  const attempt = async (name: string, fn: () => Promise<[boolean, string]>): Promise<void> => {
    try {
      const [ok, detail] = await fn();
      add(name, ok, detail);
    } catch (e) {
      add(name, false, e instanceof Error ? e.message : String(e));
    }
  };
  return { add, attempt };
}

async function runChecks(fleet: LoopbackFleet, results: CheckResult[], ctx: { frontend: string; globalQuery: string; blockRange: Map<string, { from: number; to: number }>; runStart: number; edgePhase: Promise<EdgeSilentWatch[]> }): Promise<void> {
  const hub = fleet.hub;
  const spokeNames = fleet.spokes.map((s) => s.stack);
  const { attempt } = checker(results);
  const hubAmConfigFile = join(fleet.opts.root, hub.stack, fleet.pod(hub.stack, "alertmanager-").name, "volumes", "config-out", "alertmanager.env.yaml");
  const hubAmConfig = readFileSync(hubAmConfigFile, "utf8");
  const rules = hubRules(hub);
  const tStart = Date.now();

  // 0. The edge path (issue 16): its write phase ran while the hub started (the agent is stopped
  // by now; the edge-silent alert needs the longest wait, a 2m window after that, which the
  // checks below run during); the edge's series through the hub, then.
  const edgeWatches = await ctx.edgePhase;
  await edgeHubCheck(edgeWatches, attempt, { globalQuery: ctx.globalQuery });

  // 1. Blocks shipped by the real sidecars, with the external labels Prometheus gave them.
  await attempt("sidecars shipped blocks to each spoke's bucket", async () => {
    const lines: string[] = [];
    let ok = true;
    for (const s of fleet.spokes) {
      const blocks = fleet.bucketBlocks(fleet.spokeBucket(s));
      const replicas = new Set(blocks.filter((b) => b.labels.cluster === s.stack).map((b) => b.labels.prometheus_replica));
      const pods = s.pods.filter((p) => p.name.startsWith("prometheus-")).map((p) => p.name);
      ok &&= pods.every((p) => replicas.has(p));
      lines.push(`${s.stack}: bucket ${fleet.spokeBucket(s)} holds ${blocks.length} blocks, replicas ${fmt([...replicas])} (expected ${fmt(pods)})`);
    }
    return [ok, lines.join("\n")];
  });

  // 2. The hub's reader of the hub-store spoke's bucket: read-only in its mount namespace.
  await attempt("hub store gateway reads the spoke bucket read-only", async () => {
    const lines: string[] = [];
    let ok = false;
    for (const p of fleet.supervisor.running().filter((x) => x.spec.cluster === hub.stack && x.spec.mounts.some((m) => m.kind === "readonly"))) {
      for (const m of p.spec.mounts) {
        if (m.kind !== "readonly") continue;
        const mount = mountOf(p.pid, m.target);
        const touch = spawnSync("nsenter", ["-t", String(p.pid), "-m", "touch", join(m.target, "loopback-write-probe")], { encoding: "utf8" });
        const refused = touch.status !== 0 && /read-only/i.test(touch.stderr);
        ok = mount !== undefined && mount.options.split(",").includes("ro") && refused;
        lines.push(`${p.spec.id}: ${m.target} mounted ${mount?.options ?? "(not a mount)"}; a write in its mount namespace: ${refused ? "refused (Read-only file system)" : `not refused: ${touch.stderr.trim()}`}`);
      }
    }
    if (lines.length === 0) lines.push("no hub process reads a spoke bucket");
    return [ok, lines.join("\n")];
  });

  // 3. Live series of both spokes through the hub's query frontend, deduplicated.
  await attempt("both spokes through the hub query frontend, one series per target", async () => {
    const q = 'up{job="loopback-synthetic"}';
    // Each replica scrapes at its own offset within the planned scrape_interval: wait until both did.
    const raw = await waitFor("both replicas of each pair scraped the target", 45_000, async () => {
      const x = await instantQuery(ctx.globalQuery, q, { dedup: false, partial: true });
      return spokeNames.every((s) => (perCluster(x.series)[s] ?? 0) >= 2) ? x : undefined;
    }).catch(async () => instantQuery(ctx.globalQuery, q, { dedup: false, partial: true }));
    const dedup = await instantQuery(ctx.frontend, q, { partial: true });
    const d = perCluster(dedup.series);
    const r = perCluster(raw.series);
    const ok = spokeNames.every((s) => d[s] === 1 && (r[s] ?? 0) === 2) && dedup.series.every((s) => s.metric.prometheus_replica === undefined);
    return [ok, `${q}: deduplicated ${fmt(d)}, without dedup ${fmt(r)} (2 = both replicas of the pair reach the hub)`];
  });

  // 4. Shipped blocks read back: the hub store gateway (hub-store spoke), the spoke's own store gateway (spoke-query).
  await attempt("shipped blocks read through the hub, deduplicated (hub store gateway / spoke store gateway)", async () => {
    const lines: string[] = [];
    let ok = true;
    const readers = fleet.clusters.flatMap((c) => c.pods.filter((p) => p.containers.some((x) => x.args[0] === "store") && p.readonlyPaths.length + (c.role === "spoke" ? 1 : 0) > 0).map((p) => ({ c, p })));
    const before = new Map<string, number>();
    for (const { c, p } of readers) before.set(`${c.stack}/${p.name}`, await metricSum(`${p.ip}:10902`, "thanos_bucket_store_series_blocks_queried_count"));
    for (const s of fleet.spokes) {
      const range = ctx.blockRange.get(s.stack) as { from: number; to: number };
      const t = Math.floor((range.from + range.to) / 2);
      const res = await instantQuery(ctx.frontend, `loopback_backfill_samples{cluster="${s.stack}"}`, { time: t, partial: true });
      ok &&= res.series.length === 1 && res.series[0].metric.prometheus_replica === undefined;
      lines.push(`${s.stack} at ${new Date(t * 1000).toISOString()}: ${res.series.length} series ${fmt(res.series.map((x) => x.value?.[1]))}`);
    }
    for (const { c, p } of readers) {
      const after = await metricSum(`${p.ip}:10902`, "thanos_bucket_store_series_blocks_queried_count");
      const loaded = await metricSum(`${p.ip}:10902`, "thanos_bucket_store_blocks_loaded");
      const k = `${c.stack}/${p.name}`;
      ok &&= after > (before.get(k) ?? 0) && loaded > 0;
      lines.push(`${k}: ${loaded} blocks loaded from the bucket, Series calls touching blocks ${before.get(k) ?? 0} -> ${after}`);
    }
    ok &&= readers.length >= fleet.spokes.length;
    return [ok, lines.join("\n")];
  });

  // 5. mTLS refused by the real servers.
  await attempt("mTLS: foreign CA, spoke certificate as client, wrong spoke server name are refused", async () => {
    const foreign = foreignClient();
    const hubClient = hub.plan.objectData("Secret", "thanos-query-client-tls");
    const lines: string[] = [];
    let ok = true;
    const lbOf = (c: Cluster): { host: string; port: number } => {
      const ep = String((c.plan.outputs.thanos as Obj).endpoint);
      const lb = c.loadBalancers.find((l) => l.port === Number(ep.split(":")[1])) as { host: string; port: number };
      return { host: lb.host, port: lb.port };
    };
    const [a, b] = fleet.spokes;
    for (const s of fleet.spokes) {
      const thanos = s.plan.outputs.thanos as Obj;
      const target = { ...lbOf(s), servername: String(thanos.serverName), ca: String(thanos.caPem), protocol: "h2" as const };
      const good = await tlsAttempt({ ...target, cert: hubClient["tls.crt"], key: hubClient["tls.key"] });
      const f = await tlsAttempt({ ...target, cert: foreign.cert, key: foreign.key });
      const own = s.plan.objectData("Secret", "thanos-grpc-tls");
      const other = (s === a ? b : a).plan.objectData("Secret", "thanos-grpc-tls");
      const spokeAsClient = await tlsAttempt({ ...target, cert: other["tls.crt"], key: other["tls.key"] });
      const ownAsClient = await tlsAttempt({ ...target, cert: own["tls.crt"], key: own["tls.key"] });
      ok &&= good.accepted && !f.accepted && !spokeAsClient.accepted && !ownAsClient.accepted;
      lines.push(`${s.stack} hub-facing query (${target.host}:${target.port}): hub client ${good.accepted ? "accepted" : `REFUSED ${good.detail}`}; foreign CA ${f.accepted ? "ACCEPTED" : `refused (${f.detail})`}; ${(s === a ? b : a).stack} server cert as client ${spokeAsClient.accepted ? "ACCEPTED" : `refused (${spokeAsClient.detail})`}; its own server cert as client ${ownAsClient.accepted ? "ACCEPTED" : `refused (${ownAsClient.detail})`}`);
    }
    // The hub client pinned to spoke B's CA and server name, sent to spoke A's endpoint.
    const bThanos = b.plan.outputs.thanos as Obj;
    const wrong = await tlsAttempt({ ...lbOf(a), servername: String(bThanos.serverName), ca: String(bThanos.caPem), cert: hubClient["tls.crt"], key: hubClient["tls.key"], protocol: "h2" });
    ok &&= !wrong.accepted;
    lines.push(`hub client with ${b.stack}'s CA and server name against ${a.stack}'s endpoint: ${wrong.accepted ? "ACCEPTED" : `refused (${wrong.detail})`}`);
    // The hub Alertmanager's mTLS listener for spokes.
    const am = hub.plan.outputs.alertmanager as Obj;
    const amLb = hub.loadBalancers.find((l) => l.port === (new URL(String(am.url)).port === "" ? 443 : Number(new URL(String(am.url)).port))) as { host: string; port: number };
    const amTarget = { host: amLb.host, port: amLb.port, servername: String(am.serverName), ca: String(am.caPem), protocol: "http/1.1" as const };
    const spokeAm = a.plan.objectData("Secret", "alertmanager-hub-client-tls");
    const amGood = await tlsAttempt({ ...amTarget, cert: spokeAm["tls.crt"], key: spokeAm["tls.key"] });
    const amForeign = await tlsAttempt({ ...amTarget, cert: foreign.cert, key: foreign.key });
    const amNone = await tlsAttempt({ ...amTarget });
    ok &&= amGood.accepted && !amForeign.accepted && !amNone.accepted;
    lines.push(`hub Alertmanager spoke listener: ${a.stack} alertmanager client ${amGood.accepted ? `accepted (${amGood.detail})` : `REFUSED ${amGood.detail}`}; foreign CA ${amForeign.accepted ? "ACCEPTED" : `refused (${amForeign.detail})`}; no client cert ${amNone.accepted ? "ACCEPTED" : `refused (${amNone.detail})`}`);
    return [ok, lines.join("\n")];
  });

  // 6. Spoke alerts forwarded over mTLS, once per spoke: judged before a spoke is stopped, so a
  // probe not yet forwarded is not lost with the stop.
  await attempt("spoke alerts forwarded over mTLS arrive once", async () => {
    const lines: string[] = [];
    let ok = true;
    for (const s of fleet.spokes) {
      const labels: Record<string, string> = { alertname: "LoopbackFleetForwardProbe", severity: "warning", ...(parse(readFileSync(join(fleet.opts.root, s.stack, fleet.pod(s.stack, "prometheus-").name, "volumes", "config-out", "prometheus.env.yaml"), "utf8")) as { global: { external_labels: Record<string, string> } }).global.external_labels };
      delete labels.prometheus_replica;
      const path = receiverPath(hubAmConfig, receiverOf(hubAmConfigFile, labels));
      await waitFor(`the probe alert of ${s.stack} at ${path}`, 60_000, () => notificationsOf(fleet.notifications, path, "LoopbackFleetForwardProbe").find((n) => n.alerts.some((x) => x.labels.cluster === s.stack)));
      const got = notificationsOf(fleet.notifications, path, "LoopbackFleetForwardProbe").filter((n) => n.alerts.some((x) => x.labels.cluster === s.stack) && n.status === "firing");
      const alerts = got.flatMap((n) => n.alerts.filter((x) => x.labels.cluster === s.stack));
      ok &&= got.length === 1 && alerts.length === 1 && alerts[0].labels.prometheus_replica === undefined;
      lines.push(`${s.stack}: ${got.length} notification(s) at hub receiver ${path}, ${alerts.length} alert(s) (both replicas send it; the operator's labeldrop of prometheus_replica makes them one)`);
    }
    const tls = fleet.tlsLog.filter((l) => l.authorized);
    ok &&= tls.length > 0;
    lines.push(`hub TLS listener: ${tls.length} verified client connections from ${fmt([...new Set(tls.map((l) => l.subject))])}, ${fleet.tlsLog.filter((l) => !l.authorized).length} refused`);
    return [ok, lines.join("\n")];
  });

  // 6. Stop the spoke-query spoke: partial response keeps the other; its unreachable alert arrives once; it recovers.
  const victim = fleet.cluster(LOOPBACK_STACKS.spokeQuery);
  const survivor = fleet.spokes.find((s) => s !== victim) as Cluster;
  const unreachable = rules.find((r) => r.expr.replace(/\s/g, "") === `absent(up{cluster="${victim.stack}"})`);
  const stopAt = Date.now();
  await fleet.stopCluster(victim);
  log(`stopped every process of ${victim.stack}`);
  await attempt(`${victim.stack} stopped: partial response keeps ${survivor.stack}`, async () => {
    const res = await waitFor("the stopped spoke gone from the results", 30_000, async () => {
      const r = await instantQuery(ctx.frontend, 'up{job="loopback-synthetic"}', { partial: true });
      return (perCluster(r.series)[victim.stack] ?? 0) === 0 ? r : undefined;
    });
    const c = perCluster(res.series);
    return [c[survivor.stack] === 1 && res.warnings.length > 0, `series ${fmt(c)}; warnings: ${fmt(res.warnings.map((w) => w.slice(0, 160)))}`];
  });
  // The first notification is awaited, then the spoke restarts at once; that it arrived only
  // once is judged after the recovery, over the whole window (an HA duplicate, a second ruler or
  // an unmeshed Alertmanager, would arrive within seconds).
  const unreachableName = unreachable?.alert ?? "SpokeUnreachable";
  let unreachablePath = "";
  let firstUnreachable: { at: number } | undefined;
  let unreachableProblem: string | undefined;
  if (unreachable === undefined) unreachableProblem = `the hub rules have no alert on absent(up{cluster="${victim.stack}"})`;
  else {
    try {
      unreachablePath = receiverPath(hubAmConfig, receiverOf(hubAmConfigFile, { alertname: unreachable.alert, ...unreachable.labels }));
      firstUnreachable = await waitFor(`${unreachable.alert} at ${unreachablePath}`, 120_000, () => notificationsOf(fleet.notifications, unreachablePath, unreachable.alert).find((n) => n.alerts.some((x) => x.labels.cluster === victim.stack && x.status === "firing")));
    } catch (e) {
      unreachableProblem = e instanceof Error ? e.message : String(e);
    }
  }
  const judgeUnreachable = (): Promise<void> => attempt(`${unreachableName} for ${victim.stack} reaches the webhook once`, () => {
    if (unreachableProblem !== undefined || firstUnreachable === undefined) return Promise.resolve([false, unreachableProblem ?? "no notification"]);
    const got = notificationsOf(fleet.notifications, unreachablePath, unreachableName).filter((n) => n.alerts.some((x) => x.labels.cluster === victim.stack));
    const alerts = got.flatMap((n) => n.alerts.filter((x) => x.labels.alertname === unreachableName && x.labels.cluster === victim.stack));
    const watched = ((Date.now() - firstUnreachable.at) / 1000).toFixed(0);
    return Promise.resolve([got.length === 1 && alerts.length === 1 && alerts[0].labels.rule_replica === undefined, `${got.length} notification(s) at ${unreachablePath} with ${alerts.length} alert(s) ${fmt(alerts.map((x) => x.labels))}, the first ${((firstUnreachable.at - stopAt) / 1000).toFixed(0)}s after the stop (rule for: ${unreachable?.for ?? "0"} compressed, Alertmanager group_wait as planned), watched for ${watched}s after it`]);
  });
  const restartAt = Date.now();
  fleet.startCluster(victim);
  log(`restarted ${victim.stack}`);
  await attempt(`${victim.stack} returns: its series and the resolved ${unreachable?.alert ?? "alert"}`, async () => {
    await waitFor(`${victim.stack} series again`, 60_000, async () => ((perCluster((await instantQuery(ctx.frontend, 'up{job="loopback-synthetic"}', { partial: true })).series)[victim.stack] ?? 0) === 1 ? true : undefined));
    const amAddr = fleet.addr(hub.stack, "alertmanager-", 9093);
    const name = unreachableName;
    await waitFor(`${name} resolved in the hub Alertmanager`, 60_000, async () => {
      const alerts = (await (await fetch(`http://${amAddr}/api/v2/alerts?active=true&filter=${encodeURIComponent(`alertname="${name}"`)}&filter=${encodeURIComponent(`cluster="${victim.stack}"`)}`)).json()) as unknown[];
      return alerts.length === 0 ? true : undefined;
    });
    return [true, `${victim.stack} answered again ${((Date.now() - restartAt) / 1000).toFixed(0)}s after the restart; the rulers resolved ${name} and the hub Alertmanager holds no active ${name} for it (the resolved webhook notification follows at the route's group_interval, 5m, after this run)`];
  });

  await judgeUnreachable();

  // 9. Nothing the hub reads is written to its disks, while it runs.
  await attempt("hub processes hold no spoke block while running", async () => {
    const lines: string[] = [];
    let ok = true;
    for (const p of fleet.supervisor.running().filter((x) => x.spec.cluster === hub.stack)) {
      for (const m of p.spec.mounts.filter((x) => x.kind === "tmpfs")) {
        if (m.kind !== "tmpfs") continue;
        const inNs = `/proc/${p.pid}/root${m.target}`;
        const blocks = spokeBlocksUnder(inNs, spokeNames);
        const mount = mountOf(p.pid, m.target);
        ok &&= blocks.length === 0 && mount?.fstype === "tmpfs";
        lines.push(`${p.spec.id}: data dir on ${mount?.fstype ?? "?"} (emptyDir medium Memory), ${walk(inNs).length} files, ${blocks.length} spoke blocks`);
      }
    }
    return [ok, lines.join("\n")];
  });

  // 10. The edge stopped at the start: its edge-silent alert, once.
  await judgeEdgeSilent(fleet, edgeWatches, attempt, { runStart: ctx.runStart, hubAmConfigFile });

  // 11. Last, so every spoke has run for more than two periods, prod-01 also after its restart: hub Watchdog once per interval (rulers HA deduplicated, Alertmanagers meshed).
  await attempt("hub Watchdog reaches the webhook once per interval, each spoke heartbeat once per period", async () => {
    const wd = rules.find((r) => r.expr.trim() === "vector(1)");
    if (wd === undefined) return [false, "the hub rules have no always-firing alert"];
    const labels = { alertname: wd.alert, ...wd.labels };
    const path = receiverPath(hubAmConfig, receiverOf(hubAmConfigFile, labels));
    // The period the dead-man's switch is told to expect (components/alerting), measured here
    // on the real Alertmanagers: every gap at least 80% of it and at most the period plus the
    // peer timeout (15s, alertmanager --cluster.peer-timeout default): when the replica that
    // notifies changes, the next one waits its position times that before it sends
    // (alertmanager v0.34.0 app/cluster.go: wait = Position() x peer timeout).
    const period = HEARTBEAT_PERIOD_SECONDS;
    await waitFor("two Watchdog notifications", Math.max(0, period * 1000 * 2 + 15_000 - (Date.now() - tStart)), () => (notificationsOf(fleet.notifications, path, wd.alert).length >= 2 ? true : undefined));
    const got = notificationsOf(fleet.notifications, path, wd.alert);
    const gaps = got.slice(1).map((n, i) => (n.at - got[i].at) / 1000);
    const perNotification = got.map((n) => n.alerts.length);
    const ok = got.length >= 2 && gaps.every((g) => g >= period * 0.8 && g <= period + 15 + 5) && perNotification.every((n) => n === 1) && got.every((n) => n.alerts.every((x) => x.labels.rule_replica === undefined));
    const lines = [`hub: ${got.length} notifications at ${path}, gaps ${fmt(gaps.map((g) => Math.round(g)))}s (the dead-man's switch expects ${period}s), alerts per notification ${fmt(perNotification)}; two rulers x two meshed Alertmanagers, label-drop rule_replica`];
    // Each spoke's own heartbeat at its own dead-man's switch: never two within a period (one
    // always-firing alert, two replicas deduplicated by the meshed pair). prod-01's gap spans its stop.
    let spokesOk = true;
    for (const s of fleet.spokes) {
      const amFile = join(fleet.opts.root, s.stack, fleet.pod(s.stack, "alertmanager-").name, "volumes", "config-out", "alertmanager.env.yaml");
      const spokePath = receiverPath(readFileSync(amFile, "utf8"), receiverOf(amFile, { alertname: "Watchdog", watchdog: "spoke" }));
      const beats = notificationsOf(fleet.notifications, spokePath, "Watchdog");
      const spokeGaps = beats.slice(1).map((n, i) => (n.at - beats[i].at) / 1000);
      spokesOk &&= beats.length >= 2 && spokeGaps.every((g) => g >= period * 0.8) && beats.every((n) => n.alerts.length === 1);
      lines.push(`${s.stack}: ${beats.length} notifications at ${spokePath}, gaps ${fmt(spokeGaps.map((g) => Math.round(g)))}s, alerts per notification ${fmt(beats.map((n) => n.alerts.length))}`);
    }
    return [ok && spokesOk, lines.join("\n")];
  });
}

function afterRunChecks(fleet: LoopbackFleet, results: CheckResult[]): void {
  const hub = fleet.hub;
  const dirs = hubDataDirs(fleet, hub);
  const found = dirs.flatMap((d) => spokeBlocksUnder(d.dir, fleet.spokes.map((s) => s.stack)).map((f) => `${d.pod}: ${f}`));
  const files = dirs.reduce((n, d) => n + walk(d.dir).length, 0);
  results.push({ name: "hub data directories hold no spoke block after the run", ok: found.length === 0 && dirs.length > 0, detail: `${dirs.length} hub data directories, ${files} files on disk, spoke blocks: ${found.length === 0 ? "none" : found.join(", ")}` });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (process.env.LOCALFLEET_NETNS === undefined) return outer(argv);
  return inner(argv);
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`fleet:local: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
