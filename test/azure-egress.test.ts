/**
 * Azure egress: the NAT gateway attachment template (the subnet is updated, never taken over),
 * public IP settings, adopted address ids, and the LoadBalancer annotations of the seam. The
 * Egress component as the real stag-01 stack registers it (both modes) is checked in
 * azure-engine.test.ts.
 */
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { AKS_LB_ANNOTATIONS, azureCloud, parseArmId, renderPublicIpSettings, renderSubnetNatTemplate } from "../components/clouds/azure";
import { stackConfig } from "./support/fleet";

interface Template {
  parameters: Record<string, { type: string }>;
  resources: { type: string; name: string; properties: { mode: string; expressionEvaluationOptions: { scope: string }; parameters: Record<string, { value: string }>; template: Template & { resources: { type: string; name: string; properties: unknown }[] } } }[];
}

describe("NAT gateway attachment template", () => {
  const t = renderSubnetNatTemplate() as unknown as Template;

  it("takes the subnet and the NAT gateway as parameters", () => {
    assert.deepEqual(Object.keys(t.parameters).sort(), ["natGatewayId", "subnetName", "virtualNetworkName"]);
  });

  it("reads the subnet as it is at deployment time and writes it back with only natGateway added", () => {
    assert.equal(t.resources.length, 1);
    const outer = t.resources[0];
    assert.equal(outer.type, "Microsoft.Resources/deployments");
    assert.equal(outer.properties.mode, "Incremental");
    assert.equal(outer.properties.expressionEvaluationOptions.scope, "inner");
    assert.match(outer.properties.parameters.current.value, /^\[reference\(resourceId\('Microsoft\.Network\/virtualNetworks\/subnets', parameters\('virtualNetworkName'\), parameters\('subnetName'\)\), '[0-9-]+'\)\]$/);
    const inner = outer.properties.template.resources;
    assert.equal(inner.length, 1);
    assert.equal(inner[0].type, "Microsoft.Network/virtualNetworks/subnets", "the subnet only, never the virtual network");
    assert.equal(inner[0].properties, "[union(parameters('current'), createObject('natGateway', createObject('id', parameters('natGatewayId'))))]");
  });

  it("public IPs are Standard, static IPv4", () => {
    assert.deepEqual(renderPublicIpSettings(), { sku: { name: "Standard", tier: "Regional" }, publicIPAllocationMethod: "Static", publicIPAddressVersion: "IPv4", idleTimeoutInMinutes: 4 });
  });
});

describe("adopted address ids", () => {
  const sub = "3f2a9c1e-7b4d-4e8a-9c6f-1d2e3f4a5b6c";

  it("parses a public IP id and refuses another resource type or a malformed id", () => {
    const id = `/subscriptions/${sub}/resourceGroups/rg-stag-01-network/providers/Microsoft.Network/publicIPAddresses/pip-existing-1`;
    assert.deepEqual(parseArmId(id, "Microsoft.Network/publicIPAddresses"), { subscriptionId: sub, resourceGroup: "rg-stag-01-network", provider: "Microsoft.Network", type: "publicIPAddresses", name: "pip-existing-1" });
    assert.throws(() => parseArmId(`/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Network/natGateways/ng`, "Microsoft.Network/publicIPAddresses"), /expected a Microsoft\.Network\/publicIPAddresses/);
    assert.throws(() => parseArmId("pip-existing-1", "Microsoft.Network/publicIPAddresses"), /not an ARM resource id/);
  });
});

describe("seam", () => {
  it("public LoadBalancer annotations: explicitly external, TCP health probe", () => {
    assert.deepEqual(azureCloud.loadBalancerAnnotations(), {
      "service.beta.kubernetes.io/azure-load-balancer-internal": "false",
      "service.beta.kubernetes.io/azure-load-balancer-health-probe-protocol": "Tcp",
    });
    const a = azureCloud.loadBalancerAnnotations();
    a.x = "y";
    assert.equal(AKS_LB_ANNOTATIONS.x, undefined, "callers get a copy");
  });

  it("refuses a stack of another cloud", () => {
    const gcp = stackConfig("prod-01");
    assert.throws(() => azureCloud.createProvider("p", gcp), /not azure/);
  });
});
