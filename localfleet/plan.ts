/**
 * The offline plan the loopback fleet runs: the real stack programs under the offline engine
 * (offline/index.ts), in the deployment order of `planFleet` (hub bootstrap, spokes, edges,
 * spokes signing their edges' certificates, edges with their certificates, hub), and
 * typed accessors over the recorded Kubernetes resources (workloads, ConfigMaps, Secrets, Helm
 * release values). Nothing here invents configuration: every accessor reads a recorded input.
 */
import { asReference, reveal, runStack, SPOKES_ENV, type RecordedResource, type StackReferenceData, type StackRun } from "../offline";

/** A plain object. */
export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** One container of a pod template, as recorded. */
export interface PlanContainer {
  name: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  ports: { name?: string; containerPort: number }[];
}

/** One Kubernetes volume of a pod template, as recorded. */
export interface PlanVolume {
  name: string;
  secret?: { secretName: string };
  configMap?: { name: string };
  emptyDir?: { medium?: string; sizeLimit?: string };
  /** A projected ServiceAccount token (the hub's federated store gateways). */
  projected?: { sources: { serviceAccountToken?: { audience?: string; path: string } }[] };
}

/** A Deployment or StatefulSet of the plan. */
export interface PlanWorkload {
  kind: "Deployment" | "StatefulSet";
  name: string;
  namespace: string;
  replicas: number;
  labels: Record<string, string>;
  containers: PlanContainer[];
  volumes: PlanVolume[];
  /** StatefulSet volumeClaimTemplates names (persistent data dirs). */
  claims: string[];
  /** StatefulSet governing Service (the pods' DNS subdomain). */
  serviceName?: string;
}

/** A Service of the plan. */
export interface PlanService {
  name: string;
  namespace: string;
  headless: boolean;
  type: string;
  selector: Record<string, string>;
  ports: { name?: string; port: number; targetPort?: number | string }[];
}

/** The plan of one stack, with secrets revealed (the harness writes them to its private directory). */
export class StackPlan {
  readonly stack: string;
  readonly role: string | undefined;
  readonly resources: RecordedResource[];
  readonly outputs: Obj;

  constructor(readonly run: StackRun) {
    if (run.error !== undefined) throw new Error(`offline plan of ${run.stack} failed: ${run.error.message}`);
    this.stack = run.stack;
    this.role = run.role;
    this.resources = run.resources;
    this.outputs = reveal(run.outputs) as Obj;
  }

  private inputsOf(type: string): Obj[] {
    return this.resources.filter((r) => r.type === type && r.custom).map((r) => reveal(r.inputs) as Obj);
  }

  /** Deployments and StatefulSets. */
  workloads(): PlanWorkload[] {
    const out: PlanWorkload[] = [];
    for (const kind of ["Deployment", "StatefulSet"] as const) {
      for (const i of this.inputsOf(`kubernetes:apps/v1:${kind}`)) {
        const meta = i.metadata as Obj;
        const spec = i.spec as Obj;
        const tpl = (spec.template as Obj).spec as Obj;
        const containers = (tpl.containers as Obj[]).map((c) => ({
          name: String(c.name),
          args: Array.isArray(c.args) ? c.args.map(String) : [],
          env: Array.isArray(c.env) ? (c.env as PlanContainer["env"]) : [],
          volumeMounts: Array.isArray(c.volumeMounts) ? (c.volumeMounts as PlanContainer["volumeMounts"]) : [],
          ports: Array.isArray(c.ports) ? (c.ports as PlanContainer["ports"]) : [],
        }));
        const tplMeta = ((spec.template as Obj).metadata ?? {}) as Obj;
        const claims = Array.isArray(spec.volumeClaimTemplates) ? (spec.volumeClaimTemplates as Obj[]).map((t) => String((t.metadata as Obj).name)) : [];
        out.push({
          kind,
          name: String(meta.name),
          namespace: String(meta.namespace),
          replicas: typeof spec.replicas === "number" ? spec.replicas : 1,
          labels: (tplMeta.labels ?? meta.labels ?? {}) as Record<string, string>,
          containers,
          volumes: Array.isArray(tpl.volumes) ? (tpl.volumes as PlanVolume[]) : [],
          claims,
          serviceName: typeof spec.serviceName === "string" ? spec.serviceName : undefined,
        });
      }
    }
    return out;
  }

