/**
 * The flow check: evaluates the ingress NetworkPolicies of a set of Kubernetes manifests with
 * the Kubernetes semantics and compares what they admit with the declared flow table
 * ({@link ./flows}). It fails on a declared flow that the policies block, and on anything the
 * policies admit that the table does not declare (pods no policy selects are reported as
 * unrestricted unless the table says they may be).
 *
 * Semantics, all from https://kubernetes.io/docs/concepts/services-networking/network-policies/
 * ("The two sorts of pod isolation", "Behavior of to and from selectors", "NetworkPolicy
 * resource", "Targeting a range of ports"):
 * - a pod is isolated for ingress once any NetworkPolicy in its namespace selects it and has
 *   `Ingress` in its policyTypes (policyTypes absent: `Ingress` is always set); a pod no such
 *   policy selects admits all ingress;
 * - policies are additive: an isolated pod admits the union of what the rules of the policies
 *   selecting it admit; an empty `podSelector` selects every pod of the namespace;
 * - a rule admits a connection when it matches both a `from` peer and a `ports` entry; an
 *   empty or absent `from` matches every source, an empty or absent `ports` every port;
 * - `podSelector` alone selects pods of the policy's namespace; `namespaceSelector` alone all
 *   pods of the selected namespaces; both in one peer the selected pods of those namespaces;
 *   `ipBlock` a CIDR minus its `except` ranges;
 * - a port may be a number or a named container port of the target pod; protocol defaults to
 *   TCP; `endPort` makes a numeric port a range.
 * Label selectors: matchLabels AND matchExpressions (In, NotIn, Exists, DoesNotExist),
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements
 */

/** A Kubernetes object as plain data (typed resources and rendered charts alike). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
}

/** A label selector (`metav1.LabelSelector`). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export type Protocol = "TCP" | "UDP" | "SCTP";

/** A container port of a pod. */
export interface PodPort {
  name?: string;
  port: number;
  protocol: Protocol;
}

/** The pods of one workload (every replica carries the template's labels). */
export interface PodGroup {
  /** `Deployment/observability/thanos-query`. */
  workload: string;
  namespace: string;
  labels: Record<string, string>;
  ports: PodPort[];
}

/** Where a declared flow comes from. */
export type FlowSource =
  /** Pods of the target's namespace matching the labels. */
  | { kind: "pods"; selector: Record<string, string>; what: string }
  /** Addresses outside the pod network: a peer's egress IPs, the cluster's ranges, operators. */
  | { kind: "cidrs"; cidrs: readonly string[]; what: string };

/** One flow the platform needs. */
export interface Flow {
  /** Stable identifier, e.g. `hub-ruler-alertmanager`. */
  id: string;
  description: string;
  from: FlowSource;
  to: { selector: Record<string, string>; what: string };
  port: number;
  protocol: Protocol;
}

/** Pods that may stay without an ingress policy, and why. */
export interface UnrestrictedPods {
  selector: Record<string, string>;
  what: string;
  reason: string;
}

/** The declared flows of one stack. */
export interface FlowTable {
  role: "spoke" | "hub" | "edge";
  namespace: string;
  flows: readonly Flow[];
  unrestricted: readonly UnrestrictedPods[];
}

