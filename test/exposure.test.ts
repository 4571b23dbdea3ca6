/**
 * Allowlisted exposure renderers: source ranges are exactly the peers' egress addresses,
 * and nothing is exposed without a peer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderLoadBalancerService, renderNetworkPolicy } from "../components/exposure";

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

describe("NetworkPolicy", () => {
  it("admits the peers, the cluster ranges and nothing else, on the endpoint's ports", () => {
    const np = renderNetworkPolicy({ name: "p", namespace: "observability", labels: {}, podSelector: base.selector, ports: [10901], allowedIps: ["198.51.100.4"], clusterCidrs: ["10.20.0.0/16"], allowSameNamespace: false });
    assert.deepEqual(np.spec.policyTypes, ["Ingress"]);
    assert.equal(np.spec.ingress.length, 1);
    assert.deepEqual(np.spec.ingress[0].from, [{ ipBlock: { cidr: "198.51.100.4/32" } }, { ipBlock: { cidr: "10.20.0.0/16" } }]);
    assert.deepEqual(np.spec.ingress[0].ports, [{ protocol: "TCP", port: 10901 }]);
    assert.deepEqual(np.spec.podSelector.matchLabels, base.selector);
  });

  it("admits same-namespace clients only when asked (the log agent pushing to Loki)", () => {
    const np = renderNetworkPolicy({ name: "p", namespace: "o", labels: {}, podSelector: {}, ports: [8443], allowedIps: [], clusterCidrs: [], allowSameNamespace: true });
    assert.deepEqual(np.spec.ingress[0].from, [{ podSelector: {} }]);
  });
});
