/**
 * Spoke workloads as the real spoke programs register them for the example fleet: chart
 * values known to the pinned charts, Thanos flags known to the pinned version, identities
 * bound per component, buckets of the spoke's own stack, rules and Alertmanager configs that
 * promtool and amtool accept.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import { SERVICE_ACCOUNTS } from "../components/endpoints";
import { REPLICA_LABEL } from "../components/thanos/args";
import { planFleet, reveal, type StackRun } from "../offline";
import { lokiSchemaErrors, unknownChartKeys } from "./support/charts";
import { unknownThanosFlags, type ThanosComponent } from "./support/reference";
import { requireTool, runTool } from "./support/tools";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => {
  assert.ok(v !== null && typeof v === "object" && !Array.isArray(v), `expected an object, got ${JSON.stringify(v)?.slice(0, 200)}`);
  return v as Obj;
};
const at = (v: unknown, path: string): unknown => path.split(".").reduce<unknown>((x, k) => (x !== null && typeof x === "object" ? (x as Obj)[k] : undefined), v);

const SPOKES = ["dev-01", "prod-01", "stag-01"] as const;
let runs: Map<string, StackRun>;

function run(stack: string): StackRun {
  const r = runs.get(stack);
  assert.ok(r, `no run for ${stack}`);
  assert.equal(r.error, undefined, r.error?.message);
  return r;
}
function inputsOf(stack: string, type: string, name?: string): Obj[] {
  return run(stack).resources.filter((r) => r.type === type && (name === undefined || r.name === name || String(at(reveal(r.inputs), "metadata.name")) === name)).map((r) => obj(reveal(r.inputs)));
}
function release(stack: string, chart: string): Obj {
  const r = inputsOf(stack, "kubernetes:helm.sh/v3:Release").find((i) => i.chart === chart);
  assert.ok(r, `${stack}: no ${chart} release`);
  return r;
}
function secretData(stack: string, name: string): Obj {
  const [s] = inputsOf(stack, "kubernetes:core/v1:Secret", name);
  assert.ok(s, `${stack}: no secret ${name}`);
  return obj(s.stringData);
}
function thanosPods(stack: string): { kind: string; name: string; spec: Obj }[] {
  return ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"].flatMap((t) =>
    inputsOf(stack, t).map((i) => ({ kind: t, name: String(at(i, "metadata.name")), spec: obj(at(i, "spec.template.spec")) })),
  );
}
function outputs(stack: string): Obj {
  return obj(reveal(run(stack).outputs));
}

before(async () => {
  const plan = await planFleet();
  runs = new Map(plan.runs.map((r) => [r.stack, r]));
});

describe("Helm releases of every spoke", () => {
  for (const stack of SPOKES) {
    it(`${stack}: every values key exists in the pinned chart, versions pinned from config`, () => {
      const config = run(stack).config as { versions: Record<string, string> };
      const pinned: Record<string, string> = { "kube-prometheus-stack": config.versions.kubePrometheusStack, loki: config.versions.loki, alloy: config.versions.alloy };
      const releases = inputsOf(stack, "kubernetes:helm.sh/v3:Release");
      assert.deepEqual(releases.map((r) => r.chart).sort(), ["alloy", "kube-prometheus-stack", "loki"]);
      for (const r of releases) {
        assert.equal(r.version, pinned[String(r.chart)], `${String(r.chart)} version`);
        assert.deepEqual(unknownChartKeys(String(r.chart), r.values), [], `${String(r.chart)} of ${stack}`);
      }
      assert.deepEqual(lokiSchemaErrors(release(stack, "loki").values), []);
    });
  }

  it("the chart check catches a key the chart does not know (guards the test above)", () => {
    const values = structuredClone(release("dev-01", "loki").values) as Obj;
    obj(values.loki).storageConfig = {};
    assert.deepEqual(unknownChartKeys("loki", values), ["loki.storageConfig"]);
  });
});

describe("Thanos components", () => {
  for (const stack of SPOKES) {
    it(`${stack}: every flag exists in the reference help, image pinned, requests and limits on every container`, () => {
      const config = run(stack).config as { versions: { thanos: string } };
      const pods = thanosPods(stack);
      assert.ok(pods.length >= 2);
      for (const p of pods) {
        for (const c of p.spec.containers as Obj[]) {
          const args = (c.args as string[]) ?? [];
          assert.deepEqual(unknownThanosFlags(args[0] as ThanosComponent, args), [], `${p.name} of ${stack}`);
          assert.equal(c.image, `quay.io/thanos/thanos:${config.versions.thanos}`);
          assert.ok(at(c, "resources.requests.cpu") && at(c, "resources.requests.memory") && at(c, "resources.limits.cpu") && at(c, "resources.limits.memory"), `${p.name}: requests and limits`);
        }
      }
    });
  }

  it("exactly one compactor per bucket, with a delete delay of at least 48h", () => {
    for (const stack of SPOKES) {
      const compactors = thanosPods(stack).filter((p) => (p.spec.containers as Obj[])[0].args instanceof Array && ((p.spec.containers as Obj[])[0].args as string[])[0] === "compact");
      assert.equal(compactors.length, 1, stack);
      const args = (compactors[0].spec.containers as Obj[])[0].args as string[];
      const delay = args.find((a) => a.startsWith("--delete-delay="))?.split("=")[1] ?? "";
      assert.match(delay, /^(4[89]|[5-9][0-9]|[1-9][0-9]{2,})h$/);
      const [sts] = inputsOf(stack, "kubernetes:apps/v1:StatefulSet", "thanos-compact");
      assert.equal(at(sts, "spec.replicas"), 1);
    }
  });

  it("a store gateway runs on the spoke only with queryPath spoke-query", () => {
    assert.equal(inputsOf("prod-01", "kubernetes:apps/v1:Deployment", "thanos-store").length, 1);
    assert.equal(inputsOf("dev-01", "kubernetes:apps/v1:Deployment", "thanos-store").length, 0);
    assert.equal(inputsOf("stag-01", "kubernetes:apps/v1:Deployment", "thanos-store").length, 0);
  });

  it("the local query, the single endpoint the hub dials, serves gRPC with a client CA (mTLS)", () => {
    for (const stack of SPOKES) {
      const [q] = inputsOf(stack, "kubernetes:apps/v1:Deployment", "thanos-query");
      const args = ((at(q, "spec.template.spec.containers") as Obj[])[0].args as string[]);
      assert.ok(args.includes("--grpc-server-tls-client-ca=/etc/thanos/tls/server/ca.crt"), stack);
      const endpoints = parse(String(obj(inputsOf(stack, "kubernetes:core/v1:ConfigMap", "thanos-query-endpoints")[0].data)["endpoints.yaml"])) as { default_client_config?: { tls_config: Obj }; endpoints: { address: string; client_config?: Obj }[] };
      // Thanos v0.42.4 dials DNS-discovered addresses with default_client_config only and
      // ignores their own client_config (cmd/thanos/endpointset.go): TLS must be the default.
      assert.ok(endpoints.endpoints.every((e) => e.address.startsWith("dnssrv+") && e.client_config === undefined), `${stack}: internal endpoints are DNS-discovered, without an (ignored) per-endpoint client_config`);
      assert.equal(endpoints.default_client_config?.tls_config.enabled, true, `${stack}: every internal endpoint dialled with TLS`);
      // prod-01 adds its store gateway (spoke-query); dev-01 the ingesters of its zone receiver (it accepts edge-dev-01).
      assert.equal(endpoints.endpoints.length, stack === "prod-01" || stack === "dev-01" ? 2 : 1);
      if (stack === "dev-01") assert.ok(endpoints.endpoints.some((e) => e.address === "dnssrv+_grpc._tcp.thanos-receive.observability.svc.cluster.local"), "dev-01 reads its receiver's ingesters");
    }
  });
});

describe("identities and buckets per cloud", () => {
  it("dev-01 (AWS, Pod Identity): each ServiceAccount is associated with its own writer role, never the hub reader", () => {
    const assocs = inputsOf("dev-01", "aws:eks/podIdentityAssociation:PodIdentityAssociation");
    const bySa = new Map(assocs.map((a) => [String(a.serviceAccount), String(a.roleArn)]));
    for (const [sa, role] of [[SERVICE_ACCOUNTS.sidecar, "sidecar"], [SERVICE_ACCOUNTS.compactor, "compactor"], [SERVICE_ACCOUNTS.loki, "loki"]] as const) {
      assert.match(bySa.get(sa) ?? "", new RegExp(role), `${sa} → ${role} role`);
      assert.doesNotMatch(bySa.get(sa) ?? "", /reader/);
    }
  });

  it("prod-01 (GCP): each ServiceAccount carries its own Google service account", () => {
    const kps = release("prod-01", "kube-prometheus-stack");
    assert.match(String(obj(at(kps.values, "prometheus.serviceAccount.annotations"))["iam.gke.io/gcp-service-account"]), /sidecar/);
    const loki = release("prod-01", "loki");
    assert.match(String(obj(at(loki.values, "serviceAccount.annotations"))["iam.gke.io/gcp-service-account"]), /loki/);
    const [sa] = inputsOf("prod-01", "kubernetes:core/v1:ServiceAccount", SERVICE_ACCOUNTS.compactor);
    assert.match(String(obj(at(sa, "metadata.annotations"))["iam.gke.io/gcp-service-account"]), /compactor/);
    for (const a of [kps, loki, sa]) assert.doesNotMatch(JSON.stringify(a), /hub-reader/);
  });

  it("stag-01 (Azure): each ServiceAccount carries the client id of its own federated identity", () => {
    const identities = run("stag-01").resources.filter((r) => r.type === "azure-native:managedidentity:UserAssignedIdentity").map((r) => ({ name: r.name, clientId: String(obj(reveal(r.outputs)).clientId) }));
    const clientOf = (role: string): string => {
      const i = identities.find((x) => x.name.includes(role));
      assert.ok(i, `no ${role} identity in ${identities.map((x) => x.name).join(", ")}`);
      return i.clientId;
    };
    const kps = release("stag-01", "kube-prometheus-stack");
    assert.equal(obj(at(kps.values, "prometheus.serviceAccount.annotations"))["azure.workload.identity/client-id"], clientOf("sidecar"));
    const loki = release("stag-01", "loki");
    assert.equal(obj(at(loki.values, "serviceAccount.annotations"))["azure.workload.identity/client-id"], clientOf("loki"));
    const [sa] = inputsOf("stag-01", "kubernetes:core/v1:ServiceAccount", SERVICE_ACCOUNTS.compactor);
    assert.equal(obj(at(sa, "metadata.annotations"))["azure.workload.identity/client-id"], clientOf("compactor"));
    const [sts] = inputsOf("stag-01", "kubernetes:apps/v1:StatefulSet", "thanos-compact");
    assert.equal(obj(at(sts, "spec.template.metadata.labels"))["azure.workload.identity/use"], "true");
  });

  for (const stack of SPOKES) {
    it(`${stack}: Thanos and Loki write to the buckets of their own stack and region`, () => {
      const buckets = obj(outputs(stack).buckets);
      const objstore = parse(String(secretData(stack, "thanos-objstore")["objstore.yaml"])) as { type: string; config: Obj };
      const bucket = objstore.config.bucket ?? objstore.config.container;
      assert.equal(bucket, buckets.metrics);
      const storage = obj(at(release(stack, "loki").values, "loki.storage"));
      assert.equal(at(storage, "bucketNames.chunks"), buckets.logs);
      const region = String(outputs(stack).region);
      if (objstore.type === "S3") {
        assert.equal(objstore.config.region, region);
        assert.equal(at(storage, "s3.region"), region);
      }
      assert.ok(!("access_key" in objstore.config) && !("service_account" in objstore.config) && !("storage_account_key" in objstore.config), "writers use workload identity, no static keys");
    });
  }
});

describe("Prometheus HA pair and alerting", () => {
  for (const stack of SPOKES) {
    it(`${stack}: external labels of the pair are the stack's identity; only the replica label differs`, () => {
      const spec = obj(at(release(stack, "kube-prometheus-stack").values, "prometheus.prometheusSpec"));
      const o = outputs(stack);
      assert.deepEqual(spec.externalLabels, o.labels);
      assert.equal(spec.replicaExternalLabelName, REPLICA_LABEL);
      assert.equal(spec.replicas, 2);
    });
  }

  const promtool = requireTool("promtool");
  it("promtool accepts the recorded pipeline-alive rules of every spoke", { skip: promtool.skipReason }, () => {
    for (const stack of SPOKES) {
      const [rule] = inputsOf(stack, "kubernetes:monitoring.coreos.com/v1:PrometheusRule");
      assert.ok(rule, stack);
      const dir = mkdtempSync(join(tmpdir(), "rules-"));
      const file = join(dir, "rules.json");
      writeFileSync(file, JSON.stringify({ groups: at(rule, "spec.groups") }));
      const r = runTool("promtool", ["check", "rules", file]);
      assert.equal(r.status, 0, `${stack}: ${r.output}`);
    }
  });

  const amtool = requireTool("amtool");
  it("amtool accepts the recorded Alertmanager config, and the Watchdog reaches only the dead-man's switch", { skip: amtool.skipReason }, () => {
    for (const stack of SPOKES) {
      const dir = mkdtempSync(join(tmpdir(), "am-"));
      const file = join(dir, "alertmanager.yaml");
      writeFileSync(file, String(secretData(stack, "alertmanager-config")["alertmanager.yaml"]));
      const check = runTool("amtool", ["check-config", file]);
      assert.equal(check.status, 0, `${stack}: ${check.output}`);
      const route = runTool("amtool", ["config", "routes", "test", `--config.file=${file}`, "alertname=Watchdog"]);
      assert.equal(route.output.split("\n")[0].trim(), "dead-mans-switch", `${stack}: ${route.output}`);
    }
  });

  it("the Alertmanager config and the gateway's htpasswd are Kubernetes secrets with secret values", () => {
    for (const stack of SPOKES) {
      const rec = run(stack).resources.filter((r) => r.type === "kubernetes:core/v1:Secret" && ["alertmanager-config", "loki-gateway-htpasswd"].includes(String(at(reveal(r.inputs), "metadata.name"))));
      assert.equal(rec.length, 2);
      for (const r of rec) assert.match(JSON.stringify(r.inputs.stringData), /1b47061264138c4ac30d75fd1eb44270/, `${stack}: ${r.name} stringData is secret`);
    }
  });

  it("fleet.md-ready footprint: requested CPU and memory per spoke, per-node agents separate", () => {
    for (const stack of SPOKES) {
      const f = obj(outputs(stack).footprint);
      assert.ok(Number(at(f, "cluster.cpuMillicores")) > 0 && Number(at(f, "perNode.memoryMiB")) > 0, stack);
    }
    assert.ok(Number(at(outputs("prod-01").footprint, "cluster.cpuMillicores")) > Number(at(outputs("dev-01").footprint, "cluster.cpuMillicores")), "large prod outweighs small dev");
  });
});
