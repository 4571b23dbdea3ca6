/**
 * The edge role through the real programs under the offline engine: the example edge
 * `edge-dev-01` plans with Prometheus in agent mode, remote write over mTLS with a certificate
 * its spoke signed, and no bucket; an attachment across sovereignty zones is refused by both
 * programs before any resource; onboarding a second edge changes no stack but the receiving
 * spoke, and there only what admits the edge (allowlists, tenants, its certificate).
 */
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { asReference, isSecretValue, planFleet, REPO_DIR, reveal, runStack, type RecordedResource, type StackReferenceData, type StackRun } from "../offline";
import { EDGE_REMOTE_WRITE_NAME } from "../components/workloads/values/edge";
import { EDGE_SECRETS } from "../components/workloads/edge";
import { readStackFile } from "../components/config";
import { evaluatePolicies, mandatory, stackPolicyConfig } from "../policy/offline";

let runs: Map<string, StackRun>;
let bootstrap: StackRun;
let firstEdge: StackRun;
let firstSpoke: StackRun;

const inputsOf = (r: RecordedResource): Record<string, unknown> => reveal(r.inputs) as Record<string, unknown>;
const byType = (run: StackRun, type: string): RecordedResource[] => run.resources.filter((r) => r.type === type);
const named = (run: StackRun, type: string, name: string): RecordedResource => {
  const r = run.resources.find((x) => x.type === type && x.name === name);
  assert.ok(r, `${run.stack}: no ${type} ${name}`);
  return r;
};
const get = (o: unknown, path: string): unknown => path.split(".").reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), o);

before(async () => {
  const plan = await planFleet({
    stacks: ["edge-dev-01", "dev-01", "ops-01", "prod-01", "stag-01", "edge-otc-01"],
    onStack: (run, phase) => {
      if (phase === "bootstrap") bootstrap = run;
      if (phase === "edge") firstEdge = run;
      if (phase === "spoke" && run.stack === "dev-01") firstSpoke = run;
    },
  });
  runs = new Map(plan.runs.map((r) => [r.stack, r]));
  for (const r of plan.runs) assert.equal(r.error, undefined, `${r.stack}: ${r.error?.message ?? ""}`);
});

