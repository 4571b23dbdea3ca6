/**
 * The hub as the real hub program registers it for the example fleet: per-endpoint mTLS to
 * each spoke, memory-only read paths, Grafana datasources, rules and routing, and what
 * onboarding one more spoke changes.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type TLSSocket } from "node:tls";
import { before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { listStacks } from "../components/config";
import { HUB_THANOS, SPOKE_CA_DIR } from "../components/workloads/hub";
import { planFleet, reveal, REPO_DIR, type StackRun } from "../offline";
import { unknownChartKeys } from "./support/charts";
import { referenceYaml, unknownKeyPaths, unknownThanosFlags, type ThanosComponent } from "./support/reference";
import { requireTool, runTool } from "./support/tools";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => {
  assert.ok(v !== null && typeof v === "object" && !Array.isArray(v), `expected an object, got ${JSON.stringify(v)?.slice(0, 200)}`);
  return v as Obj;
};
const at = (v: unknown, path: string): unknown => path.split(".").reduce<unknown>((x, k) => (x !== null && typeof x === "object" ? (x as Obj)[k] : undefined), v);

let runs: Map<string, StackRun>;
const run = (s: string): StackRun => {
  const r = runs.get(s);
  assert.ok(r && r.error === undefined, r?.error?.message ?? `no run for ${s}`);
  return r;
};
const inputs = (r: StackRun, type: string): Obj[] => r.resources.filter((x) => x.type === type).map((x) => obj(reveal(x.inputs)));
const named = (r: StackRun, type: string, name: string): Obj => {
  const found = inputs(r, type).find((i) => at(i, "metadata.name") === name);
  assert.ok(found, `${r.stack}: no ${type} ${name}`);
  return found;
};

interface Endpoint { address: string; strict: boolean; client_config?: { tls_config: { cert_file: string; key_file: string; ca_file: string; enabled: boolean }; server_name: string } }

before(async () => {
  runs = new Map((await planFleet()).runs.map((r) => [r.stack, r]));
});

describe("global query", () => {
  const endpointConfig = (): { endpoints: Endpoint[] } => parse(String(obj(named(run("ops-01"), "kubernetes:core/v1:ConfigMap", HUB_THANOS.endpointsConfigMap).data)["endpoints.yaml"])) as { endpoints: Endpoint[] };

  it("the endpoint config has exactly one TLS entry per spoke, with that spoke's CA, server name and the hub client cert", () => {
    const tlsEntries = endpointConfig().endpoints.filter((e) => e.client_config !== undefined);
    assert.equal(tlsEntries.length, 4);
    for (const spoke of ["dev-01", "edge-otc-01", "prod-01", "stag-01"]) {
      const thanos = obj(obj(reveal(run(spoke).outputs)).thanos);
      const entry = tlsEntries.filter((e) => e.address === thanos.endpoint);
      assert.equal(entry.length, 1, spoke);
      assert.equal(entry[0].client_config?.server_name, thanos.serverName);
      assert.equal(entry[0].client_config?.tls_config.ca_file, `${SPOKE_CA_DIR}/${spoke}.crt`);
      assert.equal(entry[0].client_config?.tls_config.cert_file, "/etc/thanos/tls/client/tls.crt");
      const cas = obj(named(run("ops-01"), "kubernetes:core/v1:ConfigMap", HUB_THANOS.spokeCasConfigMap).data);
      assert.equal(cas[`${spoke}.crt`], thanos.caPem, `${spoke}: the CA file holds that spoke's CA`);
    }
  });

  it("hub-store spokes are read by hub-local store gateways without TLS; spoke-query spokes are not", () => {
    const plain = endpointConfig().endpoints.filter((e) => e.client_config === undefined).map((e) => e.address);
    assert.ok(plain.some((a) => a.startsWith("thanos-store-dev-01.")));
    assert.ok(plain.some((a) => a.startsWith("thanos-store-stag-01.")));
    assert.ok(!plain.some((a) => a.includes("prod-01")));
  });

  it("the endpoint config is valid against the reference schema", () => {
    const reference = referenceYaml("thanos-v0.42.4/endpoint-config.yaml") as { endpoints: Obj[]; default_client_config: unknown };
    const schema = { endpoints: [{ ...reference.endpoints[0], client_config: reference.default_client_config }] };
    assert.deepEqual(unknownKeyPaths(endpointConfig(), schema), []);
  });

  it("every Thanos flag of every hub component exists in the reference help", () => {
    const hub = run("ops-01");
    const pods = [...inputs(hub, "kubernetes:apps/v1:Deployment"), ...inputs(hub, "kubernetes:apps/v1:StatefulSet")];
    assert.ok(pods.length >= 5);
    for (const p of pods) {
      const args = ((at(p, "spec.template.spec.containers") as Obj[])[0].args as string[]);
      assert.deepEqual(unknownThanosFlags(args[0] as ThanosComponent, args), [], String(at(p, "metadata.name")));
    }
  });

  it("deduplicates on the replica labels, partial response with a per-store timeout below the query timeout, frontend splits by day", () => {
    const hub = run("ops-01");
    const q = (at(named(hub, "kubernetes:apps/v1:Deployment", HUB_THANOS.query), "spec.template.spec.containers") as Obj[])[0].args as string[];
    assert.ok(q.includes("--query.replica-label=prometheus_replica") && q.includes("--query.partial-response") && q.includes("--endpoint.sd-config-file=/etc/thanos/endpoints/endpoints.yaml"));
    assert.ok(q.includes("--store.response-timeout=30s") && q.includes("--query.timeout=2m"));
    const f = (at(named(hub, "kubernetes:apps/v1:Deployment", HUB_THANOS.frontend), "spec.template.spec.containers") as Obj[])[0].args as string[];
    assert.ok(f.includes("--query-range.split-interval=24h"));
    assert.match(f.find((a) => a.startsWith("--query-range.response-cache-config="))?? "", /IN-MEMORY/);
  });

  it("a real handshake with each spoke's client_config succeeds, and fails with another spoke's CA", async () => {
    const hub = run("ops-01");
    const client = obj(named(hub, "kubernetes:core/v1:Secret", "thanos-query-client-tls").stringData);
    const cas = obj(named(hub, "kubernetes:core/v1:ConfigMap", HUB_THANOS.spokeCasConfigMap).data);
    const entries = endpointConfig().endpoints.filter((e) => e.client_config !== undefined);
    for (const spoke of ["dev-01", "prod-01", "stag-01"]) {
      const server = obj(named(run(spoke), "kubernetes:core/v1:Secret", "thanos-grpc-tls").stringData);
      const entry = entries.find((e) => e.client_config?.tls_config.ca_file.endsWith(`/${spoke}.crt`));
      assert.ok(entry?.client_config);
      const ok = await handshake(server, { cert: String(client["tls.crt"]), key: String(client["tls.key"]), ca: String(cas[`${spoke}.crt`]), servername: entry.client_config.server_name });
      assert.equal(ok, "ok", `${spoke}: ${ok}`);
      const other = spoke === "dev-01" ? "prod-01" : "dev-01";
      const wrong = await handshake(server, { cert: String(client["tls.crt"]), key: String(client["tls.key"]), ca: String(cas[`${other}.crt`]), servername: entry.client_config.server_name });
      assert.notEqual(wrong, "ok", `${spoke} verified with ${other}'s CA`);
    }
  });
});

/** One mTLS handshake on loopback; "ok" or the error code. */
async function handshake(server: Obj, client: { cert: string; key: string; ca: string; servername: string }): Promise<string> {
  const srv = createServer({ cert: String(server["tls.crt"]), key: String(server["tls.key"]), ca: String(server["ca.crt"]), requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.3" }, (s) => s.end());
  srv.on("tlsClientError", () => undefined);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  try {
    return await new Promise<string>((resolve) => {
      const socket: TLSSocket = connect({ host: "127.0.0.1", port, ...client, minVersion: "TLSv1.3" }, () => {
        // TLS 1.3: the server judges the client certificate after the client's Finished; wait for its verdict.
        socket.once("data", () => resolve("ok"));
        socket.once("end", () => resolve("ok"));
        socket.once("close", () => resolve("ok"));
      });
      socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      socket.setTimeout(5000, () => { socket.destroy(); resolve("timeout"); });
    });
  } finally {
    srv.close();
  }
}

describe("nothing read from a spoke persists in the hub", () => {
  it("no hub workload has a PersistentVolumeClaim or a disk-backed volume", () => {
    const hub = run("ops-01");
    assert.equal(hub.resources.filter((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaim").length, 0);
    const pods = [...inputs(hub, "kubernetes:apps/v1:Deployment"), ...inputs(hub, "kubernetes:apps/v1:StatefulSet")];
    for (const p of pods) {
      const name = String(at(p, "metadata.name"));
      assert.equal(at(p, "spec.volumeClaimTemplates"), undefined, `${name}: volumeClaimTemplates`);
      for (const v of (at(p, "spec.template.spec.volumes") as Obj[]) ?? []) {
        assert.ok(!("persistentVolumeClaim" in v) && !("hostPath" in v), `${name}: ${JSON.stringify(v)}`);
        if ("emptyDir" in v) assert.equal(at(v, "emptyDir.medium"), "Memory", `${name}: emptyDir must be RAM-backed`);
      }
    }
    const grafana = inputs(hub, "kubernetes:helm.sh/v3:Release").find((r) => r.chart === "grafana");
    assert.equal(at(grafana?.values, "persistence.enabled"), false);
    const am = inputs(hub, "kubernetes:helm.sh/v3:Release").find((r) => r.chart === "kube-prometheus-stack");
    assert.equal(at(am?.values, "alertmanager.alertmanagerSpec.storage.emptyDir.medium"), "Memory");
  });

  it("store gateways over spoke buckets read federated: a projected token for the spoke cloud's audience, the credential chain's env, no credential, no cloud webhook", () => {
    const hub = run("ops-01");
    const expected: Record<string, { audience: string; env: string[] }> = {
      // AWS STS: the IAM OIDC provider's client id; Azure: Entra's only workload identity audience.
      "dev-01": { audience: "sts.amazonaws.com", env: ["AWS_REGION", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE"] },
      "stag-01": { audience: "api://AzureADTokenExchange", env: ["AZURE_AUTHORITY_HOST", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_TENANT_ID", "AZURE_TOKEN_CREDENTIALS"] },
    };
    for (const [spoke, want] of Object.entries(expected)) {
      const reader = obj(obj(reveal(run(spoke).outputs)).reader);
      assert.equal(reader.auth, "federated", spoke);
      const sa = named(hub, "kubernetes:core/v1:ServiceAccount", HUB_THANOS.spokeStore(spoke));
      assert.deepEqual(at(sa, "metadata.annotations"), {}, `${spoke}: no eks.amazonaws.com/role-arn or azure.workload.identity annotation`);
      const deploy = named(hub, "kubernetes:apps/v1:Deployment", HUB_THANOS.spokeStore(spoke));
      const pod = obj(at(deploy, "spec.template"));
      assert.equal(at(pod, "spec.serviceAccountName"), HUB_THANOS.spokeStore(spoke), "the ServiceAccount the spoke trusts");
      assert.equal(`system:serviceaccount:observability:${String(at(pod, "spec.serviceAccountName"))}`, reader.subject);
      const labels = obj(at(pod, "metadata.labels"));
      for (const k of Object.keys(labels)) assert.ok(!k.startsWith("azure.workload.identity") && !k.startsWith("eks.amazonaws.com"), `${spoke}: webhook label ${k}`);
      const volumes = at(pod, "spec.volumes") as Obj[];
      const token = volumes.filter((v) => v.projected !== undefined);
      assert.equal(token.length, 1, `${spoke}: one projected token`);
      const source = obj((at(token[0], "projected.sources") as Obj[])[0].serviceAccountToken);
      assert.equal(source.audience, want.audience, spoke);
      assert.ok(Number(source.expirationSeconds) >= 3600, `${spoke}: the token lives at least an hour`);
      const container = (at(pod, "spec.containers") as Obj[])[0];
      const env = Object.fromEntries((container.env as Obj[]).filter((e) => typeof e.value === "string").map((e) => [String(e.name), String(e.value)]));
      assert.deepEqual(Object.keys(env).sort(), want.env, spoke);
      const mount = (container.volumeMounts as Obj[]).find((m) => m.name === token[0].name);
      assert.ok(mount !== undefined && mount.readOnly === true);
      const tokenFile = `${String(mount.mountPath)}/${String(source.path)}`;
      assert.equal(env.AWS_WEB_IDENTITY_TOKEN_FILE ?? env.AZURE_FEDERATED_TOKEN_FILE, tokenFile, `${spoke}: the env names the projected token`);
      const identity = obj(reader.identity);
      if (spoke === "dev-01") assert.equal(env.AWS_ROLE_ARN, identity.roleArn);
      else assert.deepEqual([env.AZURE_CLIENT_ID, env.AZURE_TENANT_ID], [identity.clientId, identity.tenantId]);
      const secret = hub.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && at(reveal(r.inputs), "metadata.name") === `thanos-objstore-${spoke}`);
      assert.ok(secret);
      const objstore = String(obj(reveal(secret.inputs.stringData))["objstore.yaml"]);
      assert.equal(objstore, reader.objstore);
      assert.doesNotMatch(objstore, /access_key|secret_key|session_token|service_account|storage_account_key|storage_connection_string|SharedAccessSignature|user_assigned_id|client_secret/);
    }
    // edge-otc-01's service cannot trust the hub's issuer: read with its key.
    assert.deepEqual(obj(reveal(hub.outputs)).spokeReaders, { "dev-01": "federated", "edge-otc-01": "key", "stag-01": "federated" });
  });
});

describe("Grafana", () => {
  it("N+1 datasources: the global Thanos and one Loki per spoke with basic auth, client TLS, that spoke's CA and server name", () => {
    const hub = run("ops-01");
    const rec = hub.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && obj(reveal(r.inputs)).chart === "grafana");
    assert.ok(rec);
    assert.match(JSON.stringify(rec.inputs.values), /1b47061264138c4ac30d75fd1eb44270/, "values holding passwords and keys are secret");
    const values = obj(reveal(rec.inputs.values));
    assert.deepEqual(unknownChartKeys("grafana", values), []);
    const text = JSON.stringify(values);
    const sources = (JSON.parse(text) as Obj);
    const list = findDatasources(sources);
    assert.equal(list.length, 5);
    assert.equal(list.filter((d) => d.type === "prometheus").length, 1);
    for (const spoke of ["dev-01", "edge-otc-01", "prod-01", "stag-01"]) {
      const o = obj(reveal(run(spoke).outputs));
      const loki = obj(o.loki);
      const d = list.find((x) => x.type === "loki" && x.url === loki.url);
      assert.ok(d, spoke);
      assert.equal(d.basicAuth, true);
      assert.equal(d.basicAuthUser, loki.username);
      assert.equal(at(d, "secureJsonData.basicAuthPassword"), o.lokiPassword);
      assert.equal(at(d, "jsonData.serverName"), loki.serverName);
      assert.equal(at(d, "secureJsonData.tlsCACert"), loki.caPem);
      assert.ok(String(at(d, "secureJsonData.tlsClientCert")).includes("BEGIN CERTIFICATE"));
    }
  });
});

function findDatasources(v: unknown): Obj[] {
  if (Array.isArray(v)) return v.flatMap(findDatasources);
  if (v !== null && typeof v === "object") {
    const o = v as Obj;
    if (Array.isArray(o.datasources)) return (o.datasources as Obj[]).filter((d) => typeof d.type === "string");
    return Object.values(o).flatMap(findDatasources);
  }
  return [];
}

describe("hub rules and routing", () => {
  const promtool = requireTool("promtool");
  it("promtool accepts the recorded hub rules; a silent spoke fires, a healthy one does not", { skip: promtool.skipReason }, () => {
    const dir = mkdtempSync(join(tmpdir(), "hub-rules-"));
    // partial_response_strategy is Thanos Ruler's extension of the rule file; promtool checks the rest.
    const groups = parse(String(obj(named(run("ops-01"), "kubernetes:core/v1:ConfigMap", HUB_THANOS.rulesConfigMap).data)["global.yaml"])) as { groups: Obj[] };
    for (const g of groups.groups) delete g.partial_response_strategy;
    writeFileSync(join(dir, "rules.yaml"), stringify(groups));
    const check = runTool("promtool", ["check", "rules", join(dir, "rules.yaml")]);
    assert.equal(check.status, 0, check.output);
    const test = {
      rule_files: ["rules.yaml"],
      evaluation_interval: "1m",
      tests: [{
        interval: "1m",
        input_series: [
          { series: 'up{cluster="dev-01", job="kps-prometheus"}', values: "1x30" },
          { series: 'ALERTS{alertname="Watchdog", alertstate="firing", cluster="dev-01"}', values: "1x30" },
          { series: 'up{cluster="stag-01", job="kps-prometheus"}', values: "1x30" },
          { series: 'ALERTS{alertname="Watchdog", alertstate="firing", cluster="stag-01"}', values: "1x30" },
          { series: 'up{cluster="edge-otc-01", job="kps-prometheus"}', values: "1x30" },
          { series: 'ALERTS{alertname="Watchdog", alertstate="firing", cluster="edge-otc-01"}', values: "1x30" },
        ],
        alert_rule_test: [
          { eval_time: "20m", alertname: "SpokeUnreachable", exp_alerts: [{ exp_labels: alertLabels("prod-01", "SpokeUnreachable") }] },
        ],
      }],
    };
    const firing = parse(String(obj(named(run("ops-01"), "kubernetes:core/v1:ConfigMap", HUB_THANOS.rulesConfigMap).data)["global.yaml"])) as { groups: { rules: Obj[] }[] };
    const rule = firing.groups.flatMap((g) => g.rules).find((r) => r.alert === "SpokeUnreachable" && JSON.stringify(r.labels).includes("prod-01"));
    assert.ok(rule, "an unreachable-spoke alert for prod-01");
    const expected: { exp_labels: Record<string, string>; exp_annotations?: Record<string, string> }[] = [{ exp_labels: { alertname: "SpokeUnreachable", ...(rule.labels as Record<string, string>) }, exp_annotations: rule.annotations as Record<string, string> }];
    test.tests[0].alert_rule_test[0].exp_alerts = expected;
    writeFileSync(join(dir, "test.yaml"), stringify(test));
    const r = runTool("promtool", ["test", "rules", join(dir, "test.yaml")]);
    assert.equal(r.status, 0, r.output);
  });

  const amtool = requireTool("amtool");
  it("amtool accepts the hub Alertmanager config; prod pages, others ticket, the Watchdog goes to the dead-man's switch", { skip: amtool.skipReason }, () => {
    const dir = mkdtempSync(join(tmpdir(), "hub-am-"));
    const file = join(dir, "am.yaml");
    writeFileSync(file, String(obj(named(run("ops-01"), "kubernetes:core/v1:Secret", "alertmanager-config").stringData)["alertmanager.yaml"]));
    assert.equal(runTool("amtool", ["check-config", file]).status, 0);
    const route = (labels: string[]): string => runTool("amtool", ["config", "routes", "test", `--config.file=${file}`, ...labels]).output.split("\n")[0].trim();
    assert.equal(route(["alertname=SpokeUnreachable", "environment=prod"]), "prod");
    assert.equal(route(["alertname=SpokeUnreachable", "environment=dev"]), "non-prod");
    assert.equal(route(["alertname=Watchdog", "watchdog=hub"]), "dead-mans-switch");
  });
});

function alertLabels(spoke: string, alert: string): Record<string, string> {
  return { alertname: alert, cluster: spoke };
}

describe("onboarding one more spoke", () => {
  it("changes no resource of the other spokes, and only adds or updates hub resources without replacing a stateful one", async () => {
    const base = mkdtempSync(join(tmpdir(), "onboard-a-"));
    for (const s of listStacks(REPO_DIR)) copyFileSync(join(REPO_DIR, `Pulumi.${s}.yaml`), join(base, `Pulumi.${s}.yaml`));
    const grown = mkdtempSync(join(tmpdir(), "onboard-b-"));
    for (const s of listStacks(REPO_DIR)) copyFileSync(join(REPO_DIR, `Pulumi.${s}.yaml`), join(grown, `Pulumi.${s}.yaml`));
    writeFileSync(join(grown, "Pulumi.dev-02.yaml"), readFileSync(join(REPO_DIR, "Pulumi.dev-01.yaml"), "utf8").replace(/dev-01/g, "dev-02"));
    writeFileSync(join(grown, "Pulumi.ops-01.yaml"), readFileSync(join(REPO_DIR, "Pulumi.ops-01.yaml"), "utf8").replace("    - stag-01\n", "    - stag-01\n    - dev-02\n"));
    const [a, b] = await Promise.all([planFleet({ projectDir: base }), planFleet({ projectDir: grown })]);
    // Certificates, and the digests of certificates that roll the pods reading them, differ between the two plans by design.
    const norm = (v: unknown): string => JSON.stringify(v).replace(/-----BEGIN [A-Z ]+-----[^"]*?-----END [A-Z ]+-----(\\n)?/g, "<PEM>").replace(/("checksum\/tls":")[0-9a-f]{16}"/g, '$1<digest>"');
    const byUrn = (r: StackRun): Map<string, string> => new Map(r.resources.map((x) => [x.urn, norm(x.inputs)]));
    for (const spoke of ["dev-01", "prod-01", "stag-01"]) {
      const ra = a.runs.find((r) => r.stack === spoke);
      const rb = b.runs.find((r) => r.stack === spoke);
      assert.ok(ra && rb && rb.error === undefined);
      assert.deepEqual(byUrn(rb), byUrn(ra), `${spoke} changed`);
    }
    const ha = a.runs.find((r) => r.stack === "ops-01");
    const hb = b.runs.find((r) => r.stack === "ops-01");
    assert.ok(ha && hb && hb.error === undefined, hb?.error?.message);
    const before = byUrn(ha);
    const after = byUrn(hb);
    const removed = [...before.keys()].filter((u) => !after.has(u));
    assert.deepEqual(removed, [], "no hub resource is removed (a removal plus an add is a replacement)");
    const added = [...after.keys()].filter((u) => !before.has(u));
    assert.ok(added.length > 0 && added.every((u) => u.includes("dev-02")), `only dev-02's read path is added: ${added.join(", ")}`);
    const stateful = ["aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:ec2/eip:Eip", "aws:ec2/natGateway:NatGateway", "aws:iam/role:Role", "kubernetes:apps/v1:StatefulSet", "tls:index/privateKey:PrivateKey", "random:index/randomPassword:RandomPassword"];
    const changed = [...before.keys()].filter((u) => after.get(u) !== before.get(u));
    const statefulChanged = changed.filter((u) => stateful.some((t) => u.includes(`::${t}::`) || u.includes(`$${t}::`)));
    // The ruler rolls for the new spoke's rules (a rolling update of its pod template, not a replacement).
    for (const u of statefulChanged) {
      assert.match(u, /thanos-rule/, `stateful ${u} changed`);
      const diff = [JSON.parse(before.get(u) ?? "{}"), JSON.parse(after.get(u) ?? "{}")].map((x: Obj) => ({ ...x, spec: { ...obj(x.spec), template: undefined } }));
      assert.deepEqual(diff[1], diff[0], "only the ruler's pod template changes");
    }
    const query = [...before.keys()].find((u) => u.endsWith(`::${"ops-01-workloads-" + HUB_THANOS.query}`) && u.includes("Deployment"));
    assert.ok(query);
    assert.equal(after.get(query), before.get(query), "the global query is not restarted: its endpoints are a reloadable file");
  });
});
