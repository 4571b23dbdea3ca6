/**
 * Azure egress: the NAT gateway attachment template (the subnet is updated, never taken over),
 * public IP settings, the recorded Egress component for stag-01 in both modes, and the
 * LoadBalancer annotations of the seam.
 */
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { AKS_LB_ANNOTATIONS, AzureEgress, azureCloud, renderPublicIpSettings, renderSubnetNatTemplate } from "../components/clouds/azure";
import { reveal, type RecordedResource } from "./engine";
import { recordAzure, stackConfig, valueOf } from "./azure-harness";

function inputs(r: RecordedResource): Record<string, unknown> {
  return reveal(r.inputs) as Record<string, unknown>;
}

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

describe("Egress component on stag-01 (mode create)", async () => {
  const config = stackConfig("stag-01", (v) => {
    v.egress = { mode: "create", count: 2 };
  });
  assert.ok(config.cloud === "azure");
  const { resources, result } = await recordAzure(config, "eg", (ctx) => new AzureEgress("eg", { egress: config.egress, context: ctx }));
  const ofType = (t: string): RecordedResource[] => resources.filter((r) => r.type === t);
  const ips = ofType("azure-native:network:PublicIPAddress");
  const [nat] = ofType("azure-native:network:NatGateway");
  const net = config.network;

  it("registers the component with its type token", () => {
    assert.ok(resources.some((r) => r.type === "sovereign:azure:Egress" && r.name === "eg"));
  });

  it("count static Standard public IPs in the network's group and region, protected and retained", () => {
    assert.equal(ips.length, 2);
    for (const ip of ips) {
      const i = inputs(ip);
      assert.deepEqual(i.sku, { name: "Standard", tier: "Regional" });
      assert.equal(i.publicIPAllocationMethod, "Static");
      assert.equal(i.resourceGroupName, net.resourceGroup);
      assert.equal(i.location, "germanywestcentral");
      assert.equal((i.tags as Record<string, string>).cluster, "stag-01");
      assert.ok(ip.options.protect && ip.options.retainOnDelete, ip.name);
    }
  });

  it("a Standard NAT gateway with exactly those IPs, retained on delete", () => {
    assert.ok(nat !== undefined);
    const i = inputs(nat);
    assert.deepEqual(i.sku, { name: "Standard" });
    assert.deepEqual((i.publicIpAddresses as { id: string }[]).map((x) => x.id).sort(), ips.map((ip) => ip.id).sort());
    assert.equal(i.resourceGroupName, net.resourceGroup);
    assert.ok(nat.options.retainOnDelete);
  });

  it("attaches to the cluster subnet through a deployment, never by managing the subnet or the VNet", () => {
    assert.equal(ofType("azure-native:network:Subnet").length, 0);
    assert.equal(ofType("azure-native:network:VirtualNetwork").length, 0);
    const [dep] = ofType("azure-native:resources:Deployment");
    assert.ok(dep !== undefined);
    const i = inputs(dep) as { resourceGroupName: string; properties: { mode: string; template: unknown; parameters: Record<string, { value: string }> } };
    assert.equal(i.resourceGroupName, net.resourceGroup);
    assert.equal(i.properties.mode, "Incremental");
    assert.deepEqual(i.properties.template, renderSubnetNatTemplate());
    assert.deepEqual(i.properties.parameters, { virtualNetworkName: { value: net.virtualNetwork }, subnetName: { value: net.subnet }, natGatewayId: { value: nat.id } });
    assert.ok(dep.options.retainOnDelete, "destroying the stack leaves the subnet's egress as it is");
  });

  it("egressIps are the allocated addresses", async () => {
    assert.deepEqual(await valueOf(result.egressIps), ips.map((ip) => String(ip.outputs.ipAddress)));
  });
});

describe("Egress component on stag-01 (mode existing)", async () => {
  const sub = "3f2a9c1e-7b4d-4e8a-9c6f-1d2e3f4a5b6c";
  const ids = [1, 2].map((n) => `/subscriptions/${sub}/resourceGroups/rg-stag-01-network/providers/Microsoft.Network/publicIPAddresses/pip-existing-${n}`);
  const config = stackConfig("stag-01", (v) => {
    v.egress = { mode: "existing", count: 2, addresses: ids };
  });
  const { resources, result } = await recordAzure(config, "ex", (ctx) => new AzureEgress("ex", { egress: config.egress, context: ctx }));

  it("adopts the addresses by id: creates no IP, no NAT gateway, no attachment", async () => {
    for (const t of ["azure-native:network:PublicIPAddress", "azure-native:network:NatGateway", "azure-native:resources:Deployment"]) assert.equal(resources.filter((r) => r.type === t).length, 0, t);
    const got = await valueOf(result.egressIps);
    assert.equal(got.length, 2);
    for (const ip of got) assert.match(ip, /^(192\.0\.2|198\.51\.100|203\.0\.113)\.[0-9]+$/);
    assert.notEqual(got[0], got[1]);
    assert.deepEqual(await valueOf(result.publicIpIds), ids);
  });

  it("refuses ids of another subscription or another resource type", async () => {
    const other = stackConfig("stag-01", (v) => {
      v.egress = { mode: "existing", count: 1, addresses: [ids[0].replace(sub, "11111111-1111-4111-8111-111111111111")] };
    });
    await assert.rejects(recordAzure(other, "bad1", (ctx) => new AzureEgress("bad1", { egress: other.egress, context: ctx })), /subscription/);
    const wrongType = stackConfig("stag-01", (v) => {
      v.egress = { mode: "existing", count: 1, addresses: [`/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Network/natGateways/ng`] };
    });
    await assert.rejects(recordAzure(wrongType, "bad2", (ctx) => new AzureEgress("bad2", { egress: wrongType.egress, context: ctx })), /expected a Microsoft\.Network\/publicIPAddresses/);
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