describe("the example edge edge-dev-01", () => {
  it("its first run deploys no workload: it publishes its request and addresses, and waits for dev-01's certificate", () => {
    assert.equal(firstEdge.error, undefined);
    assert.equal(byType(firstEdge, "kubernetes:helm.sh/v3:Release").length, 0);
    assert.ok(typeof firstEdge.outputs.clientCsrPem === "string" && String(firstEdge.outputs.clientCsrPem).startsWith("-----BEGIN CERTIFICATE REQUEST-----"));
    // dev-01's first pass could not read the edge yet: no tenant, no certificate, nothing exposed to edges.
    const receiver = reveal(firstSpoke.outputs.receiver) as { edges: string[]; certificates: Record<string, string> };
    assert.deepEqual(receiver.edges, []);
    assert.deepEqual(receiver.certificates, {});
    assert.equal(firstSpoke.resources.filter((r) => r.name === "thanos-receive-edges").length, 0);
  });

  it("plans with Prometheus in agent mode, one remote write to dev-01's receiver over mTLS, and no bucket", () => {
    const edge = runs.get("edge-dev-01") as StackRun;
    const spoke = runs.get("dev-01") as StackRun;
    const kps = named(edge, "kubernetes:helm.sh/v3:Release", "edge-dev-01-workloads-kube-prometheus-stack");
    const values = inputsOf(kps).values;
    assert.equal(get(values, "prometheus.agentMode"), true);
    assert.equal(get(values, "alertmanager.enabled"), false);
    const rw = get(values, "prometheus.prometheusSpec.remoteWrite") as Record<string, unknown>[];
    assert.equal(rw.length, 1);
    const receiver = reveal(spoke.outputs.receiver) as { url: string; serverName: string; caPem: string; edges: string[]; certificates: Record<string, string> };
    assert.equal(rw[0].url, receiver.url);
    assert.equal(rw[0].name, EDGE_REMOTE_WRITE_NAME);
    assert.equal(get(rw[0], "tlsConfig.serverName"), receiver.serverName);
    assert.equal(get(rw[0], "tlsConfig.cert.secret.name"), EDGE_SECRETS.remoteWriteTls);
    assert.deepEqual(get(values, "prometheus.prometheusSpec.externalLabels"), { cluster: "edge-dev-01", environment: "dev", region: "eu-central-1", cloud: "aws", edge: "edge-dev-01" });
    // Nothing that stores or exposes: no bucket, no storage component, no load balancer Service.
    for (const r of edge.resources) {
      assert.ok(!/^aws:s3|^gcp:storage|^azure-native:storage|^sovereign:.*:Storage$/.test(r.type), `${r.type} ${r.name}`);
      if (r.type === "kubernetes:core/v1:Service") assert.notEqual(get(inputsOf(r), "spec.type"), "LoadBalancer", r.name);
    }
    // The client certificate is the one dev-01 signed for this edge's key, naming the edge; the key is a secret.
    const tls = named(edge, "kubernetes:core/v1:Secret", EDGE_SECRETS.remoteWriteTls);
    const data = get(tls.inputs, "stringData");
    assert.ok(isSecretValue(data), "the TLS secret's data is a Pulumi secret");
    const plain = reveal(data) as Record<string, string>;
    assert.equal(plain["tls.crt"], receiver.certificates["edge-dev-01"]);
    assert.equal(new X509Certificate(plain["tls.crt"]).subject.split("\n").find((l) => l.startsWith("CN=")), "CN=edge-dev-01");
    assert.ok(new X509Certificate(plain["tls.crt"]).checkPrivateKey(createPrivateKey(plain["tls.key"])), "the certificate certifies the edge's own key");
    assert.equal(plain["ca.crt"], receiver.caPem, "the receiver is verified against dev-01's CA");
    assert.ok(isSecretValue(edge.outputs.loki), "the Loki password hash is published as a secret");
  });

  it("dev-01 accepts it: tenant, certificate, allowlists of the receiver and the gateway, htpasswd user, edge-silent rule", () => {
    const spoke = runs.get("dev-01") as StackRun;
    const edge = runs.get("edge-dev-01") as StackRun;
    const receiver = reveal(spoke.outputs.receiver) as { edges: string[] };
    assert.deepEqual(receiver.edges, ["edge-dev-01"]);
    const data = get(inputsOf(named(spoke, "kubernetes:core/v1:ConfigMap", "dev-01-workloads-receiver-hashrings")), "data") as Record<string, string>;
    const hashrings = JSON.parse(data["hashrings.json"]) as { tenants: string[] }[];
    assert.deepEqual(hashrings.map((h) => h.tenants), [["edge-dev-01"]]);
    const edgeIps = (reveal(edge.outputs.egressIps) as string[]).map((ip) => `${ip}/32`).sort();
    const lb = spoke.resources.find((r) => r.type === "kubernetes:core/v1:Service" && r.name === "thanos-receive-edges");
    assert.ok(lb, "the receiver's load balancer");
    assert.deepEqual([...(get(inputsOf(lb), "spec.loadBalancerSourceRanges") as string[])].sort(), edgeIps);
    const rules = spoke.resources.find((r) => r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule" && JSON.stringify(inputsOf(r)).includes("EdgeRemoteWriteSilent"));
    assert.ok(rules, "the edge-silent rule is deployed");
    assert.match(JSON.stringify(inputsOf(rules)), /edge-dev-01/);
  });

  it("a spoke of another sovereignty zone is refused by the edge before any resource", async () => {
    const spoke = runs.get("dev-01") as StackRun;
    const foreign: StackReferenceData = { ...asReference(spoke), outputs: { ...spoke.outputs, sovereigntyZone: "fr" } };
    const run = await runStack({ stack: "edge-dev-01", references: { "dev-01": foreign } });
    assert.ok(run.error, "refused");
    assert.match(run.error.message, /edge edge-dev-01 is of sovereignty zone 'de', spoke dev-01 of zone 'fr'/);
    assert.deepEqual(run.resources.filter((r) => r.type !== "pulumi:pulumi:StackReference" && r.type !== "pulumi:pulumi:Stack"), []);
  });

  it("an edge of another sovereignty zone is refused by the spoke before any resource", async () => {
    const edge = runs.get("edge-dev-01") as StackRun;
    const foreign: StackReferenceData = { ...asReference(edge), outputs: { ...edge.outputs, sovereigntyZone: "fr" } };
    const run = await runStack({ stack: "dev-01", references: { ...{ [bootstrap.stack]: asReference(bootstrap) }, "edge-dev-01": foreign } });
    assert.ok(run.error, "refused");
    assert.match(run.error.message, /edge edge-dev-01 is of sovereignty zone 'fr', spoke dev-01 of zone 'de'/);
    assert.deepEqual(run.resources.filter((r) => r.type !== "pulumi:pulumi:StackReference" && r.type !== "pulumi:pulumi:Stack"), []);
  });

  it("an edge asking for another edge's name gets no certificate and no tenant", async () => {
    const edge = runs.get("edge-dev-01") as StackRun;
    const other = runs.get("dev-01") as StackRun;
    // A request for the name edge-dev-01, published by a stack listed as edge-dev-02.
    const impostor: StackReferenceData = { ...asReference(edge), outputs: { ...edge.outputs, name: "edge-dev-02", tenant: "edge-dev-02" } };
    const run = await runStack({
      stack: "dev-01",
      references: { [bootstrap.stack]: asReference(bootstrap), "edge-dev-01": asReference(edge), "edge-dev-02": impostor },
      prior: other,
      mutateConfig: (v) => { (v.receive as { edges: string[] }).edges.push("edge-dev-02"); },
    });
    assert.equal(run.error, undefined, run.error?.message);
    const receiver = reveal(run.outputs.receiver) as { edges: string[]; certificates: Record<string, string> };
    assert.deepEqual(receiver.edges, ["edge-dev-01"]);
    assert.deepEqual(Object.keys(receiver.certificates), ["edge-dev-01"]);
  });
});

describe("onboarding a second edge", () => {
  let dir: string;
  let before2: { spoke: StackRun; hub: StackRun; edge1: StackRun };
  let after2: { spoke: StackRun; hub: StackRun; edge1: StackRun; edge2: StackRun };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sovereign-onboard-edge-"));
    for (const f of readdirSync(REPO_DIR).filter((f) => /^Pulumi(\..+)?\.yaml$/.test(f))) copyFileSync(join(REPO_DIR, f), join(dir, f));
    const edge2 = parse(readFileSync(join(REPO_DIR, "Pulumi.edge-dev-01.yaml"), "utf8")) as { config: Record<string, unknown> };
    const c = edge2.config;
    c["observability:cluster"] = { ...(c["observability:cluster"] as object), name: "edge-dev-02-eks" };
    c["observability:network"] = { ...(c["observability:network"] as object), cidrs: ["10.22.0.0/16"] };
    writeFileSync(join(dir, "Pulumi.edge-dev-02.yaml"), stringify(edge2));
    const spokeFile = parse(readFileSync(join(dir, "Pulumi.dev-01.yaml"), "utf8")) as { config: Record<string, { edges: string[] }> };
    spokeFile.config["observability:receive"].edges.push("edge-dev-02");
    const spokeWithTwo = stringify(spokeFile);

    const hub0 = runs.get("ops-01") as StackRun;
    const spoke0 = runs.get("dev-01") as StackRun;
    const edge10 = runs.get("edge-dev-01") as StackRun;
    before2 = { spoke: spoke0, hub: hub0, edge1: edge10 };
    const hubRef = { [bootstrap.stack]: asReference(bootstrap) };
    // fleet onboard --role edge writes the edge's file and adds it to its spoke's list; then the waves:
    // the new edge (request, addresses), its spoke (signs, admits), the edge again, the rest unchanged.
    const e2a = await runStack({ projectDir: dir, stack: "edge-dev-02", references: { "dev-01": asReference(spoke0) } });
    assert.equal(e2a.error, undefined, e2a.error?.message);
    writeFileSync(join(dir, "Pulumi.dev-01.yaml"), spokeWithTwo);
    const spoke1 = await runStack({ projectDir: dir, stack: "dev-01", references: { ...hubRef, "edge-dev-01": asReference(edge10), "edge-dev-02": asReference(e2a) }, prior: spoke0 });
    assert.equal(spoke1.error, undefined, spoke1.error?.message);
    const e2 = await runStack({ projectDir: dir, stack: "edge-dev-02", references: { "dev-01": asReference(spoke1) }, prior: e2a });
    const e1 = await runStack({ projectDir: dir, stack: "edge-dev-01", references: { "dev-01": asReference(spoke1) }, prior: edge10 });
    const spokeRefs = Object.fromEntries([...runs.values()].filter((r) => r.role === "spoke").map((r) => [r.stack, asReference(r.stack === "dev-01" ? spoke1 : r)]));
    const hub1 = await runStack({ projectDir: dir, stack: "ops-01", references: spokeRefs, env: { SOVEREIGN_SPOKES: null }, prior: hub0 });
    after2 = { spoke: spoke1, hub: hub1, edge1: e1, edge2: e2 };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Resources whose inputs differ between two runs of a stack, or that exist in one only. */
  function changed(a: StackRun, b: StackRun): string[] {
    const key = (r: RecordedResource): string => `${r.type}::${r.name}`;
    const before = new Map(a.resources.map((r) => [key(r), JSON.stringify(reveal(r.inputs))]));
    const after = new Map(b.resources.map((r) => [key(r), JSON.stringify(reveal(r.inputs))]));
    return [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k)).sort();
  }

  it("the new edge deploys with its own certificate, and the first edge and the hub do not change", () => {
    assert.equal(after2.edge2.error, undefined, after2.edge2.error?.message);
    assert.ok(byType(after2.edge2, "kubernetes:helm.sh/v3:Release").length === 2, "agent and Alloy deployed");
    assert.deepEqual(changed(before2.edge1, after2.edge1), []);
    assert.equal(after2.hub.error, undefined, after2.hub.error?.message);
    assert.deepEqual(changed(before2.hub, after2.hub), []);
  });

  it("the spoke changes only its allowlists, tenants and the new edge's certificate", () => {
    const diff = changed(before2.spoke, after2.spoke);
    const expected = [
      // The new edge's certificate, signed from its request.
      "tls:index/locallySignedCert:LocallySignedCert::dev-01-edge-edge-dev-02-client",
      // Tenants: the hashring, the gateway's users, the edge-silent rule.
      `kubernetes:core/v1:ConfigMap::dev-01-workloads-receiver-hashrings`,
      "kubernetes:core/v1:Secret::dev-01-workloads-loki-htpasswd",
      "kubernetes:monitoring.coreos.com/v1:PrometheusRule::dev-01-workloads-pipeline-alive-rules",
      // Allowlists: the receiver's and the gateway's load balancers, and the NetworkPolicies from the flow table.
      "kubernetes:core/v1:Service::thanos-receive-edges",
      "kubernetes:core/v1:Service::loki-gateway-hub",
    ];
    for (const d of diff) {
      const ok = expected.includes(d) || /^kubernetes:networking\.k8s\.io\/v1:NetworkPolicy::dev-01-flows-/.test(d) || d === "sovereign:exposure:FlowPolicies::dev-01-flows";
      assert.ok(ok, `unexpected change on dev-01: ${d}\n(all changes: ${diff.join(", ")})`);
    }
    assert.ok(diff.includes("tls:index/locallySignedCert:LocallySignedCert::dev-01-edge-edge-dev-02-client"), diff.join(", "));
    for (const must of ["kubernetes:core/v1:ConfigMap::dev-01-workloads-receiver-hashrings", "kubernetes:core/v1:Service::thanos-receive-edges", "kubernetes:core/v1:Service::loki-gateway-hub", "kubernetes:core/v1:Secret::dev-01-workloads-loki-htpasswd"])
      assert.ok(diff.includes(must), `${must} changes (${diff.join(", ")})`);
    const receiver = reveal(after2.spoke.outputs.receiver) as { edges: string[] };
    assert.deepEqual(receiver.edges, ["edge-dev-01", "edge-dev-02"]);
  });
});

