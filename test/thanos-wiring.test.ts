/**
 * The Thanos and alerting wiring of the planned example fleet, judged by the upstream rules:
 * what Thanos v0.42.4 does with DNS-discovered endpoints (and the real `thanos` binary dialling
 * the planned endpoint config), which Services DNS discovery can enumerate, the Ruler HA label
 * drop, which series the Prometheus of a spoke actually scrapes, and the order in which the
 * Prometheus Operator CRDs and the resources that need them are created.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type TLSSocket } from "node:tls";
import { before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import type { RuleGroup } from "../components/alerting";
import { deadRuleSelectors, spokeScrapes, type SpokeScrape } from "../components/alerting/scrapes";
import { RULER_REPLICA_LABEL } from "../components/thanos/args";
import { endpointConfigProblems, isDynamicAddress } from "../components/thanos/endpoints";
import { kubeProxyScraped } from "../components/workloads/values/kube-prometheus-stack";
import { builtTool } from "../toolchain";
import { KPS_REF, ALLOY_REF, LOKI_REF } from "./support/charts";
import { inputs, ofType, realFleet, runOf, stackConfig, type RealFleet } from "./support/fleet";
import { unknownThanosFlags } from "./support/reference";
import { requireTool } from "./support/tools";
import { REPO_DIR, type RecordedResource, type StackRun } from "../offline";
import { stackManifests, type Manifest } from "../offline/manifests";
import type { SpokeConfig } from "../components/config";

type Obj = Record<string, unknown>;
const at = (v: unknown, path: string): unknown => path.split(".").reduce<unknown>((x, k) => (x !== null && typeof x === "object" ? (x as Obj)[k] : undefined), v);

const T = {
  configMap: "kubernetes:core/v1:ConfigMap",
  service: "kubernetes:core/v1:Service",
  secret: "kubernetes:core/v1:Secret",
  deployment: "kubernetes:apps/v1:Deployment",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  release: "kubernetes:helm.sh/v3:Release",
  serviceMonitor: "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
  podMonitor: "kubernetes:monitoring.coreos.com/v1:PodMonitor",
  prometheusRule: "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
} as const;

const SPOKES = ["dev-01", "prod-01", "stag-01"] as const;
const HUB = "ops-01";

let fleet: RealFleet;
before(async () => {
  fleet = await realFleet();
});

const run = (stack: string): StackRun => runOf(fleet, stack);
const all = (r: StackRun, type: string): Obj[] => ofType(r, type).map((x) => inputs(x));
const byName = (r: StackRun, type: string, name: string): Obj => {
  const found = all(r, type).filter((i) => at(i, "metadata.name") === name);
  assert.equal(found.length, 1, `${r.stack}: exactly one ${type} named ${name}`);
  return found[0];
};
const release = (r: StackRun, chart: string): RecordedResource => {
  const found = ofType(r, T.release).filter((x) => inputs(x).chart === chart);
  assert.equal(found.length, 1, `${r.stack}: one ${chart} release`);
  return found[0];
};
const spokeConfig = (stack: string): SpokeConfig => {
  const c = stackConfig(stack);
  assert.equal(c.role, "spoke");
  return c as SpokeConfig;
};

interface EndpointDoc {
  default_client_config?: { tls_config: Obj; server_name: string };
  endpoints: { address: string; strict: boolean; group: boolean; client_config?: Obj }[];
}

/** Every `--endpoint.sd-config-file` document of a stack (ConfigMap key endpoints.yaml). */
function endpointDocs(r: StackRun): { configMap: string; doc: EndpointDoc }[] {
  return all(r, T.configMap)
    .map((c) => ({ name: String(at(c, "metadata.name")), file: (at(c, "data") as Obj | undefined)?.["endpoints.yaml"] }))
    .filter((c): c is { name: string; file: string } => typeof c.file === "string")
    .map((c) => ({ configMap: c.name, doc: parse(c.file) as EndpointDoc }));
}

/** Container args of every Deployment and StatefulSet of a stack. */
function thanosArgs(r: StackRun): { name: string; args: string[] }[] {
  return [...all(r, T.deployment), ...all(r, T.statefulSet)].flatMap((d) =>
    ((at(d, "spec.template.spec.containers") as Obj[] | undefined) ?? []).map((c) => ({ name: String(at(d, "metadata.name")), args: (c.args as string[] | undefined) ?? [] })),
  );
}