  /** The workload named `name` (fails with the names there are). */
  workload(name: string): PlanWorkload {
    const all = this.workloads();
    const w = all.find((x) => x.name === name);
    if (w === undefined) throw new Error(`${this.stack}: no Deployment/StatefulSet ${name} in the plan (there are: ${all.map((x) => x.name).join(", ")})`);
    return w;
  }

  hasWorkload(name: string): boolean {
    return this.workloads().some((x) => x.name === name);
  }

  /** Services. */
  services(): PlanService[] {
    return this.inputsOf("kubernetes:core/v1:Service").map((i) => {
      const meta = i.metadata as Obj;
      const spec = i.spec as Obj;
      return {
        name: String(meta.name),
        namespace: String(meta.namespace),
        headless: spec.clusterIP === "None",
        type: String(spec.type ?? "ClusterIP"),
        selector: (spec.selector ?? {}) as Record<string, string>,
        ports: (spec.ports ?? []) as PlanService["ports"],
      };
    });
  }

  /** Data of a ConfigMap or Secret by Kubernetes name (Secret `data` is base64, `stringData` plain). */
  objectData(kind: "ConfigMap" | "Secret", name: string): Record<string, string> {
    for (const i of this.inputsOf(`kubernetes:core/v1:${kind}`)) {
      if ((i.metadata as Obj).name !== name) continue;
      const out: Record<string, string> = {};
      if (isObj(i.data)) for (const [k, v] of Object.entries(i.data)) out[k] = kind === "Secret" ? Buffer.from(String(v), "base64").toString("utf8") : String(v);
      if (isObj(i.stringData)) for (const [k, v] of Object.entries(i.stringData)) out[k] = String(v);
      return out;
    }
    throw new Error(`${this.stack}: no ${kind} ${name} in the plan`);
  }

  /** Values of a Helm release by chart name. */
  releaseValues(chart: string): Obj {
    const r = this.inputsOf("kubernetes:helm.sh/v3:Release").find((i) => i.chart === chart);
    if (r === undefined) throw new Error(`${this.stack}: no Helm release of chart ${chart} in the plan`);
    return isObj(r.values) ? r.values : {};
  }

  /** `spec` of the typed PrometheusRules. */
  prometheusRules(): { name: string; spec: Obj }[] {
    return this.inputsOf("kubernetes:monitoring.coreos.com/v1:PrometheusRule").map((i) => ({ name: String((i.metadata as Obj).name), spec: i.spec as Obj }));
  }

  /** The typed ServiceMonitors: name, the Service labels they select, their endpoints. */
  serviceMonitors(): { name: string; selector: Record<string, string>; endpoints: { port: string; path?: string; interval?: string }[] }[] {
    return this.inputsOf("kubernetes:monitoring.coreos.com/v1:ServiceMonitor").map((i) => {
      const spec = (i.spec ?? {}) as Obj;
      const sel = isObj(spec.selector) && isObj(spec.selector.matchLabels) ? (spec.selector.matchLabels as Record<string, string>) : {};
      return { name: String((i.metadata as Obj).name), selector: sel, endpoints: Array.isArray(spec.endpoints) ? (spec.endpoints as { port: string; path?: string; interval?: string }[]) : [] };
    });
  }

  /** Labels of a typed Service by name. */
  serviceLabels(name: string): Record<string, string> | undefined {
    const i = this.inputsOf("kubernetes:core/v1:Service").find((x) => (x.metadata as Obj).name === name);
    return i === undefined ? undefined : (((i.metadata as Obj).labels ?? {}) as Record<string, string>);
  }

  /** The stack's `observability:*` config as written. */
  config(): Obj {
    return this.run.config;
  }
}

