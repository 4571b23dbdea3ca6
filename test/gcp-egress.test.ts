/**
 * GCP egress: the Cloud NAT settings and the GKE LoadBalancer annotations. The reserved addresses
 * on a MANUAL_ONLY Cloud NAT (or adopted addresses), as the real prod-01 stack registers them,
 * are checked in gcp-engine.test.ts.
 */
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { gcpCloud, networkSelfLink, renderNatSettings, subnetworkSelfLink } from "../components/clouds/gcp";

describe("Cloud NAT settings", () => {
  it("MANUAL_ONLY allocation, the cluster subnetwork only (all its ranges), errors logged", () => {
    const sub = subnetworkSelfLink("acme-net-prod", "europe-west3", "prod-01-gke-nodes");
    assert.equal(sub, "https://www.googleapis.com/compute/v1/projects/acme-net-prod/regions/europe-west3/subnetworks/prod-01-gke-nodes");
    assert.deepEqual(renderNatSettings(sub), {
      natIpAllocateOption: "MANUAL_ONLY",
      sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
      subnetworks: [{ name: sub, sourceIpRangesToNats: ["ALL_IP_RANGES"] }],
      logConfig: { enable: true, filter: "ERRORS_ONLY" },
    });
    assert.equal(networkSelfLink("acme-net-prod", "prod-01-vpc"), "https://www.googleapis.com/compute/v1/projects/acme-net-prod/global/networks/prod-01-vpc");
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