describe("DNS-discovered endpoints get TLS from default_client_config (Thanos v0.42.4)", () => {
  it("every planned endpoints file passes the validator: no dynamic entry carries a client_config, none is strict", () => {
    let files = 0;
    for (const stack of [...SPOKES, HUB]) {
      for (const { configMap, doc } of endpointDocs(run(stack))) {
        files++;
        assert.deepEqual(endpointConfigProblems(doc), [], `${stack} ${configMap}`);
      }
    }
    assert.equal(files, SPOKES.length + 1, "one endpoints file per query");
  });

  it("the spoke query dials the mTLS-only sidecars and store with the internal client certificate", () => {
    for (const stack of SPOKES) {
      const [{ doc }] = endpointDocs(run(stack));
      const dynamic = doc.endpoints.filter((e) => isDynamicAddress(e.address));
      assert.ok(dynamic.length >= 1, `${stack}: the sidecars are discovered through DNS`);
      const d = doc.default_client_config;
      assert.ok(d !== undefined, `${stack}: DNS-discovered endpoints need default_client_config, else Thanos dials them in plaintext`);
      assert.equal(d.tls_config.enabled, true);
      assert.equal(d.tls_config.cert_file, "/etc/thanos/tls/client/tls.crt");
      // The sidecars and the store require a client certificate (--grpc-server-tls-client-ca).
      const sidecarTls = at(release(run(stack), "kube-prometheus-stack").inputs, "values.prometheus.prometheusSpec.thanos.grpcServerTlsConfig.caFile");
      assert.equal(typeof sidecarTls, "string", `${stack}: the sidecars demand client certificates`);
    }
  });

  it("the hub's DNS-discovered ruler entry is plaintext on purpose (the ruler serves plain gRPC inside the hub)", () => {
    const [{ doc }] = endpointDocs(run(HUB));
    const dynamic = doc.endpoints.filter((e) => isDynamicAddress(e.address));
    assert.ok(dynamic.length === 1 && dynamic[0].address.includes("thanos-rule"));
    assert.equal(doc.default_client_config, undefined);
    const rule = thanosArgs(run(HUB)).find((c) => c.name === "thanos-rule");
    assert.ok(rule !== undefined && !rule.args.some((a) => a.startsWith("--grpc-server-tls")), "so a plaintext dial is what the ruler expects");
  });
});

