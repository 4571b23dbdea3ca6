/**
 * Allowlisted exposure renderers: source ranges are exactly the peers' egress addresses,
 * and nothing is exposed without a peer. The NetworkPolicies behind them are rendered from the
 * flow table and judged in test/flows.test.ts (the old per-endpoint policy renderer, which
 * admitted every pod of the namespace on the Loki gateway and dropped the hub's alert paths,
 * is gone).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderLoadBalancerService } from "../components/exposure";

const base = {
  name: "thanos-query-hub",
  namespace: "observability",
  labels: { app: "x" },
  selector: { "app.kubernetes.io/name": "thanos-query" },
  ports: [{ name: "grpc", port: 10901, targetPort: 10901 }],
  annotations: { "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing" },
};

describe("LoadBalancer service", () => {
  it("admits exactly the peers' addresses as /32, sorted and without duplicates", () => {
    const svc = renderLoadBalancerService({ ...base, allowedIps: ["203.0.113.9", "198.51.100.4", "203.0.113.9"] });
    assert.deepEqual(svc.spec.loadBalancerSourceRanges, ["198.51.100.4/32", "203.0.113.9/32"]);
    assert.equal(svc.spec.type, "LoadBalancer");
    assert.equal(svc.spec.externalTrafficPolicy, "Local");
    assert.deepEqual(svc.metadata.annotations, base.annotations);
  });

  it("refuses to expose an endpoint nobody may reach", () => {
    assert.throws(() => renderLoadBalancerService({ ...base, allowedIps: [] }), /no allowed source/);
  });
});

describe("LoadBalancer service: operator ranges", () => {
  it("keeps a configured CIDR as it is and turns a bare address into its /32", () => {
    const svc = renderLoadBalancerService({ ...base, allowedIps: ["198.51.100.0/24", "203.0.113.9"] });
    assert.deepEqual(svc.spec.loadBalancerSourceRanges, ["198.51.100.0/24", "203.0.113.9/32"]);
  });
});
