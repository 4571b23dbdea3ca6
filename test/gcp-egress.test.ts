/**
 * GCP egress: reserved addresses on a MANUAL_ONLY Cloud NAT for the cluster subnetwork (or
 * adopted addresses), recorded for prod-01; and the GKE LoadBalancer annotations.
 */
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { GcpEgress, gcpCloud, networkSelfLink, subnetworkSelfLink } from "../components/clouds/gcp";
import { reveal, type RecordedResource } from "./engine";
import { recordGcp, stackConfig, valueOf } from "./gcp-harness";

function inputs(r: RecordedResource): Record<string, unknown> {
  return reveal(r.inputs) as Record<string, unknown>;
}

describe("Egress component on prod-01 (create)", async () => {
  const config = stackConfig("prod-01");
  assert.ok(config.cloud === "gcp");
  const netProject = config.network.project ?? config.cluster.project;
  const { resources, result } = await recordGcp(config, "eg", (ctx) => new GcpEgress("eg", { egress: config.egress, context: ctx }));
  const ofType = (t: string): RecordedResource[] => resources.filter((r) => r.type === t);
  const addresses = ofType("gcp:compute/address:Address");

  it("registers the component with its type token", () => {
    assert.ok(resources.some((r) => r.type === "sovereign:gcp:Egress" && r.name === "eg"));
  });

  it("reserves `count` external regional addresses in the VPC's project, protected and retained", () => {
    assert.equal(addresses.length, config.egress.count);
    for (const a of addresses) {
      const i = inputs(a);
      assert.equal(i.addressType, "EXTERNAL");
      assert.equal(i.region, config.region);
      assert.equal(i.project, netProject, "NAT addresses live with the shared VPC's router");
      assert.ok(a.options.protect && a.options.retainOnDelete, a.name);
    }
    assert.equal(new Set(addresses.map((a) => inputs(a).name)).size, addresses.length);
  });

  it("Cloud NAT uses exactly the reserved addresses, MANUAL_ONLY, for the cluster subnetwork", () => {
    const [router] = ofType("gcp:compute/router:Router");
    const nats = ofType("gcp:compute/routerNat:RouterNat");
    assert.equal(nats.length, 1);
    const nat = inputs(nats[0]);
    assert.equal(inputs(router).network, networkSelfLink(netProject, config.network.network));
    assert.equal(inputs(router).region, config.region);
    assert.equal(nat.router, router.outputs.name);
    assert.equal(nat.region, config.region);
    assert.equal(nat.natIpAllocateOption, "MANUAL_ONLY");
    assert.deepEqual([...(nat.natIps as string[])].sort(), addresses.map((a) => String(a.outputs.selfLink)).sort());
    assert.equal(nat.sourceSubnetworkIpRangesToNat, "LIST_OF_SUBNETWORKS");
    assert.deepEqual(nat.subnetworks, [{ name: subnetworkSelfLink(netProject, config.region, config.network.subnetwork), sourceIpRangesToNats: ["ALL_IP_RANGES"] }]);
    assert.deepEqual(nat.logConfig, { enable: true, filter: "ERRORS_ONLY" });
  });

  it("egressIps are the reserved addresses", async () => {
    assert.deepEqual([...(await valueOf(result.egressIps))].sort(), addresses.map((a) => String(a.outputs.address)).sort());
  });

  it("every child uses the stack's explicit GCP provider", () => {
    for (const r of resources.filter((x) => x.custom && !x.type.startsWith("pulumi:providers:"))) assert.match(String(r.provider), /pulumi:providers:gcp::eg-gcp::/, r.name);
  });

  it("the provider is pinned to the cluster project and the stack region, labelling everything", () => {
    const provider = resources.find((r) => r.type === "pulumi:providers:gcp");
    assert.ok(provider !== undefined);
    const i = inputs(provider);
    assert.equal(i.project, config.cluster.project);
    assert.equal(i.region, config.region);
    // Provider inputs travel JSON-encoded when they are not strings.
    const labels = (typeof i.defaultLabels === "string" ? JSON.parse(i.defaultLabels) : i.defaultLabels) as Record<string, string>;
    for (const [k, v] of Object.entries({ cluster: config.stack, environment: config.environment, region: config.region, cloud: "gcp", "sovereignty-zone": config.sovereigntyZone })) assert.equal(labels[k], v, k);
  });
});

describe("Egress component on prod-01 (existing addresses)", async () => {
  const names = ["prod-01-nat-a", "prod-01-nat-b"];
  const config = stackConfig("prod-01", (v) => {
    v.egress = { mode: "existing", count: names.length, addresses: names };
  });
  assert.ok(config.cloud === "gcp");
  const { resources, result } = await recordGcp(config, "adopt", (ctx) => new GcpEgress("adopt", { egress: config.egress, context: ctx }));

  it("manages no address, and the NAT uses the adopted ones", async () => {
    assert.equal(resources.filter((r) => r.type === "gcp:compute/address:Address").length, 0);
    const [nat] = resources.filter((r) => r.type === "gcp:compute/routerNat:RouterNat");
    const natIps = inputs(nat).natIps as string[];
    assert.equal(natIps.length, names.length);
    for (const n of names) assert.ok(natIps.some((l) => l.endsWith(`/addresses/${n}`)), n);
    assert.equal(inputs(nat).natIpAllocateOption, "MANUAL_ONLY");
    const ips = await valueOf(result.egressIps);
    assert.equal(ips.length, names.length);
    for (const ip of ips) assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  });
});

describe("GKE LoadBalancer annotations", () => {
  it("ask for a backend-service-based external passthrough NLB and nothing else", () => {
    assert.deepEqual(gcpCloud.loadBalancerAnnotations(), { "cloud.google.com/l4-rbs": "enabled" });
  });

  it("hand out a copy (callers cannot change the module's constant)", () => {
    const a = gcpCloud.loadBalancerAnnotations();
    a.x = "y";
    assert.equal(gcpCloud.loadBalancerAnnotations().x, undefined);
  });
});
