/**
 * The flow check's Kubernetes semantics, and the declared flow tables of both roles judged by
 * it: the hub's Alertmanager policy as it was before issue 11 item 2 fails, the policies
 * rendered from the table pass. Every rule encoded here is Kubernetes', cited beside it from
 * https://kubernetes.io/docs/concepts/services-networking/network-policies/ (NP) and
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/ (labels).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { checkFlows, cidrRange, podGroups, selectorMatches, type Flow, type FlowTable, type KubeObject } from "../components/exposure/flows-check";
import { hubFlowTable, POD_SELECTORS, renderFlowPolicies, spokeFlowTable } from "../components/exposure/flows";

const NS = "observability";

function deployment(name: string, labels: Record<string, string>, ports: { name?: string; containerPort: number; protocol?: string }[]): KubeObject {
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace: NS }, spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name, image: "x", ports }] } } } };
}

function policy(name: string, spec: Record<string, unknown>, namespace = NS): KubeObject {
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace }, spec };
}

const server = deployment("server", { app: "server" }, [{ name: "web", containerPort: 8080 }, { name: "gossip-udp", containerPort: 9094, protocol: "UDP" }, { name: "gossip-tcp", containerPort: 9094 }]);
const client = deployment("client", { app: "client" }, []);
const other = deployment("other", { app: "other" }, []);

function table(flows: Flow[], unrestricted: FlowTable["unrestricted"] = [{ selector: { app: "client" }, what: "client", reason: "t" }, { selector: { app: "other" }, what: "other", reason: "t" }]): FlowTable {
  return { role: "hub", namespace: NS, flows, unrestricted };
}
const fromClient = (port: number, protocol: "TCP" | "UDP" = "TCP", id = `client-${port}-${protocol}`): Flow => ({ id, description: "", from: { kind: "pods", selector: { app: "client" }, what: "client" }, to: { selector: { app: "server" }, what: "server" }, port, protocol });
const kinds = (r: ReturnType<typeof checkFlows>, kind: string): string[] => r.findings.filter((f) => f.kind === kind).map((f) => f.message);

describe("flow check: Kubernetes NetworkPolicy semantics", () => {
  it("a pod no policy selects admits everything: nothing is blocked, and it is reported unless declared unrestricted (NP: 'By default, a pod is non-isolated for ingress')", () => {
    const r = checkFlows({ table: table([fromClient(8080)]), manifests: [server, client, other] });
    assert.deepEqual(kinds(r, "blocked"), []);
    assert.match(kinds(r, "unrestricted").join("\n"), /Deployment\/observability\/server: no NetworkPolicy selects it/);
  });

  it("policies are additive: two policies selecting a pod admit the union of their rules (NP: 'Network policies do not conflict; they are additive')", () => {
    const a = policy("a", { podSelector: { matchLabels: { app: "server" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: { matchLabels: { app: "client" } } }], ports: [{ port: 8080 }] }] });
    const b = policy("b", { podSelector: { matchLabels: { app: "server" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: { matchLabels: { app: "client" } } }], ports: [{ port: 9094, protocol: "UDP" }] }] });
    const flows = [fromClient(8080), fromClient(9094, "UDP")];
    assert.equal(checkFlows({ table: table(flows), manifests: [server, client, other, a, b] }).ok, true);
    // Either policy alone isolates the pod and drops the other's flow.
    assert.match(kinds(checkFlows({ table: table(flows), manifests: [server, client, other, a] }), "blocked").join("\n"), /client-9094-UDP blocked/);
    assert.match(kinds(checkFlows({ table: table(flows), manifests: [server, client, other, b] }), "blocked").join("\n"), /client-8080-TCP blocked/);
  });

  it("an empty podSelector selects every pod of the namespace, and a policy without rules then drops every flow (NP: 'Default deny all ingress traffic')", () => {
    const deny = policy("deny", { podSelector: {}, policyTypes: ["Ingress"] });
    const r = checkFlows({ table: table([fromClient(8080)], []), manifests: [server, client, deny] });
    assert.match(kinds(r, "blocked").join("\n"), /client-8080-TCP blocked/);
    assert.deepEqual(kinds(r, "unrestricted"), [], "every pod is isolated");
  });

  it("policyTypes absent: Ingress is always set; Egress-only policies do not isolate for ingress (NP, NetworkPolicy resource 'policyTypes')", () => {
    const noTypes = policy("n", { podSelector: { matchLabels: { app: "server" } } });
    assert.match(kinds(checkFlows({ table: table([fromClient(8080)]), manifests: [server, client, other, noTypes] }), "blocked").join("\n"), /blocked/);
    const egress = policy("e", { podSelector: { matchLabels: { app: "server" } }, policyTypes: ["Egress"] });
    assert.deepEqual(kinds(checkFlows({ table: table([fromClient(8080)]), manifests: [server, client, other, egress] }), "blocked"), []);
  });

  it("a peer podSelector {} admits every pod of the policy's namespace, including pods the table does not declare (NP: 'Behavior of to and from selectors')", () => {
    const open = policy("open", { podSelector: { matchLabels: { app: "server" } }, ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 8080 }] }] });
    const r = checkFlows({ table: table([fromClient(8080)]), manifests: [server, client, other, open] });
    const undeclared = kinds(r, "undeclared").join("\n");
    assert.match(undeclared, /Deployment\/observability\/other -> Deployment\/observability\/server 8080\/TCP, not declared/);
    assert.match(undeclared, /every pod of namespace observability \(empty podSelector\)/);
    assert.doesNotMatch(undeclared, /Deployment\/observability\/client ->/);
  });

  it("a peer namespaceSelector admits pods of other namespaces, never declared; a rule without from admits every source (NP)", () => {
    const ns = policy("ns", { podSelector: { matchLabels: { app: "server" } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "x" } } }], ports: [{ port: 8080 }] }] });
    assert.match(kinds(checkFlows({ table: table([fromClient(8080)]), manifests: [server, client, other, ns] }), "undeclared").join("\n"), /pods of namespaces/);
    const any = policy("any", { podSelector: { matchLabels: { app: "server" } }, ingress: [{ ports: [{ port: 8080 }] }] });
    const r = checkFlows({ table: table([fromClient(8080)]), manifests: [server, client, other, any] });
    assert.deepEqual(kinds(r, "blocked"), []);
    assert.match(kinds(r, "undeclared").join("\n"), /admits every source/);
  });

  it("matchLabels AND matchExpressions (In, NotIn, Exists, DoesNotExist); NotIn matches a pod without the key (labels: 'Set-based requirement')", () => {
    const labels = { app: "loki", component: "write" };
    assert.equal(selectorMatches({ matchLabels: { app: "loki" }, matchExpressions: [{ key: "component", operator: "In", values: ["write", "read"] }] }, labels), true);
    assert.equal(selectorMatches({ matchLabels: { app: "loki" }, matchExpressions: [{ key: "component", operator: "NotIn", values: ["write"] }] }, labels), false);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["x"] }] }, labels), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "component", operator: "Exists" }] }, labels), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "component", operator: "DoesNotExist" }] }, labels), false);
    assert.equal(selectorMatches({ matchLabels: { app: "loki", component: "read" } }, labels), false, "matchLabels are ANDed");
    assert.equal(selectorMatches({}, labels), true, "an empty selector matches every pod");
    // Through a policy: the gateway excluded by NotIn stays unrestricted.
    const gw = deployment("gw", { app: "loki", component: "gateway" }, []);
    const wr = deployment("wr", labels, [{ containerPort: 3100 }]);
    const p = policy("loki", { podSelector: { matchLabels: { app: "loki" }, matchExpressions: [{ key: "component", operator: "NotIn", values: ["gateway"] }] }, policyTypes: ["Ingress"] });
    const r = checkFlows({ table: { role: "spoke", namespace: NS, flows: [], unrestricted: [] }, manifests: [gw, wr, p] });
    assert.deepEqual(r.pods.find((x) => x.workload.endsWith("/gw"))?.policies, []);
    assert.deepEqual(r.pods.find((x) => x.workload.endsWith("/wr"))?.policies, ["loki"]);
  });

  it("a named port resolves against the target's container ports, with its protocol; protocol defaults to TCP (NP: 'port ... numerical or named port'; 'protocol ... defaults to TCP')", () => {
    const named = policy("named", { podSelector: { matchLabels: { app: "server" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "client" } } }], ports: [{ port: "gossip-udp", protocol: "UDP" }, { port: "web" }] }] });
    const flows = [fromClient(9094, "UDP"), fromClient(8080), fromClient(9094, "TCP")];
    const r = checkFlows({ table: table(flows), manifests: [server, client, other, named] });
    assert.deepEqual(kinds(r, "blocked").map((m) => m.split(":")[0]), ["flow client-9094-TCP blocked"], "UDP 9094 and web are admitted, TCP 9094 is not");
    // A named port with the wrong protocol matches nothing: `gossip-udp` is UDP.
    const wrong = policy("wrong", { podSelector: { matchLabels: { app: "server" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "client" } } }], ports: [{ port: "gossip-udp" }] }] });
    assert.match(kinds(checkFlows({ table: table([fromClient(9094, "UDP")]), manifests: [server, client, other, wrong] }), "blocked").join("\n"), /client-9094-UDP blocked/);
  });

  it("UDP and TCP are distinct: a rule on 9094 (TCP by default) drops the UDP flow to 9094 (NP: 'protocol')", () => {
    const tcp = policy("tcp", { podSelector: { matchLabels: { app: "server" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "client" } } }], ports: [{ port: 9094 }] }] });
    const r = checkFlows({ table: table([fromClient(9094, "TCP"), fromClient(9094, "UDP")]), manifests: [server, client, other, tcp] });
    assert.deepEqual(kinds(r, "blocked").map((m) => m.split(":")[0]), ["flow client-9094-UDP blocked"]);
  });

  it("endPort makes a numeric port a range (NP: 'Targeting a range of ports')", () => {
    const range = policy("range", { podSelector: { matchLabels: { app: "server" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "client" } } }], ports: [{ port: 8000, endPort: 8100 }] }] });
    assert.deepEqual(kinds(checkFlows({ table: table([fromClient(8080)]), manifests: [server, client, other, range] }), "blocked"), []);
    assert.match(kinds(checkFlows({ table: table([fromClient(9094)]), manifests: [server, client, other, range] }), "blocked").join("\n"), /blocked/);
  });

  it("ipBlock admits its CIDR minus the except ranges (NP: 'ipBlock ... except')", () => {
    const lb = (cidrs: string[]): Flow => ({ id: "peers", description: "", from: { kind: "cidrs", cidrs, what: "peers" }, to: { selector: { app: "server" }, what: "server" }, port: 8080, protocol: "TCP" });
    const p = policy("ip", { podSelector: { matchLabels: { app: "server" } }, ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/16", except: ["10.0.1.0/24"] } }], ports: [{ port: 8080 }] }] });
    assert.deepEqual(kinds(checkFlows({ table: table([lb(["10.0.2.7/32"])]), manifests: [server, client, other, p] }), "blocked"), []);
    assert.match(kinds(checkFlows({ table: table([lb(["10.0.1.5/32"])]), manifests: [server, client, other, p] }), "blocked").join("\n"), /peers blocked: peers \(10\.0\.1\.5\)/);
    // Admitted but undeclared: the /16 minus the except, minus the declared /17.
    const undeclared = kinds(checkFlows({ table: table([lb(["10.0.0.0/17"])]), manifests: [server, client, other, p] }), "undeclared").join("\n");
    assert.match(undeclared, /10\.0\.128\.0-10\.0\.255\.255/);
    assert.doesNotMatch(undeclared, /10\.0\.1\./, "the except range is not admitted");
    assert.deepEqual(cidrRange("10.0.1.9/24"), cidrRange("10.0.1.0/24"), "host bits are ignored like the API server's CIDR parsing");
  });

  it("Prometheus Operator CRs become their pods: Alertmanager web, mesh-tcp and mesh-udp (prometheus-operator pkg/alertmanager/statefulset.go)", () => {
    const am: KubeObject = { apiVersion: "monitoring.coreos.com/v1", kind: "Alertmanager", metadata: { name: "kps-alertmanager", namespace: NS }, spec: { replicas: 2, containers: [{ name: "tls-proxy", ports: [{ containerPort: 9443, name: "https-spokes" }] }] } };
    const [g] = podGroups([am], NS);
    assert.deepEqual(g.labels.alertmanager, "kps-alertmanager");
    assert.equal(g.labels["app.kubernetes.io/name"], "alertmanager");
    assert.deepEqual(g.ports.map((p) => `${p.name}=${p.port}/${p.protocol}`), ["http-web=9093/TCP", "mesh-tcp=9094/TCP", "mesh-udp=9094/UDP", "https-spokes=9443/TCP"]);
  });
});

// ---- the declared tables ----------------------------------------------------------------------

const SPOKE_IPS = ["192.0.2.241", "192.0.2.46", "198.51.100.147", "203.0.113.126", "203.0.113.227"];
const HUB_IPS = ["192.0.2.113", "203.0.113.206"];

/** The hub's pods as kps, the Thanos workloads and the grafana chart render them (labels and ports from the planned fleet). */
function hubPods(): KubeObject[] {
  return [
    { apiVersion: "monitoring.coreos.com/v1", kind: "Alertmanager", metadata: { name: "kps-alertmanager", namespace: NS }, spec: { replicas: 2, containers: [{ name: "tls-proxy", ports: [{ containerPort: 9443, name: "https-spokes" }] }] } },
    deployment("thanos-rule", { ...POD_SELECTORS.thanosRule, "app.kubernetes.io/component": "thanos", "app.kubernetes.io/part-of": "sovereign-observability" }, [{ name: "http", containerPort: 10902 }, { name: "grpc", containerPort: 10901 }]),
    deployment("grafana", { ...POD_SELECTORS.grafana }, [{ name: "grafana", containerPort: 3000 }]),
    deployment("kps-operator", { "app.kubernetes.io/instance": "kps", "app.kubernetes.io/part-of": "kube-prometheus-stack" }, [{ name: "https", containerPort: 10250 }]),
  ];
}