/** One finding of the check. */
export interface FlowFinding {
  kind: "blocked" | "undeclared" | "unrestricted" | "no-target";
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const strRecord = (v: unknown): Record<string, string> =>
  isObject(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string")) : {};

/** True when the labels satisfy the selector; an empty selector matches everything. */
export function selectorMatches(sel: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case "In":
        if (!has || !values.includes(labels[e.key])) return false;
        break;
      case "NotIn":
        // A pod without the key satisfies NotIn (labels docs, set-based requirement).
        if (has && values.includes(labels[e.key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        throw new Error(`label selector: unknown operator ${e.operator}`);
    }
  }
  return true;
}

function asSelector(v: unknown): LabelSelector | undefined {
  if (!isObject(v)) return undefined;
  const exprs = Array.isArray(v.matchExpressions)
    ? v.matchExpressions.filter(isObject).map((e) => ({ key: String(e.key), operator: String(e.operator), values: Array.isArray(e.values) ? e.values.map(String) : undefined }))
    : undefined;
  return { matchLabels: strRecord(v.matchLabels), matchExpressions: exprs };
}

function protocolOf(v: unknown): Protocol {
  return v === "UDP" || v === "SCTP" ? v : "TCP";
}

function containerPorts(podSpec: Record<string, unknown>): PodPort[] {
  const containers = [...(Array.isArray(podSpec.containers) ? podSpec.containers : []), ...(Array.isArray(podSpec.initContainers) ? podSpec.initContainers : [])].filter(isObject);
  return containers.flatMap((c) =>
    (Array.isArray(c.ports) ? c.ports : []).filter(isObject).map((p) => ({ ...(typeof p.name === "string" ? { name: p.name } : {}), port: Number(p.containerPort), protocol: protocolOf(p.protocol) })),
  );
}

/**
 * The pods a Prometheus Operator CR makes. The operator is not rendered by helm: its
 * StatefulSets come from these rules (prometheus-operator v0.93, pkg/alertmanager/statefulset.go
 * and pkg/prometheus/statefulset.go): pod labels `app.kubernetes.io/name` (alertmanager or
 * prometheus), `app.kubernetes.io/instance` and `<kind>: <name>` = the CR name,
 * `app.kubernetes.io/managed-by: prometheus-operator`, plus `spec.podMetadata.labels`;
 * Alertmanager ports: web `spec.portName` (default `http-web`) 9093, `mesh-tcp` 9094/TCP and
 * `mesh-udp` 9094/UDP; Prometheus ports: web 9090 and, with a Thanos sidecar, `grpc` 10901 and
 * `http` 10902; extra `spec.containers` ports are added.
 */
function operatorPods(m: KubeObject, namespace: string): PodGroup | undefined {
  if (!m.apiVersion.startsWith("monitoring.coreos.com/")) return undefined;
  if (m.kind === "PrometheusAgent") return agentPods(m, namespace);
  if (m.kind !== "Alertmanager" && m.kind !== "Prometheus") return undefined;
  const spec = isObject(m.spec) ? m.spec : {};
  const name = m.metadata.name;
  const app = m.kind === "Alertmanager" ? "alertmanager" : "prometheus";
  const podMeta = isObject(spec.podMetadata) ? spec.podMetadata : {};
  const labels: Record<string, string> = {
    ...strRecord(podMeta.labels),
    "app.kubernetes.io/name": app,
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/managed-by": "prometheus-operator",
    [app]: name,
    ...(app === "prometheus" ? { "operator.prometheus.io/name": name, "operator.prometheus.io/shard": "0" } : {}),
  };
  const portName = typeof spec.portName === "string" ? spec.portName : "http-web";
  const ports: PodPort[] =
    app === "alertmanager"
      ? [{ name: portName, port: 9093, protocol: "TCP" }, { name: "mesh-tcp", port: 9094, protocol: "TCP" }, { name: "mesh-udp", port: 9094, protocol: "UDP" }]
      : [{ name: portName, port: 9090, protocol: "TCP" }, ...(isObject(spec.thanos) ? [{ name: "grpc", port: 10901, protocol: "TCP" as const }, { name: "http", port: 10902, protocol: "TCP" as const }] : [])];
  const extra = containerPorts({ containers: spec.containers });
  for (const p of extra) if (!ports.some((x) => x.name === p.name && p.name !== undefined)) ports.push(p);
  return { workload: `${m.kind}/${namespace}/${name}`, namespace, labels, ports };
}

/**
 * The pods of a PrometheusAgent CR (an edge's agent): prometheus-operator v0.93
 * pkg/prometheus/agent/statefulset.go labels them `app.kubernetes.io/name: prometheus-agent`,
 * `app.kubernetes.io/instance` and `operator.prometheus.io/name` = the CR name,
 * `app.kubernetes.io/managed-by: prometheus-operator`, shard 0, plus `spec.podMetadata.labels`;
 * the web port is 9090 (the agent serves /metrics and /-/ready there).
 */
function agentPods(m: KubeObject, namespace: string): PodGroup {
  const spec = isObject(m.spec) ? m.spec : {};
  const name = m.metadata.name;
  const podMeta = isObject(spec.podMetadata) ? spec.podMetadata : {};
  const labels: Record<string, string> = {
    ...strRecord(podMeta.labels),
    "app.kubernetes.io/name": "prometheus-agent",
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/managed-by": "prometheus-operator",
    "operator.prometheus.io/name": name,
    "operator.prometheus.io/shard": "0",
  };
  const portName = typeof spec.portName === "string" ? spec.portName : "http-web";
  return { workload: `PrometheusAgent/${namespace}/${name}`, namespace, labels, ports: [{ name: portName, port: 9090, protocol: "TCP" }] };
}

/** The pods of every workload in a manifest set (pod templates, Pods, Prometheus Operator CRs). */
export function podGroups(manifests: readonly KubeObject[], defaultNamespace: string): PodGroup[] {
  const out: PodGroup[] = [];
  for (const m of manifests) {
    const ns = m.metadata.namespace ?? defaultNamespace;
    const op = operatorPods(m, ns);
    if (op !== undefined) {
      out.push(op);
      continue;
    }
    const spec = isObject(m.spec) ? m.spec : undefined;
    if (spec === undefined) continue;
    let template: Record<string, unknown> | undefined;
    if (m.kind === "Pod") template = { metadata: m.metadata, spec };
    else if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"].includes(m.kind) && isObject(spec.template)) template = spec.template;
    else if (m.kind === "CronJob" && isObject(spec.jobTemplate) && isObject(spec.jobTemplate.spec) && isObject(spec.jobTemplate.spec.template)) template = spec.jobTemplate.spec.template;
    if (template === undefined || !isObject(template.spec)) continue;
    const meta = isObject(template.metadata) ? template.metadata : {};
    out.push({ workload: `${m.kind}/${ns}/${m.metadata.name}`, namespace: ns, labels: strRecord(meta.labels), ports: containerPorts(template.spec) });
  }
  return out;
}

// ---- IPv4 ranges ---------------------------------------------------------------------------

type Range = [number, number];

/** An IPv4 CIDR as an inclusive address range. */
export function cidrRange(cidr: string): Range {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(cidr);
  if (m === null) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const bits = m[5] === undefined ? 32 : Number(m[5]);
  if (bits > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const ip = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
  const size = 2 ** (32 - bits);
  const start = Math.floor(ip / size) * size;
  return [start, start + size - 1];
}

function subtract(ranges: Range[], cut: Range): Range[] {
  return ranges.flatMap(([a, b]): Range[] => {
    if (cut[1] < a || cut[0] > b) return [[a, b]];
    return [...(cut[0] > a ? [[a, cut[0] - 1] as Range] : []), ...(cut[1] < b ? [[cut[1] + 1, b] as Range] : [])];
  });
}

/** The addresses of `cidrs` (minus `except`) not covered by `cover`. */
function uncovered(cidrs: readonly string[], except: readonly string[], cover: readonly string[]): Range[] {
  let left = cidrs.map(cidrRange);
  for (const e of except) left = subtract(left, cidrRange(e));
  for (const c of cover) left = subtract(left, cidrRange(c));
  return left;
}

const ipString = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
const rangeString = ([a, b]: Range): string => (a === b ? ipString(a) : `${ipString(a)}-${ipString(b)}`);

// ---- policies ------------------------------------------------------------------------------

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except: string[] };
}

interface RulePort {
  protocol: Protocol;
  /** Undefined: every port of the protocol. */
  port?: number | string;
  endPort?: number;
}

interface Rule {
  /** Undefined: every source. */
  from?: Peer[];
  /** Undefined: every port. */
  ports?: RulePort[];
}

interface Policy {
  name: string;
  namespace: string;
  podSelector: LabelSelector;
  ingress: Rule[];
}

function parsePolicies(manifests: readonly KubeObject[], defaultNamespace: string): Policy[] {
  const out: Policy[] = [];
  for (const m of manifests) {
    if (m.kind !== "NetworkPolicy" || !m.apiVersion.startsWith("networking.k8s.io/")) continue;
    const spec = isObject(m.spec) ? m.spec : {};
    const types = Array.isArray(spec.policyTypes) ? spec.policyTypes.map(String) : ["Ingress"];
    if (!types.includes("Ingress")) continue;
    const rules = (Array.isArray(spec.ingress) ? spec.ingress : []).filter(isObject).map((r): Rule => {
      const from = Array.isArray(r.from) && r.from.length > 0
        ? r.from.filter(isObject).map((f): Peer => ({
          ...(f.podSelector !== undefined && f.podSelector !== null ? { podSelector: asSelector(f.podSelector) ?? {} } : {}),
          ...(f.namespaceSelector !== undefined && f.namespaceSelector !== null ? { namespaceSelector: asSelector(f.namespaceSelector) ?? {} } : {}),
          ...(isObject(f.ipBlock) ? { ipBlock: { cidr: String(f.ipBlock.cidr), except: Array.isArray(f.ipBlock.except) ? f.ipBlock.except.map(String) : [] } } : {}),
        }))
        : undefined;
      const ports = Array.isArray(r.ports) && r.ports.length > 0
        ? r.ports.filter(isObject).map((p): RulePort => ({
          protocol: protocolOf(p.protocol),
          ...(typeof p.port === "number" || typeof p.port === "string" ? { port: p.port } : {}),
          ...(typeof p.endPort === "number" ? { endPort: p.endPort } : {}),
        }))
        : undefined;
      return { from, ports };
    });
    out.push({ name: m.metadata.name, namespace: m.metadata.namespace ?? defaultNamespace, podSelector: asSelector(spec.podSelector) ?? {}, ingress: rules });
  }
  return out;
}

/** Whether a rule port admits (port, protocol) on a target pod; named ports resolve against its containers. */
function portAdmits(rp: RulePort, target: PodGroup, port: number, protocol: Protocol): boolean {
  if (rp.protocol !== protocol) return false;
  if (rp.port === undefined) return true;
  if (typeof rp.port === "string") {
    // A named port selects the target container port of that name and protocol.
    return target.ports.some((p) => p.name === rp.port && p.protocol === protocol && p.port === port);
  }
  return rp.endPort !== undefined ? port >= rp.port && port <= rp.endPort : port === rp.port;
}

function rulePortsAdmit(rule: Rule, target: PodGroup, port: number, protocol: Protocol): boolean {
  return rule.ports === undefined || rule.ports.some((rp) => portAdmits(rp, target, port, protocol));
}

function namespaceLabels(ns: string, namespaces: ReadonlyMap<string, Record<string, string>>): Record<string, string> {
  // The control plane sets `kubernetes.io/metadata.name` on every namespace (Kubernetes ≥ 1.22,
  // https://kubernetes.io/docs/reference/labels-annotations-taints/#kubernetes-io-metadata-name).
  return { ...(namespaces.get(ns) ?? {}), "kubernetes.io/metadata.name": ns };
}

/** Whether a peer selects a source pod (of namespace `srcNs`) for a policy in `policyNs`. */
function peerSelectsPod(peer: Peer, policyNs: string, src: PodGroup, namespaces: ReadonlyMap<string, Record<string, string>>): boolean {
  if (peer.ipBlock !== undefined) return false;
  if (peer.namespaceSelector !== undefined) {
    if (!selectorMatches(peer.namespaceSelector, namespaceLabels(src.namespace, namespaces))) return false;
  } else if (src.namespace !== policyNs) return false;
  return peer.podSelector === undefined || selectorMatches(peer.podSelector, src.labels);
}

function isolatingPolicies(policies: readonly Policy[], pod: PodGroup): Policy[] {
  return policies.filter((p) => p.namespace === pod.namespace && selectorMatches(p.podSelector, pod.labels));
}

export interface FlowCheckInput {
  table: FlowTable;
  manifests: readonly KubeObject[];
  /** Namespace of manifests without one (helm renders some without `metadata.namespace`). */
  defaultNamespace?: string;
}

export interface FlowCheckResult {
  ok: boolean;
  findings: FlowFinding[];
  /** Every pod group the check saw, with the policies isolating it. */
  pods: { workload: string; policies: string[] }[];
}

/**
 * Checks a manifest set against a flow table: every declared flow must be admitted, and every
 * admitted source must be declared. Pure; the same function judges typed resources and the
 * full rendered manifest set.
 */
export function checkFlows(input: FlowCheckInput): FlowCheckResult {
  const { table } = input;
  const defaultNs = input.defaultNamespace ?? table.namespace;
  const pods = podGroups(input.manifests, defaultNs);
  const policies = parsePolicies(input.manifests, defaultNs);
  const namespaces = new Map<string, Record<string, string>>(
    input.manifests.filter((m) => m.kind === "Namespace").map((m) => [m.metadata.name, { ...(m.metadata.labels ?? {}) }]),
  );
  const findings: FlowFinding[] = [];
  const inNs = pods.filter((p) => p.namespace === table.namespace);

  // 1. Every declared flow is admitted.
  for (const f of table.flows) {
    const targets = inNs.filter((p) => selectorMatches({ matchLabels: f.to.selector }, p.labels));
    if (targets.length === 0) {
      findings.push({ kind: "no-target", message: `flow ${f.id}: no pod matches ${f.to.what} (${JSON.stringify(f.to.selector)})` });
      continue;
    }
    for (const t of targets) {
      // A numeric flow needs no declared container port: "Not specifying a port here DOES NOT
      // prevent that port from being exposed" (Kubernetes API, Container.ports).
      const iso = isolatingPolicies(policies, t);
      if (iso.length === 0) continue; // not isolated: admits everything
      const rules = iso.flatMap((p) => p.ingress.filter((r) => rulePortsAdmit(r, t, f.port, f.protocol)).map((r) => ({ policy: p, rule: r })));
      if (f.from.kind === "pods") {
        const sel = f.from.selector;
        const sources = inNs.filter((p) => selectorMatches({ matchLabels: sel }, p.labels));
        if (sources.length === 0) findings.push({ kind: "no-target", message: `flow ${f.id}: no pod matches the source ${f.from.what}` });
        for (const s of sources) {
          const ok = rules.some(({ policy, rule }) => rule.from === undefined || rule.from.some((peer) => peerSelectsPod(peer, policy.namespace, s, namespaces)));
          if (!ok) findings.push({ kind: "blocked", message: `flow ${f.id} blocked: ${s.workload} -> ${t.workload} ${f.port}/${f.protocol} (policies ${iso.map((p) => p.name).join(", ")})` });
        }
      } else {
        // The admitted addresses are the union of the ipBlocks (minus their excepts) of the matching rules.
        if (rules.some(({ rule }) => rule.from === undefined)) continue;
        let left = f.from.cidrs.map(cidrRange);
        for (const { rule } of rules) {
          for (const peer of rule.from ?? []) {
            if (peer.ipBlock === undefined) continue;
            const admitted = peer.ipBlock.except.reduce((acc, e) => subtract(acc, cidrRange(e)), [cidrRange(peer.ipBlock.cidr)]);
            for (const a of admitted) left = subtract(left, a);
          }
        }
        if (left.length > 0) findings.push({ kind: "blocked", message: `flow ${f.id} blocked: ${f.from.what} (${left.map(rangeString).join(", ")}) -> ${t.workload} ${f.port}/${f.protocol} (policies ${iso.map((p) => p.name).join(", ")})` });
      }
    }
  }

  // 2. Everything admitted is declared; pods without a policy are declared unrestricted.
  const declaredFor = (t: PodGroup, port: number, protocol: Protocol): Flow[] =>
    table.flows.filter((f) => f.port === port && f.protocol === protocol && selectorMatches({ matchLabels: f.to.selector }, t.labels));
  for (const t of inNs) {
    const iso = isolatingPolicies(policies, t);
    if (iso.length === 0) {
      if (!table.unrestricted.some((u) => selectorMatches({ matchLabels: u.selector }, t.labels))) {
        findings.push({ kind: "unrestricted", message: `${t.workload}: no NetworkPolicy selects it (it admits every source) and the flow table does not declare it unrestricted` });
      }
      continue;
    }
    for (const policy of iso) {
      for (const rule of policy.ingress) {
        // The target's ports this rule opens; a rule without ports opens every port (checked on the declared container ports).
        const opened = t.ports.filter((p) => rulePortsAdmit(rule, t, p.port, p.protocol));
        const extraNumeric = (rule.ports ?? []).filter((rp) => typeof rp.port === "number" && !t.ports.some((p) => portAdmits(rp, t, p.port, p.protocol)));
        for (const rp of extraNumeric) opened.push({ port: Number(rp.port), protocol: rp.protocol });
        if (rule.ports === undefined) findings.push({ kind: "undeclared", message: `policy ${policy.name}: a rule opens every port of ${t.workload}` });
        for (const op of opened) {
          const declared = declaredFor(t, op.port, op.protocol);
          const where = `policy ${policy.name} admits`;
          const to = `${t.workload} ${op.port}/${op.protocol}`;
          if (rule.from === undefined) {
            if (declared.length === 0 || !declared.some((f) => f.from.kind === "cidrs" && uncovered(["0.0.0.0/0"], [], f.from.cidrs).length === 0)) findings.push({ kind: "undeclared", message: `${where} every source -> ${to}` });
            continue;
          }
          for (const peer of rule.from) {
            if (peer.ipBlock !== undefined) {
              const cover = declared.flatMap((f) => (f.from.kind === "cidrs" ? [...f.from.cidrs] : []));
              const left = uncovered([peer.ipBlock.cidr], peer.ipBlock.except, cover);
              if (left.length > 0) findings.push({ kind: "undeclared", message: `${where} ${left.map(rangeString).join(", ")} (ipBlock ${peer.ipBlock.cidr}) -> ${to}, not declared` });
              continue;
            }
            if (peer.namespaceSelector !== undefined && !(Object.keys(peer.namespaceSelector.matchLabels ?? {}).length === 1 && peer.namespaceSelector.matchLabels?.["kubernetes.io/metadata.name"] === policy.namespace && (peer.namespaceSelector.matchExpressions ?? []).length === 0)) {
              // Pods of other namespaces are outside the manifest set: never declared.
              findings.push({ kind: "undeclared", message: `${where} pods of namespaces ${JSON.stringify(peer.namespaceSelector)} -> ${to}, not declared` });
              continue;
            }
            const podSel = peer.podSelector ?? {};
            const emptySel = Object.keys(podSel.matchLabels ?? {}).length === 0 && (podSel.matchExpressions ?? []).length === 0;
            const sources = inNs.filter((s) => selectorMatches(podSel, s.labels));
            for (const s of sources) {
              const ok = declared.some((f) => f.from.kind === "pods" && selectorMatches({ matchLabels: f.from.selector }, s.labels));
              if (!ok) findings.push({ kind: "undeclared", message: `${where} ${s.workload} -> ${to}, not declared` });
            }
            // An empty selector also admits every pod created later in the namespace.
            if (emptySel && !declared.some((f) => f.from.kind === "pods" && Object.keys(f.from.selector).length === 0)) {
              findings.push({ kind: "undeclared", message: `${where} every pod of namespace ${policy.namespace} (empty podSelector) -> ${to}, not declared` });
            }
          }
        }
      }
    }
  }
  const unique = [...new Map(findings.map((f) => [`${f.kind}:${f.message}`, f])).values()];
  return { ok: unique.length === 0, findings: unique, pods: pods.map((p) => ({ workload: p.workload, policies: isolatingPolicies(policies, p).map((x) => x.name) })) };
}
