/**
 * The Azure NAT attachment is checked on every run: the real `AzureEgress` component under
 * Pulumi mocks, whose `network.getSubnet` answer is the subnet as its owner left it. A subnet
 * that still uses the stack's NAT gateway passes; one whose owner rewrote it without the NAT
 * gateway (a PUT of the whole subnet drops properties it does not name) fails the run with the
 * fix. The offline engine's own answer (offline/outputs/azure.ts) is the attached subnet, which
 * azure-engine.test.ts plans.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import * as azure from "@pulumi/azure-native";
import * as pulumi from "@pulumi/pulumi";
import { AzureEgress, natGatewayName } from "../components/clouds/azure";
import type { CloudContext } from "../components/clouds/types";
import { stackConfig } from "./support/fleet";

const CASE = process.env.NAT_DRIFT_CASE;

/**
 * One run of AzureEgress under mocks (in a child process: a failing run rejects outputs
 * asynchronously, which the test runner would blame on whatever test is running). Prints the
 * outcome as one JSON line: the exported egress addresses and the invokes made, or the error.
 */
function childRun(attached: boolean): void {
  const config = stackConfig("stag-01");
  if (config.cloud !== "azure") throw new Error("stag-01 is an Azure stack");
  const net = config.network;
  const natId = `/subscriptions/${config.cluster.subscriptionId}/resourceGroups/${net.resourceGroup}/providers/Microsoft.Network/natGateways/${natGatewayName("stag-01")}`;
  const invoked: string[] = [];
  let done = false;
  const finish = (r: Record<string, unknown>): void => {
    if (done) return;
    done = true;
    process.stdout.write(`${JSON.stringify({ ...r, invoked })}\n`);
  };
  process.on("unhandledRejection", (e) => finish({ error: e instanceof Error ? e.message : String(e) }));
  void pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const i = args.inputs as Record<string, unknown>;
        if (args.type === "azure-native:network:NatGateway") return { id: natId, state: { ...i, name: i.natGatewayName } };
        if (args.type === "azure-native:network:PublicIPAddress") return { id: `${String(i.publicIpAddressName)}-id`, state: { ...i, ipAddress: "198.51.100.20" } };
        return { id: `${args.name}-id`, state: { ...i, name: i.deploymentName ?? args.name } };
      },
      call: (args) => {
        invoked.push(args.token);
        if (args.token !== "azure-native:network:getSubnet") throw new Error(`unexpected invoke ${args.token}`);
        // The subnet as its owner left it: still attached, or rewritten without natGateway.
        return { id: `${String(args.inputs.virtualNetworkName)}/${String(args.inputs.subnetName)}`, name: args.inputs.subnetName, ...(attached ? { natGateway: { id: natId.toLowerCase() } } : {}) };
      },
    },
    "sovereign-observability",
    "stag-01",
    false,
  );
  const provider = new azure.Provider("provider", { subscriptionId: config.cluster.subscriptionId, location: config.region });
  const ctx = { stack: "stag-01", config, labels: {}, provider } as CloudContext;
  const egress = new AzureEgress("egress", { context: ctx, egress: { mode: "create", count: 1, addresses: [] } });
  egress.egressIps.apply((ips) => {
    // Let a failing registerOutputs surface first.
    setTimeout(() => finish({ ips }), 200);
    return ips;
  });
  setTimeout(() => finish({ error: "timeout" }), 10_000).unref();
}

/** Runs {@link childRun} in a child process and parses its outcome. */
function run(attached: boolean): { ips?: string[]; error?: string; invoked: string[] } {
  const r = spawnSync(process.execPath, ["--import", "tsx", __filename], { env: { ...process.env, NAT_DRIFT_CASE: attached ? "attached" : "detached" }, encoding: "utf8", timeout: 60_000 });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  assert.ok(line.startsWith("{"), `child output: ${r.stdout}${r.stderr}`);
  return JSON.parse(line) as { ips?: string[]; error?: string; invoked: string[] };
}

if (CASE !== undefined) {
  childRun(CASE === "attached");
} else {
  describe("Azure NAT attachment drift, checked on every run", () => {
    const subnet = stackConfig("stag-01").network as { subnet: string };

    it("reads the subnet back and exports the egress addresses while it uses the stack's NAT gateway", () => {
      const r = run(true);
      assert.equal(r.error, undefined, r.error);
      assert.deepEqual(r.ips, ["198.51.100.20"]);
      assert.ok(r.invoked.includes("azure-native:network:getSubnet"));
    });

    it("fails the run, naming the subnet and the fix, when the owner's subnet no longer uses it", () => {
      const r = run(false);
      assert.equal(r.ips, undefined, "no egress addresses are exported from a detached subnet");
      assert.match(r.error ?? "", new RegExp(`subnet ${subnet.subnet} uses no NAT gateway.*az network vnet subnet update --nat-gateway`));
    });
  });
}