const OLD_HUB_POLICY = parse(readFileSync(join(__dirname, "fixtures", "old-alertmanager-spokes-ingress.yaml"), "utf8")) as KubeObject;

describe("flow tables: the hub", () => {
  const hub = hubFlowTable({ namespace: NS, spokeEgressIps: SPOKE_IPS, clusterCidrs: ["10.0.0.0/16"], operatorCidrs: ["198.51.100.0/24"] });

  it("the Alertmanager policy as it was before issue 11 item 2 blocks the ruler's alerts and the peer mesh, and admits every pod of the namespace on 9443", () => {
    const grafanaPolicy = renderFlowPolicies(hub, {}).filter((p) => p.metadata.name === "grafana-ingress");
    const r = checkFlows({ table: hub, manifests: [...hubPods(), OLD_HUB_POLICY, ...grafanaPolicy] });
    assert.equal(r.ok, false);
    const blocked = kinds(r, "blocked").map((m) => m.split(":")[0]).sort();
    assert.deepEqual(blocked, ["flow alertmanager-mesh-tcp blocked", "flow alertmanager-mesh-udp blocked", "flow ruler-sends-alerts blocked"]);
    assert.match(kinds(r, "undeclared").join("\n"), /alertmanager-spokes-ingress admits every pod of namespace observability \(empty podSelector\) -> Alertmanager\/observability\/kps-alertmanager 9443\/TCP/);
  });

  it("the policies rendered from the table admit every declared flow and nothing else", () => {
    const r = checkFlows({ table: hub, manifests: [...hubPods(), ...renderFlowPolicies(hub, {})] });
    assert.deepEqual(r.findings, []);
  });

  it("Grafana is isolated: without operator ranges nothing but its own node (port-forward) reaches it", () => {
    const closed = hubFlowTable({ namespace: NS, spokeEgressIps: [], clusterCidrs: ["10.0.0.0/16"], operatorCidrs: [] });
    const g = renderFlowPolicies(closed, {}).find((p) => p.metadata.name === "grafana-ingress");
    assert.deepEqual(g?.spec.ingress, []);
    assert.deepEqual(checkFlows({ table: closed, manifests: [...hubPods(), ...renderFlowPolicies(closed, {})] }).findings, []);
  });
});

