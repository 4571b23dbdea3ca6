/**
 * AWS egress and exposure: how NAT gateways and default routes are spread, and the load
 * balancer annotations. The resources themselves are checked under the engine in aws-engine.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { awsCloud, routeAssignment, subnetAssignment } from "../components/clouds/aws";

describe("NAT gateway placement", () => {
  it("spreads gateways over the public subnets round-robin", () => {
    assert.deepEqual(subnetAssignment(2, 2), [0, 1]);
    assert.deepEqual(subnetAssignment(3, 2), [0, 1, 0]);
    assert.deepEqual(subnetAssignment(1, 3), [0]);
    assert.throws(() => subnetAssignment(2, 0));
  });

  it("gives every private route table a gateway and uses every gateway when tables allow", () => {
    for (const [tables, gateways] of [[2, 2], [3, 2], [1, 2], [6, 3]] as const) {
      const a = routeAssignment(tables, gateways);
      assert.equal(a.length, tables);
      for (const g of a) assert.ok(g >= 0 && g < gateways);
      assert.equal(new Set(a).size, Math.min(tables, gateways));
      // No gateway carries more than one table above another.
      const load = Array.from({ length: gateways }, (_, g) => a.filter((x) => x === g).length);
      assert.ok(Math.max(...load) - Math.min(...load) <= 1);
    }
    assert.throws(() => routeAssignment(2, 0));
  });
});

describe("load balancer annotations", () => {
  it("ask the AWS Load Balancer Controller for an internet-facing NLB targeting pod IPs", () => {
    const a = awsCloud.loadBalancerAnnotations();
    assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-type"], "external");
    assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"], "ip");
    assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-scheme"], "internet-facing");
  });

  it("keep the client's address at the pods: IP targets preserve it only when asked (NLB target group attribute)", () => {
    // NLB docs, "Edit target group attributes", Client IP preservation: default for IP targets over
    // TCP/TLS is disabled (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html);
    // the controller's annotation takes comma-separated key=value attributes
    // (kubernetes-sigs/aws-load-balancer-controller docs/guide/service/annotations.md, target-group-attributes).
    const attrs = awsCloud.loadBalancerAnnotations()["service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"];
    assert.ok(attrs !== undefined);
    const parsed = Object.fromEntries(attrs.split(",").map((kv) => kv.split("=").map((x) => x.trim())));
    assert.equal(parsed["preserve_client_ip.enabled"], "true");
  });

  it("hand out a copy callers cannot use to change the module's defaults", () => {
    const a = awsCloud.loadBalancerAnnotations();
    a["service.beta.kubernetes.io/aws-load-balancer-scheme"] = "internal";
    assert.equal(awsCloud.loadBalancerAnnotations()["service.beta.kubernetes.io/aws-load-balancer-scheme"], "internet-facing");
  });
});