/** The fleet the harness runs. */
export interface LoopbackPlan {
  hub: StackPlan;
  spokes: StackPlan[];
  /** Edges, each with the certificate its zone spoke signed (the final pass of `planFleet`). */
  edges: StackPlan[];
  /** Milliseconds the offline engine took. */
  planMs: number;
}

const fail = (r: StackRun, what: string): never => {
  throw new Error(`${what} of ${r.stack} failed: ${r.error?.message ?? "unknown error"}`);
};

/**
 * Plans `spokes`, `edges` and their hub exactly as `planFleet` orders a deployment
 * (offline/index.ts, `FleetPhase`): the hub bootstrapped with no spokes, the spokes reading it,
 * the edges reading their zone spoke (publishing their certificate requests), the spokes with
 * edges again from their first pass's state (signing and admitting them), the edges again from
 * theirs (deploying with the signed certificate), then the hub reading the final spokes from its
 * bootstrap state. The hub's final pass is restricted to `spokes` with SOVEREIGN_SPOKES, the
 * program's own switch for a subset of its configured spokes (README "Order of deployment"), so
 * its rules and endpoints name only spokes that run here.
 */
export async function planLoopbackFleet(hubStack: string, spokes: readonly string[], edges: readonly string[] = []): Promise<LoopbackPlan> {
  const t0 = Date.now();
  const bootstrap = await runStack({ stack: hubStack, env: { [SPOKES_ENV]: "" } });
  if (bootstrap.error !== undefined) fail(bootstrap, "hub bootstrap");
  const hubRefs: Record<string, StackReferenceData> = { [hubStack]: asReference(bootstrap) };
  const firstSpokes = await Promise.all(spokes.map((s) => runStack({ stack: s, references: hubRefs })));
  const spokeRefs: Record<string, StackReferenceData> = {};
  for (const r of firstSpokes) {
    if (r.error !== undefined) fail(r, "offline plan");
    spokeRefs[r.stack] = asReference(r);
  }
  if (edges.length > 0) {
    const firstEdges = await Promise.all(edges.map((e) => runStack({ stack: e, references: spokeRefs })));
    const edgeRefs: Record<string, StackReferenceData> = {};
    for (const r of firstEdges) {
      if (r.error !== undefined) fail(r, "offline plan (first pass)");
      edgeRefs[r.stack] = asReference(r);
    }
    // The spokes that list these edges again, from their first pass's state (their CAs are the ones the edges already trust).
    const lists = (r: StackRun): boolean => {
      const v = (r.config.receive as { edges?: unknown } | undefined)?.edges;
      return Array.isArray(v) && v.some((e) => edges.includes(String(e)));
    };
    const spokeRuns = await Promise.all(firstSpokes.map((r) => (lists(r) ? runStack({ stack: r.stack, references: { ...hubRefs, ...edgeRefs }, prior: r }) : Promise.resolve(r))));
    for (const r of spokeRuns) {
      if (r.error !== undefined) fail(r, "offline plan (with its edges)");
      spokeRefs[r.stack] = asReference(r);
    }
    // The edges again (with the certificates the spokes signed) and the hub are independent: both run at once.
    const [again, hub] = await Promise.all([
      Promise.all(firstEdges.map((r) => runStack({ stack: r.stack, references: spokeRefs, prior: r }))),
      runStack({ stack: hubStack, references: { ...spokeRefs }, env: { [SPOKES_ENV]: spokes.join(",") }, prior: bootstrap }),
    ]);
    for (const r of again) if (r.error !== undefined) fail(r, "offline plan (with its certificate)");
    return { hub: new StackPlan(hub), spokes: spokeRuns.map((r) => new StackPlan(r)), edges: again.map((r) => new StackPlan(r)), planMs: Date.now() - t0 };
  }
  const hub = await runStack({ stack: hubStack, references: spokeRefs, env: { [SPOKES_ENV]: spokes.join(",") }, prior: bootstrap });
  return { hub: new StackPlan(hub), spokes: firstSpokes.map((r) => new StackPlan(r)), edges: [], planMs: Date.now() - t0 };
}