describe("flow tables: a spoke", () => {
  const lokiPorts = [{ name: "http-metrics", containerPort: 3100 }, { name: "grpc", containerPort: 9095 }, { name: "http-memberlist", containerPort: 7946 }];
  const loki = (c: "single-binary" | "write" | "read" | "backend"): KubeObject => deployment(`loki-${c}`, { ...POD_SELECTORS.loki(c), "app.kubernetes.io/part-of": "memberlist" }, lokiPorts);
  const pods = (mode: "single-binary" | "simple-scalable"): KubeObject[] => [
    ...(mode === "single-binary" ? [loki("single-binary")] : [loki("write"), loki("read"), loki("backend")]),
    deployment("loki-gateway", { ...POD_SELECTORS.lokiGateway }, [{ name: "http", containerPort: 8080 }]),
    deployment("alloy", { ...POD_SELECTORS.alloy }, [{ name: "http-metrics", containerPort: 12345 }]),
    deployment("thanos-query", { ...POD_SELECTORS.thanosQuery }, [{ name: "http", containerPort: 10902 }, { name: "grpc", containerPort: 10901 }]),
    deployment("thanos-compact", { "app.kubernetes.io/name": "thanos-compact", "app.kubernetes.io/instance": "spoke" }, [{ name: "http", containerPort: 10902 }]),
    { apiVersion: "monitoring.coreos.com/v1", kind: "Prometheus", metadata: { name: "kps-prometheus", namespace: NS }, spec: { thanos: {} } },
    deployment("debug", { app: "debug" }, []),
  ];

  for (const mode of ["single-binary", "simple-scalable"] as const) {
    it(`${mode}: Loki admits only Alloy, the gateway, its own components and Prometheus; the hub reaches only the query and the gateway`, () => {
      const t = spokeFlowTable({ namespace: NS, lokiMode: mode, spokeQuery: false, hubEgressIps: HUB_IPS, clusterCidrs: ["10.20.0.0/16"] });
      const policies = renderFlowPolicies(t, {});
      const r = checkFlows({ table: { ...t, unrestricted: [...t.unrestricted, { selector: { app: "debug" }, what: "debug", reason: "t" }] }, manifests: [...pods(mode), ...policies] });
      assert.deepEqual(r.findings, []);
      // A pod the table does not name (a debug shell) is not admitted to Loki's unauthenticated 3100.
      const debugFlow: Flow = { id: "debug-to-loki", description: "", from: { kind: "pods", selector: { app: "debug" }, what: "debug" }, to: { selector: t.targets[2].selector, what: "loki" }, port: 3100, protocol: "TCP" };
      const withDebug = checkFlows({ table: { ...t, flows: [...t.flows, debugFlow], unrestricted: [...t.unrestricted, { selector: { app: "debug" }, what: "debug", reason: "t" }] }, manifests: [...pods(mode), ...policies] });
      assert.match(kinds(withDebug, "blocked").join("\n"), /debug-to-loki blocked/);
    });
  }

  it("the old gateway policy's same-namespace peer (the stale 'node agent pushes from this namespace') is refused as undeclared", () => {
    const t = spokeFlowTable({ namespace: NS, lokiMode: "single-binary", spokeQuery: false, hubEgressIps: HUB_IPS, clusterCidrs: ["10.20.0.0/16"] });
    const old = policy("loki-gateway-hub-ingress", { podSelector: { matchLabels: { ...POD_SELECTORS.lokiGateway } }, policyTypes: ["Ingress"], ingress: [{ from: [...HUB_IPS.map((ip) => ({ ipBlock: { cidr: `${ip}/32` } })), { ipBlock: { cidr: "10.20.0.0/16" } }, { podSelector: {} }], ports: [{ port: 8443, protocol: "TCP" }] }] });
    const r = checkFlows({ table: { ...t, unrestricted: [...t.unrestricted, { selector: { app: "debug" }, what: "debug", reason: "t" }] }, manifests: [...pods("single-binary"), ...renderFlowPolicies(t, {}), old] });
    assert.match(kinds(r, "undeclared").join("\n"), /loki-gateway-hub-ingress admits Deployment\/observability\/alloy -> Deployment\/observability\/loki-gateway 8443\/TCP, not declared/);
  });

  it("a spoke that cannot read the hub admits no external address", () => {
    const t = spokeFlowTable({ namespace: NS, lokiMode: "single-binary", spokeQuery: false, hubEgressIps: undefined, clusterCidrs: ["10.20.0.0/16"] });
    for (const p of renderFlowPolicies(t, {})) for (const rule of p.spec.ingress) for (const f of rule.from) assert.ok(!("ipBlock" in f), `${p.metadata.name} admits an address`);
  });
});
