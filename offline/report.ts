/**
 * What `npm run plan` writes: one JSON document per stack and `fleet.md`, the fleet at a
 * glance. Pure functions of the offline runs.
 */
import { X509Certificate } from "node:crypto";
import type { StackRun } from "./index";
import { display, reveal } from "./values";
import type { PolicedFlowTable } from "../components/exposure/flows";

/** The plan document of one stack. */
export interface StackPlanDocument {
  stack: string;
  project: string;
  role: string | undefined;
  config: Record<string, unknown>;
  resources: {
    urn: string;
    type: string;
    name: string;
    parent: string | null;
    provider: string | null;
    options: { protect: boolean; retainOnDelete: boolean; dependsOn: string[] };
    inputs: unknown;
  }[];
  outputs: unknown;
  error?: string;
}

/** Renders one run as its plan document; secrets show as `"[secret]"` unless `showSecrets`. */
export function planDocument(run: StackRun, project: string, showSecrets: boolean): StackPlanDocument {
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(run.config)) {
    config[`observability:${k}`] = run.secretKeys.includes(`observability:${k}`) && !showSecrets ? "[secret]" : v;
  }
  return {
    stack: run.stack,
    project,
    role: run.role,
    config,
    resources: run.resources.map((r) => ({
      urn: r.urn,
      type: r.type,
      name: r.name,
      parent: r.parent ?? null,
      provider: r.provider ?? null,
      options: r.options,
      inputs: display(r.inputs, showSecrets),
    })),
    outputs: display(run.outputs, showSecrets),
    ...(run.error !== undefined ? { error: run.error.message } : {}),
  };
}

function tree(run: StackRun): string[] {
  const children = new Map<string, StackRun["resources"]>();
  for (const r of run.resources) {
    const p = r.parent ?? "";
    children.set(p, [...(children.get(p) ?? []), r]);
  }
  const known = new Set(run.resources.map((r) => r.urn));
  const lines: string[] = [];
  const walk = (parent: string, depth: number): void => {
    for (const r of children.get(parent) ?? []) {
      const flags = [r.options.protect ? "protect" : "", r.options.retainOnDelete ? "retainOnDelete" : ""].filter(Boolean).join(", ");
      lines.push(`${"  ".repeat(depth)}- \`${r.type}\` ${r.name}${flags ? ` (${flags})` : ""}`);
      walk(r.urn, depth + 1);
    }
  };
  walk("", 0);
  // Resources whose parent is not a registered resource (the stack root) start their own trees.
  for (const [p] of children) if (p !== "" && !known.has(p)) walk(p, 0);
  return lines;
}

function counts(run: StackRun): string[] {
  const byType = new Map<string, number>();
  for (const r of run.resources) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  return [...byType.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([t, n]) => `| \`${t}\` | ${n} |`);
}

function caSubject(pem: unknown): string {
  if (typeof pem !== "string") return "-";
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks
    .map((b) => {
      try {
        const c = new X509Certificate(b);
        return `${c.subject.replace(/\n/g, ", ")} (sha256 ${c.fingerprint256.slice(0, 11)})`;
      } catch {
        return "unparseable";
      }
    })
    .join(" + ") || "-";
}