/** The Service name and namespace a DNS-discovery address names (`_port._proto.svc.ns.svc...` or `svc.ns.svc...:port`). */
function serviceOf(address: string): { qtype: string; service: string; namespace: string; portName?: string } {
  const [qtype, rest] = [address.slice(0, address.indexOf("+")), address.slice(address.indexOf("+") + 1)];
  const host = rest.replace(/^[a-z]+:\/\//, "").replace(/:\d+$/, "");
  const labels = host.split(".");
  const srv = qtype === "dnssrv" || qtype === "dnssrvnoa";
  const [portName, , service, namespace] = srv ? [labels[0].replace(/^_/, ""), labels[1], labels[2], labels[3]] : [undefined, undefined, labels[0], labels[1]];
  assert.ok(service !== undefined && namespace !== undefined && labels.includes("svc"), `cannot read a Service from ${address}`);
  return { qtype, service, namespace, portName };
}

describe("every dns+/dnssrv+ address points at a headless Service", () => {
  // Kubernetes DNS specification (github.com/kubernetes/dns docs/specification.md): a ClusterIP
  // Service has one A record (its virtual IP) and its SRV records name that one address; only a
  // headless Service (`clusterIP: None`) has one record per ready endpoint. SRV records
  // `_<port>._<proto>.<svc>.<ns>.svc.<zone>` exist only for named ports.
  it("typed Services are headless with the named port; the chart's sidecar Service is headless by chart default", () => {
    let checked = 0;
    for (const stack of [...SPOKES, HUB]) {
      const r = run(stack);
      const addresses = [
        ...endpointDocs(r).flatMap((f) => f.doc.endpoints.map((e) => e.address)),
        ...thanosArgs(r).flatMap((c) => c.args.map((a) => /^--[a-z.-]+=(.*)$/.exec(a)?.[1] ?? "").filter((v) => isDynamicAddress(v))),
      ].filter((a) => isDynamicAddress(a));
      for (const address of addresses) {
        const { service, namespace, portName } = serviceOf(address);
        checked++;
        const typed = all(r, T.service).filter((s) => at(s, "metadata.name") === service && at(s, "metadata.namespace") === namespace);
        if (typed.length === 1) {
          assert.equal(at(typed[0], "spec.clusterIP"), "None", `${stack}: ${address} -> Service ${service} must be headless`);
          if (portName !== undefined) assert.ok((at(typed[0], "spec.ports") as Obj[]).some((p) => p.name === portName), `${stack}: ${service} has no port named ${portName}`);
          continue;
        }
        // Not typed: the kube-prometheus-stack sidecar Service (templates/prometheus/serviceThanosSidecar.yaml:
        // `<fullname>-thanos-discovery`, `clusterIP` from prometheus.thanosService.clusterIP, default "None", port `grpc`).
        const kps = release(r, "kube-prometheus-stack");
        assert.equal(service, `${String(at(kps.inputs, "values.fullnameOverride"))}-thanos-discovery`, `${stack}: ${address} names no Service of the plan`);
        assert.equal(at(kps.inputs, "values.prometheus.thanosService.enabled"), true);
        const clusterIP = at(kps.inputs, "values.prometheus.thanosService.clusterIP") ?? at(KPS_REF, "prometheus.thanosService.clusterIP");
        assert.equal(clusterIP, "None", `${stack}: ${service} must stay headless`);
        const port = at(kps.inputs, "values.prometheus.thanosService.portName") ?? at(KPS_REF, "prometheus.thanosService.portName");
        if (portName !== undefined) assert.equal(port, portName);
      }
    }
    assert.ok(checked >= SPOKES.length + 2, `checked ${checked} addresses`);
  });
});

describe("Ruler HA (Thanos docs docs/components/rule.md at v0.42.4, 'Ruler HA')", () => {
  it("the planned rulers carry a replica label and drop it before alerting, so the Alertmanager deduplicates", () => {
    const sts = byName(run(HUB), T.statefulSet, "thanos-rule");
    assert.ok(Number(at(sts, "spec.replicas")) >= 2, "an HA pair");
    const args = ((at(sts, "spec.template.spec.containers") as Obj[])[0].args as string[]);
    assert.ok(args.some((a) => a.startsWith(`--label=${RULER_REPLICA_LABEL}=`)), "replica label set");
    assert.ok(args.includes(`--alert.label-drop=${RULER_REPLICA_LABEL}`), "replica label dropped before alerting");
    assert.deepEqual(unknownThanosFlags("rule", args), []);
  });
});

/** The scrapes of a spoke's table that the plan really produces, with the reason when one does not. */
function resolveScrapes(r: StackRun, scrapes: readonly SpokeScrape[]): { produced: SpokeScrape[]; missing: string[] } {
  const produced: SpokeScrape[] = [];
  const missing: string[] = [];
  const monitors = all(r, T.serviceMonitor);
  const services = all(r, T.service);
  const refs: Record<string, unknown> = { "kube-prometheus-stack": KPS_REF, loki: LOKI_REF, alloy: ALLOY_REF };
  for (const s of scrapes) {
    if (s.origin.kind === "servicemonitor") {
      const { service } = s.origin;
      const svc = services.find((x) => at(x, "metadata.name") === service);
      const svcLabels = (at(svc, "metadata.labels") as Record<string, string> | undefined) ?? {};
      const selecting = monitors.filter((m) => Object.entries((at(m, "spec.selector.matchLabels") as Record<string, string>) ?? {}).every(([k, v]) => svcLabels[k] === v));
      if (svc === undefined || selecting.length === 0) missing.push(`${s.job}: no ServiceMonitor selects Service ${service}`);
      else if (selecting.some((m) => at(m, "spec.jobLabel") !== undefined)) missing.push(`${s.job}: the ServiceMonitor sets jobLabel, so job is not the Service name`);
      else produced.push(s);
      continue;
    }
    const { chart, enabledBy } = s.origin;
    const rel = release(r, chart);
    const off = enabledBy.filter((p) => (at(rel.inputs, `values.${p}`) ?? at(refs[chart], p)) !== true);
    if (off.length > 0) missing.push(`${s.job}: ${chart} ${off.join(", ")} not enabled`);
    else produced.push(s);
  }
  return { produced, missing };
}

/**
 * The `serviceMonitorSelector` the chart gives the Prometheus (kube-prometheus-stack 88.5.3
 * templates/prometheus/prometheus.yaml): the explicit selector, else `release: <release>` when
 * `serviceMonitorSelectorNilUsesHelmValues` (default true), else `{}` (everything).
 */
function monitorSelector(kps: RecordedResource, kind: "serviceMonitor" | "podMonitor" | "rule"): Record<string, string> {
  const spec = at(kps.inputs, "values.prometheus.prometheusSpec") as Obj;
  const explicit = at(spec, `${kind}Selector.matchLabels`) as Record<string, string> | undefined;
  if (explicit !== undefined) return explicit;
  const nil = at(spec, `${kind}SelectorNilUsesHelmValues`) ?? at(KPS_REF, `prometheus.prometheusSpec.${kind}SelectorNilUsesHelmValues`);
  return nil === false ? {} : { release: String(at(kps.inputs, "name")) };
}

describe("every rule reads series some scrape of the plan produces", () => {
  it("the rules of every spoke are fed by scrapes the plan really creates (incl. compactor, store and Alloy)", () => {
    for (const stack of SPOKES) {
      const r = run(stack);
      const c = spokeConfig(stack);
      // A spoke whose receiver accepts an edge runs routers and ingesters, scraped for the edge-silent rule.
      const receiving = ((at(r.outputs, "receiver.edges") as string[] | undefined) ?? []).length > 0;
      const table = spokeScrapes({ namespace: c.namespace, lokiMode: c.loki.mode, spokeQuery: c.queryPath === "spoke-query", kubeProxy: kubeProxyScraped(c), receiver: receiving });
      const { produced, missing } = resolveScrapes(r, table);
      assert.deepEqual(missing, [], `${stack}: scrapes the rules count on are not in the plan`);
      const rules = all(r, T.prometheusRule);
      assert.ok(rules.length >= 1);
      const groups = rules.flatMap((x) => at(x, "spec.groups") as RuleGroup[]);
      assert.ok(groups.some((g) => g.rules.some((x) => "alert" in x && x.alert === "ThanosCompactHalted")));
      assert.deepEqual(deadRuleSelectors(groups, produced), [], `${stack}: rules that can never fire`);
    }
  });

  it("every typed Thanos Service of a spoke is scraped by a ServiceMonitor the Prometheus selects, on its http port", () => {
    for (const stack of SPOKES) {
      const r = run(stack);
      const kps = release(r, "kube-prometheus-stack");
      const selector = monitorSelector(kps, "serviceMonitor");
      const monitors = all(r, T.serviceMonitor);
      // The in-cluster Service of each Thanos workload (named after it; exposure Services are not scrape targets).
      const workloads = new Set(thanosArgs(r).filter((c) => ["compact", "store", "query", "rule", "query-frontend", "receive"].includes(c.args[0])).map((c) => c.name));
      const thanos = all(r, T.service).filter((s) => workloads.has(String(at(s, "metadata.name"))));
      assert.ok(thanos.length >= 2, `${stack}: compactor and query at least`);
      for (const svc of thanos) {
        const name = String(at(svc, "metadata.name"));
        const labels = at(svc, "metadata.labels") as Record<string, string>;
        const m = monitors.filter((x) => Object.entries(at(x, "spec.selector.matchLabels") as Record<string, string>).every(([k, v]) => labels[k] === v));
        assert.equal(m.length, 1, `${stack}: Service ${name} is scraped by exactly one ServiceMonitor`);
        const mLabels = at(m[0], "metadata.labels") as Record<string, string>;
        assert.ok(Object.entries(selector).every(([k, v]) => mLabels[k] === v), `${stack}: ServiceMonitor ${name} is not selected by the Prometheus (${JSON.stringify(selector)})`);
        const ports = (at(m[0], "spec.endpoints") as Obj[]).map((e) => e.port);
        for (const p of ports) assert.ok((at(svc, "spec.ports") as Obj[]).some((sp) => sp.name === p), `${stack}: ${name} has no port ${String(p)}`);
      }
      const bucketUsers = ["thanos-compact", ...(spokeConfig(stack).queryPath === "spoke-query" ? ["thanos-store"] : [])];
      for (const b of bucketUsers) assert.ok(thanos.some((s) => at(s, "metadata.name") === b), `${stack}: ${b} Service exists`);
    }
  });

  it("KubeProxyDown: kube-prometheus-stack's kube-proxy scrape and rule follow the per-stack setting (default off on managed clusters)", () => {
    for (const stack of SPOKES) {
      const c = spokeConfig(stack);
      // kube-prometheus-stack 88.5.3 renders the KubeProxyDown rule only when `kubeProxy.enabled`
      // (templates/prometheus/rules-1.14/kubernetes-system-kube-proxy.yaml) and the chart default is true.
      assert.equal(at(KPS_REF, "kubeProxy.enabled"), true, "chart default: on (the defect on managed clusters)");
      assert.equal(at(release(run(stack), "kube-prometheus-stack").inputs, "values.kubeProxy.enabled"), kubeProxyScraped(c), stack);
      assert.equal(kubeProxyScraped(c), c.kubeProxy ?? false, `${stack}: the example fleet's clusters expose no kube-proxy metrics`);
    }
    const on = stackConfig("dev-01", (v) => {
      v.kubeProxy = true;
    }) as SpokeConfig;
    assert.equal(kubeProxyScraped(on), true, "a stack can turn it on");
    assert.throws(() => stackConfig("dev-01", (v) => {
      v.kubeProxy = "no";
    }), /kubeProxy/, "the schema refuses a non-boolean, naming the key");
  });
});

describe("first deploy: resources that need the Prometheus Operator CRDs wait for kube-prometheus-stack", () => {
  // The CRDs (ServiceMonitor, PodMonitor, PrometheusRule) come with the kube-prometheus-stack
  // chart (charts/crds); the API server refuses a custom resource whose CRD does not exist yet,
  // and Helm refuses a release rendering one ("no matches for kind ServiceMonitor").
  it("Loki and Alloy releases and every typed ServiceMonitor/PodMonitor/PrometheusRule depend on the kps release", () => {
    for (const stack of SPOKES) {
      const r = run(stack);
      const kps = release(r, "kube-prometheus-stack");
      const byUrn = new Map(r.resources.map((x) => [x.urn, x]));
      const dependsOnKps = (x: RecordedResource, seen = new Set<string>()): boolean =>
        x.options.dependsOn.some((u) => u === kps.urn || (!seen.has(u) && (seen.add(u), byUrn.get(u) !== undefined && dependsOnKps(byUrn.get(u) as RecordedResource, seen))));
      for (const chart of ["loki", "alloy"]) assert.ok(dependsOnKps(release(r, chart)), `${stack}: ${chart} renders a ServiceMonitor`);
      const crs = [...ofType(r, T.serviceMonitor), ...ofType(r, T.podMonitor), ...ofType(r, T.prometheusRule)];
      assert.ok(crs.length >= 3, `${stack}: ${crs.length} monitoring resources`);
      for (const cr of crs) assert.ok(dependsOnKps(cr), `${stack}: ${cr.type} ${cr.name} does not wait for the CRDs`);
      // Alloy's chart ServiceMonitor is rendered (alloy 1.11.1 templates/servicemonitor.yaml).
      assert.equal(at(release(r, "alloy").inputs, "values.serviceMonitor.enabled"), true);
    }
  });
});

/** A loopback mTLS server with the planned server Secret; resolves what the first client did. */
async function observeDial(server: Obj, expectSni: string, start: (port: number) => () => void, timeoutMs: number): Promise<string> {
  const srv = createServer({ cert: String(server["tls.crt"]), key: String(server["tls.key"]), ca: String(server["ca.crt"]), requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.3", ALPNProtocols: ["h2"] });
  let verdict: string | undefined;
  const done = new Promise<string>((resolve) => {
    srv.on("secureConnection", (s: TLSSocket) => {
      const sni = (s as TLSSocket & { servername?: string }).servername;
      verdict ??= s.authorized && sni === expectSni ? "mtls" : `tls without the expected client cert or SNI (${String(sni)})`;
      resolve(verdict);
    });
    srv.on("tlsClientError", (e: Error) => {
      verdict ??= `not TLS: ${e.message}`;
      resolve(verdict);
    });
    setTimeout(() => resolve(verdict ?? "no connection"), timeoutMs);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const stop = start((srv.address() as { port: number }).port);
  try {
    return await done;
  } finally {
    stop();
    srv.close();
  }
}

describe("the real thanos v0.42.4 query dials the planned endpoint config", () => {
  const thanos = requireTool("thanos");

  /**
   * Runs `thanos query` on loopback with a spoke's endpoint config, its dynamic addresses
   * rewritten to `dns+127.0.0.1:<port>` (still DNS-discovered: same code path) and the client
   * certificate paths to a temp dir holding the planned client Secret.
   */
  async function dialWith(stack: string, mutate: (doc: EndpointDoc) => EndpointDoc): Promise<string> {
    const r = run(stack);
    const client = at(byName(r, T.secret, "thanos-internal-client-tls"), "stringData") as Obj;
    const server = at(byName(r, T.secret, "thanos-internal-tls"), "stringData") as Obj;
    const [{ doc }] = endpointDocs(r);
    const expectSni = String(doc.default_client_config?.server_name);
    const dir = mkdtempSync(join(tmpdir(), "thanos-endpoints-"));
    mkdirSync(join(dir, "client"));
    for (const f of ["tls.crt", "tls.key", "ca.crt"]) writeFileSync(join(dir, "client", f), String(client[f]));
    try {
      return await observeDial(server, expectSni, (port) => {
        const rewritten = mutate(structuredClone(doc));
        rewritten.endpoints = rewritten.endpoints.filter((e) => isDynamicAddress(e.address)).slice(0, 1).map((e) => ({ ...e, address: `dns+127.0.0.1:${port}` }));
        const file = join(dir, "endpoints.yaml");
        writeFileSync(file, stringify(rewritten).replaceAll("/etc/thanos/tls/client", join(dir, "client")));
        const bin = builtTool("thanos");
        assert.ok(bin !== undefined);
        const p = spawn(bin, ["query", "--http-address=127.0.0.1:0", "--grpc-address=127.0.0.1:0", `--endpoint.sd-config-file=${file}`, "--store.sd-dns-resolver=golang", "--log.level=warn"], { stdio: "ignore" });
        return () => p.kill("SIGKILL");
      }, 30_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("with the planned config, the spoke query completes mTLS with the sidecars' name and the internal client certificate", { skip: thanos.skipReason }, async () => {
    for (const stack of ["dev-01", "prod-01"]) assert.equal(await dialWith(stack, (d) => d), "mtls", stack);
  });

  it("the old layout (TLS as the DNS entry's own client_config) is dialled in plaintext: the rule the plan now follows", { skip: thanos.skipReason }, async () => {
    const verdict = await dialWith("dev-01", (d) => {
      const tls = d.default_client_config;
      delete d.default_client_config;
      d.endpoints = d.endpoints.map((e) => ({ ...e, client_config: tls }));
      return d;
    });
    assert.match(verdict, /^not TLS/);
  });

  it("thanos refuses to start on a corrupted endpoints file (so the policy's YAML check matches the binary)", { skip: thanos.skipReason }, () => {
    const dir = mkdtempSync(join(tmpdir(), "thanos-endpoints-bad-"));
    try {
      const file = join(dir, "endpoints.yaml");
      writeFileSync(file, "endpoints:\n  - address: dnssrv+_grpc._tcp.x.svc.cluster.local\n    strict: true\n");
      const bin = builtTool("thanos");
      assert.ok(bin !== undefined);
      const r = spawnSync(bin, ["query", "--http-address=127.0.0.1:0", "--grpc-address=127.0.0.1:0", `--endpoint.sd-config-file=${file}`], { encoding: "utf8", timeout: 30_000 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /strict mode/);
      assert.ok(endpointConfigProblems(parse("endpoints:\n  - address: dnssrv+_grpc._tcp.x.svc.cluster.local\n    strict: true\n")).length === 1, "the validator flags it too");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the rendered charts agree (pinned helm template of the planned releases)", () => {
  const helm = requireTool("helm");
  const rendered = new Map<string, Manifest[]>();
  const manifestsOf = (stack: string): Manifest[] => {
    let m = rendered.get(stack);
    if (m === undefined) {
      const set = stackManifests(run(stack), { repoDir: REPO_DIR });
      assert.deepEqual(set.errors, [], `${stack}: every release renders`);
      m = set.all.map((x) => x.manifest);
      rendered.set(stack, m);
    }
    return m;
  };

  /**
   * The `job` each ServiceMonitor target gets: the Service's `jobLabel` label, else its name
   * (prometheus-operator v0.93.1 ServiceMonitor CRD `spec.jobLabel`), then the endpoint's
   * `replace` relabelings of `job` (Loki's `jobPrefix`).
   */
  function producedJobs(ms: readonly Manifest[]): Set<string> {
    const jobs = new Set<string>();
    // Plus the one Service every cluster has: the API server's `default/kubernetes`, labelled
    // component=apiserver, provider=kubernetes by kube-apiserver itself (kubernetes/kubernetes
    // pkg/controlplane/controller/kubernetesservice), which kube-prometheus-stack's apiserver
    // ServiceMonitor selects (values.yaml kubeApiServer.serviceMonitor.selector).
    const builtin: Manifest = { apiVersion: "v1", kind: "Service", metadata: { name: "kubernetes", namespace: "default", labels: { component: "apiserver", provider: "kubernetes" } } };
    const services = [...ms.filter((m) => m.kind === "Service"), builtin];
    for (const sm of ms.filter((m) => m.kind === "ServiceMonitor")) {
      const spec = sm.spec as Obj;
      const match = (at(spec, "selector.matchLabels") as Record<string, string> | undefined) ?? {};
      const exprs = (at(spec, "selector.matchExpressions") as { key: string; operator: string; values?: string[] }[] | undefined) ?? [];
      const names = (at(spec, "namespaceSelector.matchNames") as string[] | undefined) ?? [];
      const anyNs = at(spec, "namespaceSelector.any") === true;
      for (const svc of services) {
        const labels = svc.metadata.labels ?? {};
        const ns = svc.metadata.namespace ?? "";
        if (!anyNs && (names.length > 0 ? !names.includes(ns) : ns !== sm.metadata.namespace)) continue;
        if (!Object.entries(match).every(([k, v]) => labels[k] === v)) continue;
        if (!exprs.every((e) => (e.operator === "NotIn" ? !(e.values ?? []).includes(labels[e.key] ?? "") : e.operator === "In" ? (e.values ?? []).includes(labels[e.key] ?? "") : e.operator === "Exists" ? e.key in labels : !(e.key in labels)))) continue;
        const jobLabel = spec.jobLabel as string | undefined;
        for (const ep of (spec.endpoints as Obj[] | undefined) ?? []) {
          let job = jobLabel !== undefined && labels[jobLabel] !== undefined ? labels[jobLabel] : svc.metadata.name;
          for (const rl of (ep.relabelings as Obj[] | undefined) ?? []) {
            if (rl.targetLabel === "job" && (rl.action ?? "replace") === "replace" && JSON.stringify(rl.sourceLabels) === '["job"]') job = String(rl.replacement).replace("$1", job);
          }
          jobs.add(job);
        }
      }
    }
    return jobs;
  }

  it("every job of the scrape table is a job a rendered or typed ServiceMonitor really produces", { skip: helm.skipReason }, () => {
    for (const stack of SPOKES) {
      const c = spokeConfig(stack);
      const jobs = producedJobs(manifestsOf(stack));
      const receiving = ((at(run(stack).outputs, "receiver.edges") as string[] | undefined) ?? []).length > 0;
      const table = spokeScrapes({ namespace: c.namespace, lokiMode: c.loki.mode, spokeQuery: c.queryPath === "spoke-query", kubeProxy: kubeProxyScraped(c), receiver: receiving });
      if (stack === "dev-01") assert.ok(receiving && table.some((t) => t.job === "thanos-receive-router"), "dev-01's receiver jobs are in the table");
      for (const s of table) assert.ok(jobs.has(s.job), `${stack}: table job ${s.job} is not produced (produced: ${[...jobs].sort().join(", ")})`);
    }
  });

  it("the sidecars' discovery Service renders headless; no KubeProxyDown where kube-proxy is not scraped; InfoInhibitor is rendered", { skip: helm.skipReason }, () => {
    for (const stack of SPOKES) {
      const ms = manifestsOf(stack);
      const disc = ms.filter((m) => m.kind === "Service" && m.metadata.name.endsWith("-thanos-discovery"));
      assert.equal(disc.length, 1);
      assert.equal(at(disc[0].spec, "clusterIP"), "None");
      const alerts = ms.filter((m) => m.kind === "PrometheusRule").flatMap((m) => ((at(m.spec, "groups") as RuleGroup[] | undefined) ?? []).flatMap((g) => g.rules.flatMap((r) => ("alert" in r ? [r.alert] : []))));
      assert.ok(alerts.includes("InfoInhibitor"), `${stack}: the chart's InfoInhibitor is deployed, so its routing matters`);
      assert.equal(alerts.includes("KubeProxyDown"), kubeProxyScraped(spokeConfig(stack)), `${stack}: KubeProxyDown only where kube-proxy is scraped`);
    }
  });
});
