/**
 * InfoInhibitor handling in both Alertmanager configurations, by the rule kube-prometheus-stack
 * ships with the alert: "This alert should be routed to a null receiver and configured to
 * inhibit alerts with severity="info"" (kube-prometheus-stack 88.5.3
 * templates/prometheus/rules-1.14/general.rules.yaml, InfoInhibitor description; runbook
 * https://runbooks.prometheus-operator.dev/runbooks/general/infoinhibitor/). Routing is judged by
 * the real `amtool config routes test` where it is built.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { hubAlertmanagerConfig, INFO_INHIBITOR, RECEIVERS, spokeAlertmanagerConfig, toYaml, type AlertmanagerConfig } from "../components/alerting";
import { KPS_REF } from "./support/charts";
import { requireTool, runTool } from "./support/tools";

const amtool = requireTool("amtool");
const dir = mkdtempSync(join(tmpdir(), "am-routes-"));
const spokeAm = spokeAlertmanagerConfig({ receiverUrl: "https://hooks.example/spoke/TOKEN", deadMansSwitchUrl: "https://dms.example/ping/spoke" });
const hubAm = hubAlertmanagerConfig({ prodUrl: "https://hooks.example/prod", nonProdUrl: "https://hooks.example/nonprod", deadMansSwitchUrl: "https://dms.example/ping/hub" });

/** Receivers `amtool config routes test` names for an alert with these labels. */
function routes(name: string, cfg: AlertmanagerConfig, labels: string[]): string[] {
  const file = join(dir, name);
  writeFileSync(file, toYaml(cfg));
  const r = runTool("amtool", ["config", "routes", "test", `--config.file=${file}`, ...labels]);
  assert.equal(r.status, 0, r.output);
  const line = r.output.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("Warning")).pop() ?? "";
  return line.split(",").map((x) => x.trim());
}

const cases = [["spoke", spokeAm], ["hub", hubAm]] as const;

describe("InfoInhibitor goes to a null receiver and inhibits info alerts", () => {
  it("the chart's own default config does the same (the rule we follow)", () => {
    const def = KPS_REF as { alertmanager: { config: { inhibit_rules: { source_matchers?: string[]; target_matchers: string[] }[]; receivers: { name: string }[] } } };
    const rule = def.alertmanager.config.inhibit_rules.find((r) => r.source_matchers?.some((m) => m.includes(INFO_INHIBITOR)));
    assert.ok(rule?.target_matchers.some((m) => /severity\s*=\s*info/.test(m)));
  });

  for (const [name, cfg] of cases) {
    it(`${name}: the InfoInhibitor route comes first and its receiver notifies nobody`, () => {
      const first = cfg.route.routes?.[0];
      assert.deepEqual(first?.matchers, [`alertname="${INFO_INHIBITOR}"`]);
      assert.equal(first?.continue, false);
      const receiver = cfg.receivers.find((r) => r.name === first?.receiver);
      assert.ok(receiver !== undefined);
      assert.deepEqual(Object.keys(receiver).filter((k) => k.endsWith("_configs")), [], "a receiver without *_configs drops what it gets");
    });

    it(`${name}: InfoInhibitor silences info alerts of the same cluster and namespace`, () => {
      const rule = cfg.inhibit_rules.find((r) => r.source_matchers.includes(`alertname="${INFO_INHIBITOR}"`));
      assert.ok(rule !== undefined);
      assert.deepEqual(rule.target_matchers, ['severity="info"']);
      assert.deepEqual(rule.equal, ["cluster", "namespace"]);
    });

    it(`${name}: amtool routes InfoInhibitor (and only it) to the discard receiver`, { skip: amtool.skipReason }, () => {
      assert.deepEqual(routes(`${name}-info.yaml`, cfg, [`alertname=${INFO_INHIBITOR}`, "severity=none", "namespace=kube-system", "environment=prod"]), [RECEIVERS.discard]);
      assert.notDeepEqual(routes(`${name}-other.yaml`, cfg, ["alertname=KubePodCrashLooping", "severity=info", "namespace=kube-system", "environment=prod"]), [RECEIVERS.discard]);
    });
  }
});