import { EDGE_MEMORY_BUDGET_MIB } from "../components/workloads/values/edge";
import { s3PlanSection } from "../components/clouds/s3/plan";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** `fleet.md`: per stack a resource tree with counts, the wiring table and a Mermaid diagram. */
export function fleetMarkdown(runs: readonly StackRun[], extraSections: readonly string[] = []): string {
  const out: string[] = ["# Fleet plan", "", "Generated offline by `npm run plan` from the `Pulumi.<stack>.yaml` files; no credentials were used.", ""];
  const spokes = runs.filter((r) => r.role === "spoke");
  const hubs = runs.filter((r) => r.role === "hub");
  const edges = runs.filter((r) => r.role === "edge");

  const standIns = runs.filter((r) => (r.standInSecrets ?? []).length > 0);
  if (standIns.length > 0) {
    // The example stacks carry no ciphertext: a secret that is not set is planned with a stand-in, never a real value.
    out.push("## Secrets not set", "", "These secrets are not set in the stack files; the plan used the offline engine's deterministic stand-ins (\"Offline plan\" in README.md), never a real value. Set them before a real deployment with `npm run fleet -- secrets --stacks <stack>`.", "", "| stack | secrets planned with stand-ins |", "|---|---|");
    for (const r of standIns) out.push(`| ${r.stack} | ${(r.standInSecrets ?? []).map((k) => `\`${k}\``).join(", ")} |`);
    out.push("");
  }

  out.push("## Wiring", "", "| spoke | cloud | region | zone | buckets | egress IPs | Thanos endpoint | Loki endpoint | exposed to (hub egress) | trusts client CA | read path |", "|---|---|---|---|---|---|---|---|---|---|---|");
  for (const s of spokes) {
    const o = obj(reveal(s.outputs));
    const hub = hubs[0] !== undefined ? obj(reveal(hubs[0].outputs)) : {};
    const buckets = obj(o.buckets);
    out.push(
      `| ${s.stack} | ${String(o.cloud ?? "-")} | ${String(o.region ?? "-")} | ${String(o.sovereigntyZone ?? "-")} | ${[buckets.metrics, buckets.logs].filter(Boolean).join(", ") || "-"} | ${list(o.egressIps).join(", ") || "-"} | ${String(obj(o.thanos).endpoint ?? "-")} | ${String(obj(o.loki).url ?? "-")} | ${o.exposed === true ? list(hub.egressIps).map((ip) => `${ip}/32`).join(", ") || "-" : "nothing (hub unreadable)"} | ${o.exposed === true ? caSubject(hub.clientCaPem) : "-"} | ${String(o.queryPath ?? "-")} |`,
    );
  }
  for (const h of hubs) {
    const o = obj(reveal(h.outputs));
    out.push("", `Hub **${h.stack}** (${String(o.cloud ?? "-")} ${String(o.region ?? "-")}): egress ${list(o.egressIps).join(", ") || "-"}; wires ${list(o.spokes).join(", ") || "no spokes"}; trusts spoke CAs: ${spokes.map((s) => `${s.stack}: ${caSubject(obj(obj(reveal(s.outputs)).thanos).caPem)}`).join("; ") || "-"}.`);
  }

  if (edges.length > 0) {
    out.push(
      "",
      "## Edges",
      "",
      "Edges store nothing and expose nothing: each one's Prometheus agent writes to the zone receiver of a spoke of its own sovereignty zone, with a client certificate that spoke signed from the edge's request (its common name is the edge's tenant). The receiver admits exactly the listed edges' egress addresses.",
      "",
      "| edge | cloud | region | zone | writes to | accepted by the spoke | egress IPs | memory requests (cluster + one node) |",
      "|---|---|---|---|---|---|---|---|",
    );
    for (const e of edges) {
      const o = obj(reveal(e.outputs));
      const spoke = spokes.find((s) => s.stack === o.spoke);
      const receiver = spoke !== undefined ? obj(obj(reveal(spoke.outputs)).receiver) : {};
      const accepted = list(receiver.edges).includes(e.stack) && obj(receiver.certificates)[e.stack] !== undefined;
      const f = obj(o.footprint);
      const memory = Number(obj(f.cluster).memoryMiB ?? NaN) + Number(obj(f.perNode).memoryMiB ?? NaN);
      out.push(
        `| ${e.stack} | ${String(o.cloud ?? "-")} | ${String(o.region ?? "-")} | ${String(o.sovereigntyZone ?? "-")} | ${String(o.spoke ?? "-")} (${String(receiver.url ?? "no receiver")}) | ${accepted ? "yes: tenant and certificate" : "not yet: run the spoke, then the edge"} | ${list(o.egressIps).join(", ") || "-"} | ${Number.isNaN(memory) ? "-" : `${memory}Mi${memory > EDGE_MEMORY_BUDGET_MIB ? ` (above the ${EDGE_MEMORY_BUDGET_MIB}Mi target)` : ` (target ${EDGE_MEMORY_BUDGET_MIB}Mi)`}`} |`,
      );
    }
  }

  const onS3 = spokes.filter((s) => s.config.cloud === "s3");
  if (onS3.length > 0) {
    out.push("", "## S3-compatible storage", "", "What each spoke on an S3-compatible service expresses of the storage checklist (components/clouds/s3/profiles.ts), the advisory for each item its service cannot, and the lifecycle rules its operator applies with the service's own tool: the AWS provider's lifecycle resource never converges against a non-AWS endpoint (hashicorp/terraform-provider-aws#49019, #46021).", "");
    for (const s of onS3) out.push(...s3PlanSection({ stack: s.stack, objectStorage: s.config.objectStorage, retention: s.config.retention, queryPath: s.config.queryPath, buckets: obj(obj(reveal(s.outputs)).buckets) as { metrics?: string; logs?: string } }));
  }

  out.push("", "## Requested resources", "", "Requests of each spoke's workloads (limits are higher); per-node agents (node exporter, Alloy) come on top for every node.", "", "| spoke | profile | cluster CPU | cluster memory | per node CPU | per node memory |", "|---|---|---|---|---|---|");
  for (const s of spokes) {
    const f = obj(obj(reveal(s.outputs)).footprint);
    const c = obj(f.cluster);
    const n = obj(f.perNode);
    out.push(`| ${s.stack} | ${String(s.config.profile ?? "small")} | ${String(c.cpuMillicores ?? "-")}m | ${String(c.memoryMiB ?? "-")}Mi | ${String(n.cpuMillicores ?? "-")}m | ${String(n.memoryMiB ?? "-")}Mi |`);
  }

  out.push("", "## Diagram", "", "```mermaid", "flowchart LR");
  for (const h of hubs) out.push(`  ${h.stack.replace(/-/g, "_")}["hub ${h.stack}"]`);
  for (const s of spokes) {
    const o = obj(reveal(s.outputs));
    const id = s.stack.replace(/-/g, "_");
    out.push(`  subgraph ${id}_zone["${String(o.cloud ?? "?")} ${String(o.region ?? "?")} (zone ${String(o.sovereigntyZone ?? "?")})"]`, `    ${id}["spoke ${s.stack}"]`, `    ${id}_bucket[("buckets")]`, `    ${id} -->|writes| ${id}_bucket`, "  end");
    for (const h of hubs) {
      const path = o.queryPath === "spoke-query" ? "mTLS gRPC to local query" : "read-only bucket; mTLS local query for recent blocks";
      out.push(`  ${h.stack.replace(/-/g, "_")} -.->|${path}| ${o.queryPath === "spoke-query" ? id : `${id}_bucket`}`);
    }
  }
  for (const e of edges) {
    const o = obj(reveal(e.outputs));
    const id = e.stack.replace(/-/g, "_");
    out.push(`  ${id}["edge ${e.stack} (zone ${String(o.sovereigntyZone ?? "?")})"]`, `  ${id} -->|remote write, mTLS| ${String(o.spoke ?? "?").replace(/-/g, "_")}`);
  }
  out.push("```", "");

  out.push(...flowsSection(runs));

  for (const section of extraSections) out.push(section, "");

  out.push("## Stacks", "");
  for (const r of runs) {
    out.push(`### ${r.stack} (${r.role ?? "?"}) — ${r.resources.length} resources`, "");
    if (r.error !== undefined) out.push("**Error:**", "", "```", r.error.message, "```", "");
    out.push("| type | count |", "|---|---|", ...counts(r), "", "<details><summary>resource tree</summary>", "", ...tree(r), "", "</details>", "");
  }
  return `${out.join("\n")}\n`;
}