describe("the policy pack on edges: every remote-write and log-push target is an in-zone receiver", () => {
  const mutated = (stack: string, edit: (resources: RecordedResource[]) => void): StackRun => {
    const copy = structuredClone(runs.get(stack) as StackRun);
    edit(copy.resources);
    return copy;
  };
  /** Edits a release's values as planned and as recorded in its state (policies read both, state last). */
  const editValues = (resources: RecordedResource[], name: string, fn: (values: Record<string, unknown>) => void): void => {
    const r = resources.find((x) => x.name === name);
    assert.ok(r, name);
    for (const side of [r.inputs, r.outputs] as Record<string, unknown>[]) if (side.values !== undefined) fn(side.values as Record<string, unknown>);
  };
  const zoneViolations = (run: StackRun, config?: Parameters<typeof evaluatePolicies>[1]): string[] =>
    mandatory(evaluatePolicies(run, config)).filter((v) => v.policy === "no-replication-outside-zone").map((v) => v.message);

  it("the example edge and its spoke pass, with the declaration read from the spoke's stack file", () => {
    for (const s of ["edge-dev-01", "dev-01"]) assert.deepEqual(mandatory(evaluatePolicies(runs.get(s) as StackRun)).map((v) => `${v.policy}: ${v.message}`), [], s);
    const c = stackPolicyConfig(readStackFile(REPO_DIR, "edge-dev-01").values, (s) => readStackFile(REPO_DIR, s).values);
    assert.deepEqual([c.zoneReceiverHost, c.zoneReceiverZone, c.zoneLokiHost], ["receive.dev-01.obs.example.eu", "de", "loki.dev-01.obs.example.eu"]);
  });

  it("an edge remote-writing anywhere but its zone spoke's receiver is refused", () => {
    const run = mutated("edge-dev-01", (rs) =>
      editValues(rs, "edge-dev-01-workloads-kube-prometheus-stack", (v) => {
        (get(v, "prometheus.prometheusSpec.remoteWrite") as Record<string, unknown>[])[0].url = "https://receive.stag-01.obs.example.eu:19291/api/v1/receive";
      }),
    );
    assert.ok(zoneViolations(run).some((m) => /remote-writes to https:\/\/receive\.stag-01.*an edge writes only to its zone spoke's receiver receive\.dev-01\.obs\.example\.eu/.test(m)), zoneViolations(run).join("\n"));
  });

  it("an edge pushing logs anywhere but its zone spoke's gateway is refused", () => {
    const run = mutated("edge-dev-01", (rs) =>
      editValues(rs, "edge-dev-01-workloads-alloy", (v) => {
        const alloy = get(v, "alloy.configMap") as Record<string, string>;
        alloy.content = alloy.content.replace(/loki\.dev-01\.obs\.example\.eu/g, "logs.example.com");
      }),
    );
    assert.ok(zoneViolations(run).some((m) => /pushes logs to https:\/\/logs\.example\.com.*Loki gateway loki\.dev-01/.test(m)), zoneViolations(run).join("\n"));
  });

  it("an edge whose spoke is declared in another zone is refused, and so is a spoke's Alloy pushing out of the cluster", () => {
    const edge = runs.get("edge-dev-01") as StackRun;
    const config = { ...stackPolicyConfig(edge.config, (s) => readStackFile(REPO_DIR, s).values), zoneReceiverZone: "fr" };
    assert.ok(zoneViolations(edge, { config }).some((m) => /its spoke is of zone 'fr', the edge of 'de'/.test(m)));
    const spoke = mutated("dev-01", (rs) =>
      editValues(rs, "dev-01-workloads-alloy", (v) => {
        const alloy = get(v, "alloy.configMap") as Record<string, string>;
        alloy.content = alloy.content.replace(/url\s*=\s*"[^"]+"/, 'url = "https://logs.example.com/loki/api/v1/push"');
      }),
    );
    assert.ok(zoneViolations(spoke).some((m) => /pushes logs to https:\/\/logs\.example\.com/.test(m)), zoneViolations(spoke).join("\n"));
  });
});
