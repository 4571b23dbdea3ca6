/**
 * The declared flows against the full manifest set of every example stack: typed resources
 * plus every Helm release rendered by the pinned `helm template` (offline/manifests.ts), pods
 * of the Prometheus Operator CRs derived as the operator makes them. The check passes on the
 * fleet and fails when the hub's Alertmanager policy is the one planned before issue 11 item 2
 * (test/fixtures/old-alertmanager-spokes-ingress.yaml). Grafana's operator exposure and SSO are
 * checked on a hub run with `grafana.operatorCidrs` and `grafana.sso` set.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import { asReference, REPO_DIR, reveal, runStack, SPOKES_ENV, type StackRun } from "../offline";
import { chartsDir, stackManifests, type Manifest } from "../offline/manifests";
import { fleetMarkdown, flowTableOf } from "../offline/report";
import { checkFlows, type KubeObject } from "../components/exposure/flows-check";
import { GRAFANA_OAUTH_SECRET_ENV } from "../components/workloads/values";
import { realFleet, runOf, type RealFleet } from "./support/fleet";
import { requireTool } from "./support/tools";

const helm = requireTool("helm");
const CHARTS = chartsDir(REPO_DIR);
const HUB = "ops-01";
const STACKS = ["dev-01", "edge-dev-01", "edge-otc-01", "prod-01", "stag-01", HUB] as const;
const OLD_HUB_POLICY = parse(readFileSync(join(__dirname, "fixtures", "old-alertmanager-spokes-ingress.yaml"), "utf8")) as KubeObject;

let fleet: RealFleet;
const manifests = new Map<string, Manifest[]>();

function all(run: StackRun): Manifest[] {
  const set = stackManifests(run, { repoDir: REPO_DIR });
  assert.deepEqual(set.errors, [], `${run.stack}: every release renders`);
  return set.all.map((m) => m.manifest);
}

describe("declared flows on the rendered fleet", { skip: helm.skipReason ?? (CHARTS === undefined ? "no ../shared/reference/charts" : undefined) }, () => {
  before(async () => {
    fleet = await realFleet();
    for (const s of STACKS) manifests.set(s, all(runOf(fleet, s)));
  });

  for (const s of STACKS) {
    it(`${s}: every declared flow is admitted and nothing undeclared is (typed resources + rendered charts)`, () => {
      const run = runOf(fleet, s);
      const table = flowTableOf(run);
      assert.ok(table !== undefined, `${s} registers its flow table`);
      const r = checkFlows({ table, manifests: manifests.get(s) ?? [] });
      assert.deepEqual(r.findings, []);
      // Every Loki component of the chart is isolated (Loki's 3100 is unauthenticated).
      const loki = r.pods.filter((p) => /\/loki(-write|-read|-backend)?$/.test(p.workload));
      for (const p of loki) assert.equal(p.policies.length, 1, `${s}: ${p.workload} is isolated`);
      if (s !== HUB && s !== "edge-dev-01") assert.ok(loki.length >= 1, `${s} runs Loki`);
    });
  }

  it("the hub's Alertmanager policy as planned before issue 11 item 2 fails the check: the ruler's alerts and the peer mesh are dropped", () => {
    const run = runOf(fleet, HUB);
    const table = flowTableOf(run);
    assert.ok(table !== undefined);
    const current = (manifests.get(HUB) ?? []).filter((m) => !(m.kind === "NetworkPolicy" && m.metadata.name === "alertmanager-ingress"));
    const r = checkFlows({ table, manifests: [...current, OLD_HUB_POLICY] });
    assert.equal(r.ok, false);
    const blocked = r.findings.filter((f) => f.kind === "blocked").map((f) => f.message.split(":")[0]).sort();
    // It was rendered for the three spokes of its day: edge-otc-01's forwarded alerts are dropped by it too.
    assert.deepEqual(blocked, ["flow alertmanager-mesh-tcp blocked", "flow alertmanager-mesh-udp blocked", "flow ruler-sends-alerts blocked", "flow spokes-forward-alerts blocked"]);
  });

  it("dev-01's receiver admits exactly the accepted edge's egress addresses: a source outside the allowlist is refused", () => {
    const run = runOf(fleet, "dev-01");
    const table = flowTableOf(run);
    assert.ok(table !== undefined);
    const edgeIps = (reveal(runOf(fleet, "edge-dev-01").outputs.egressIps) as string[]).map((ip) => `${ip}/32`).sort();
    const declared = table.flows.find((f) => f.id === "edges-remote-write");
    assert.ok(declared !== undefined && declared.from.kind === "cidrs");
    assert.deepEqual([...declared.from.cidrs].sort(), edgeIps, "the edges' flow is declared from exactly their egress addresses");
    const router = table.targets.find((t) => t.name === "thanos-receive-router");
    assert.ok(router !== undefined);
    // A stranger's remote write, declared as if it were wanted: the rendered policies must block it.
    const stranger = { id: "stranger-remote-write", description: "a source outside the allowlist", from: { kind: "cidrs" as const, cidrs: ["198.51.100.99/32"], what: "outside the allowlist" }, to: { selector: router.selector, what: router.what }, port: 19291, protocol: "TCP" as const };
    const r = checkFlows({ table: { ...table, flows: [...table.flows, stranger] }, manifests: manifests.get("dev-01") ?? [] });
    assert.deepEqual(r.findings.map((f) => f.message.split(":")[0]), ["flow stranger-remote-write blocked"]);
  });

  it("fleet.md lists every stack's flows", () => {
    const md = fleetMarkdown([...fleet.runs.values()]);
    assert.match(md, /## Network flows/);
    for (const s of STACKS) assert.match(md, new RegExp(`### ${s} \\((spoke|hub|edge), namespace observability\\)`));
    assert.match(md, /\| ruler-sends-alerts \| pods: Thanos Ruler \| Alertmanager \(hub\) \| 9093\/TCP \|/);
    assert.match(md, /\| alertmanager-mesh-udp \| .* \| 9094\/UDP \|/);
    assert.match(md, /\| alloy-pushes-logs \| pods: Alloy \| Loki (single-binary|write) \| 3100\/TCP \|/);
  });

  describe("Grafana for operators: LoadBalancer on the operator ranges, HTTPS, generic OAuth", () => {
    let hub: StackRun;
    const CLIENT_SECRET = "oauth-client-secret-for-the-test-0123456789";
    before(async () => {
      const refs = Object.fromEntries(["dev-01", "edge-otc-01", "prod-01", "stag-01"].map((s) => [s, asReference(runOf(fleet, s))]));
      hub = await runStack({
        stack: HUB,
        references: refs,
        env: { [SPOKES_ENV]: null },
        mutateConfig: (values, secretKeys) => {
          values.grafana = {
            operatorCidrs: ["198.18.0.0/24"],
            sso: { name: "Entra ID", authUrl: "https://login.microsoftonline.com/t/oauth2/v2.0/authorize", tokenUrl: "https://login.microsoftonline.com/t/oauth2/v2.0/token", apiUrl: "https://graph.microsoft.com/oidc/userinfo", clientId: "grafana", clientSecret: CLIENT_SECRET, allowedGroups: ["observability operators"], groupsAttributePath: "groups", roleAttributePath: "contains(groups[*], 'observability admins') && 'Admin' || 'Viewer'" },
          };
          secretKeys.add("observability:grafana");
        },
      });
      assert.equal(hub.error, undefined, hub.error?.message);
    });

    it("a LoadBalancer admits exactly the operator ranges on 443 -> 3000, and the flow check passes on the rendered hub", () => {
      const lb = hub.resources.find((r) => r.type === "kubernetes:core/v1:Service" && r.name === "grafana-operators");
      assert.ok(lb !== undefined);
      const spec = (reveal(lb.inputs) as { spec: { loadBalancerSourceRanges: string[]; ports: { port: number; targetPort: number }[] } }).spec;
      assert.deepEqual(spec.loadBalancerSourceRanges, ["198.18.0.0/24"]);
      assert.deepEqual(spec.ports.map((p) => [p.port, p.targetPort]), [[443, 3000]]);
      const table = flowTableOf(hub);
      assert.ok(table !== undefined);
      assert.ok(table.flows.some((f) => f.id === "operators-to-grafana" && f.from.kind === "cidrs" && f.from.cidrs.includes("198.18.0.0/24")));
      assert.deepEqual(checkFlows({ table, manifests: all(hub) }).findings, []);
    });

    it("the rendered Grafana serves HTTPS, logs in through generic OAuth only, and reads the client secret from a Secret, never from its values", () => {
      const set = stackManifests(hub, { repoDir: REPO_DIR });
      const rendered = set.releases.find((r) => r.release === "grafana");
      assert.ok(rendered !== undefined && rendered.error === undefined, rendered?.error);
      assert.doesNotMatch(JSON.stringify(rendered.values), new RegExp(CLIENT_SECRET), "the client secret is not in the chart values");
      const cm = rendered.manifests.find((m) => m.kind === "ConfigMap" && typeof (m.data as Record<string, unknown> | undefined)?.["grafana.ini"] === "string");
      assert.ok(cm !== undefined);
      const ini = String((cm.data as Record<string, string>)["grafana.ini"]);
      assert.doesNotMatch(ini, new RegExp(CLIENT_SECRET));
      for (const line of ["protocol = https", "cert_file = /etc/grafana/tls/tls.crt", "disable_login_form = true", "client_id = grafana", "use_pkce = true", "groups_attribute_path = groups", "role_attribute_strict = true"]) assert.ok(ini.includes(line), `grafana.ini has ${line}`);
      assert.match(ini, /\[auth\.basic\]\s*\nenabled = false/);
      const dep = rendered.manifests.find((m) => m.kind === "Deployment");
      const c = (dep?.spec as { template: { spec: { containers: { name: string; env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]; readinessProbe?: { httpGet?: { scheme?: string } } }[] } } }).template.spec.containers.find((x) => x.name === "grafana");
      assert.deepEqual(c?.env?.find((e) => e.name === GRAFANA_OAUTH_SECRET_ENV)?.valueFrom?.secretKeyRef, { name: "grafana-oauth", key: "client-secret" });
      assert.equal(c?.readinessProbe?.httpGet?.scheme, "HTTPS");
      const secret = hub.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name === `${HUB}-workloads-grafana-oauth`);
      assert.ok(secret !== undefined, "the client secret lands in its own Secret");
    });
  });
});