/**
 * The declared flow table of a run: the resolved input of its `sovereign:exposure:FlowPolicies`
 * component, i.e. the very table its NetworkPolicies were rendered from. Undefined when the
 * stack registered none (it failed before).
 */
export function flowTableOf(run: Pick<StackRun, "resources">): PolicedFlowTable | undefined {
  const c = run.resources.find((r) => r.type === "sovereign:exposure:FlowPolicies");
  if (c === undefined) return undefined;
  const table = obj(reveal(c.inputs)).table;
  if (typeof table !== "object" || table === null || !Array.isArray((table as { flows?: unknown }).flows)) return undefined;
  return table as PolicedFlowTable;
}

/** `## Network flows`: every declared flow per stack, the isolated pods and the pods left unrestricted. */
function flowsSection(runs: readonly StackRun[]): string[] {
  const out = [
    "## Network flows",
    "",
    "Declared in `components/exposure/flows.ts`; each stack's NetworkPolicies are rendered from its table, and the flow check (`components/exposure/flows-check.ts`) fails on a declared flow the policies block or anything they admit that is not declared.",
    "",
  ];
  const cell = (v: string): string => v.replace(/\|/g, "\\|");
  const sel = (s: Record<string, string>): string => Object.entries(s).map(([k, v]) => `${k}=${v}`).join(",");
  for (const r of runs) {
    const t = flowTableOf(r);
    if (t === undefined) continue;
    out.push(`### ${r.stack} (${t.role}, namespace ${t.namespace})`, "", `Isolated (ingress policy \`<name>-ingress\`): ${t.targets.map((x) => `${x.what} (\`${x.name}\`)`).join(", ")}.`, "");
    out.push("| flow | from | to | port | why |", "|---|---|---|---|---|");
    const legend = new Map<string, string>();
    for (const f of t.flows) {
      const from = f.from.kind === "pods" ? `pods: ${f.from.what}` : `${f.from.what}: ${f.from.cidrs.join(", ")}`;
      if (f.from.kind === "pods") legend.set(f.from.what, sel(f.from.selector));
      legend.set(f.to.what, sel(f.to.selector));
      out.push(`| ${f.id} | ${cell(from)} | ${cell(f.to.what)} | ${f.port}/${f.protocol} | ${cell(f.description)} |`);
    }
    out.push("", "Pods by label selector:", "", ...[...legend].map(([what, s]) => `- ${what}: \`${s}\``));
    out.push("", "Unrestricted (no ingress policy, in-cluster only):", "", ...t.unrestricted.map((u) => `- ${u.what} (\`${sel(u.selector)}\`): ${u.reason}`), "");
  }
  return out;
}
