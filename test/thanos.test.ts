/**
 * Thanos renderers: every flag exists in the pinned version's help, the safety rules hold
 * (delete delay, per-store timeout below the query timeout) and the endpoint config matches
 * the reference schema with one TLS entry per spoke.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { compactArgs, endpointConfigProblems, isDynamicAddress, queryArgs, queryFrontendArgs, renderEndpointConfig, ruleArgs, storeArgs, PATHS } from "../components/thanos/args";
import { referenceYaml, unknownKeyPaths, unknownThanosFlags, thanosFlags } from "./support/reference";

const retention = { raw: "30d", fiveMinutes: "180d", oneHour: "2y" };

describe("Thanos flags exist in the reference help", () => {
  it("the reference parser sees the flags it should (guards this test itself)", () => {
    assert.ok(thanosFlags("query").has("--endpoint.sd-config-file"));
    assert.ok(thanosFlags("query").has("--no-query.partial-response"));
    assert.ok(!thanosFlags("query").has("--store"));
    assert.deepEqual(unknownThanosFlags("compact", ["compact", "--retention.resolution-2h=1d"]), ["--retention.resolution-2h"]);
  });

  const cases: [Parameters<typeof unknownThanosFlags>[0], string[]][] = [
    ["compact", compactArgs({ retention, deleteDelay: "48h", concurrency: 1 })],
    ["store", storeArgs({ indexCacheSize: "512MB", grpcTls: true })],
    ["store", storeArgs({ indexCacheSize: "256MB", grpcTls: false })],
    ["query", queryArgs({ grpcTls: true, endpoints: { static: ["a:10901"] }, queryTimeout: "2m", storeResponseTimeout: "30s", partialResponse: true })],
    ["query", queryArgs({ grpcTls: false, endpoints: { file: PATHS.endpoints }, queryTimeout: "2m", storeResponseTimeout: "30s", partialResponse: false })],
    ["query-frontend", queryFrontendArgs({ downstreamUrl: "http://thanos-query:10902", splitInterval: "24h", cacheMaxSize: "1GB" })],
    ["rule", ruleArgs({ queryUrl: "http://q:10902", alertmanagerUrl: "http://am:9093", evalInterval: "1m", labels: { rule_replica: "$(POD_NAME)" }, replicaLabel: "rule_replica" })],
  ];
  for (const [component, args] of cases) {
    it(`${component}: ${args.length} args, all known`, () => {
      assert.equal(args[0], component);
      assert.deepEqual(unknownThanosFlags(component, args), []);
    });
  }
});

describe("Thanos safety rules", () => {
  it("the compactor keeps deleted blocks at least 48h and downsamples with per-tier retention", () => {
    const args = compactArgs({ retention, deleteDelay: "72h", concurrency: 1 });
    assert.ok(args.includes("--delete-delay=72h"));
    assert.ok(args.includes("--retention.resolution-raw=30d") && args.includes("--retention.resolution-5m=180d") && args.includes("--retention.resolution-1h=2y"));
    assert.ok(!args.some((a) => a.startsWith("--downsampling.disable")), "downsampling stays on");
    assert.throws(() => compactArgs({ retention, deleteDelay: "24h", concurrency: 1 }), /at least 48h/);
  });

  it("query: per-store timeout below the query timeout, partial response, dedup on the replica labels", () => {
    const args = queryArgs({ grpcTls: true, endpoints: { file: PATHS.endpoints }, queryTimeout: "2m", storeResponseTimeout: "30s", partialResponse: true });
    assert.ok(args.includes("--query.partial-response"));
    assert.ok(args.includes("--query.replica-label=prometheus_replica"));
    assert.ok(args.includes("--grpc-server-tls-client-ca=/etc/thanos/tls/server/ca.crt"), "a client CA makes client certificates mandatory");
    assert.throws(() => queryArgs({ grpcTls: true, endpoints: { file: "x" }, queryTimeout: "30s", storeResponseTimeout: "30s", partialResponse: true }), /must be below the query timeout/);
  });

  it("store gateways keep no index header on disk", () => {
    assert.ok(storeArgs({ indexCacheSize: "512MB", grpcTls: false }).includes("--no-cache-index-header"));
  });
});

describe("endpoint config", () => {
  const doc = renderEndpointConfig([
    { address: "thanos.dev-01.obs.example.eu:10901", tls: { clientCertDir: "/etc/thanos/tls/client", caFile: "/etc/thanos/ca/dev-01.crt", serverName: "thanos.dev-01.obs.example.eu" } },
    { address: "thanos-store-prod-01:10901", strict: true },
  ]);

  it("matches the reference schema", () => {
    const reference = referenceYaml("thanos-v0.42.4/endpoint-config.yaml") as { endpoints: Record<string, unknown>[]; default_client_config: unknown };
    // The reference shows client_config as `tls_config: {}`; its full shape is default_client_config's.
    const schema = { endpoints: [{ ...reference.endpoints[0], client_config: reference.default_client_config }] };
    assert.deepEqual(unknownKeyPaths(parse(doc), schema), []);
  });

  it("pins each TLS endpoint to its own CA and server name, and leaves hub-local stores plaintext", () => {
    const parsed = parse(doc) as { endpoints: { address: string; client_config?: { server_name: string; tls_config: { ca_file: string; enabled: boolean } } }[] };
    const tls = parsed.endpoints.filter((e) => e.client_config !== undefined);
    assert.equal(tls.length, 1);
    assert.equal(tls[0].client_config?.server_name, "thanos.dev-01.obs.example.eu");
    assert.equal(tls[0].client_config?.tls_config.ca_file, "/etc/thanos/ca/dev-01.crt");
    assert.equal(tls[0].client_config?.tls_config.enabled, true);
    assert.equal(parsed.endpoints.find((e) => e.address.startsWith("thanos-store"))?.client_config, undefined);
  });
});

describe("ruler HA", () => {
  // Thanos docs "Ruler HA" (docs/components/rule.md at v0.42.4): replicas differ by a replica
  // label set with --label, and that label is dropped with --alert.label-drop before alerting so
  // the Alertmanager receives identical alerts and deduplicates them.
  const args = ruleArgs({ queryUrl: "http://q:10902", alertmanagerUrl: "http://am:9093", evalInterval: "1m", labels: { rule_replica: "$(POD_NAME)", source: "ops-01-ruler" }, replicaLabel: "rule_replica" });

  it("drops the replica label before alerting, and keeps the other labels", () => {
    assert.ok(args.includes('--label=rule_replica="$(POD_NAME)"'));
    assert.deepEqual(args.filter((a) => a.startsWith("--alert.label-drop=")), ["--alert.label-drop=rule_replica"]);
    assert.deepEqual(unknownThanosFlags("rule", args), [], "--alert.label-drop exists in `thanos rule --help` of v0.42.4");
  });

  it("refuses a replica label the ruler does not carry", () => {
    assert.throws(() => ruleArgs({ queryUrl: "http://q:10902", alertmanagerUrl: "http://am:9093", evalInterval: "1m", labels: { replica: "$(POD_NAME)" }, replicaLabel: "rule_replica" }), /not among the ruler's labels/);
  });
});

describe("DNS-discovered endpoints (Thanos v0.42.4 cmd/thanos/endpointset.go)", () => {
  const tls = { clientCertDir: "/etc/thanos/tls/client", caFile: "/etc/thanos/tls/client/ca.crt", serverName: "kps-thanos-discovery.observability.svc" };

  it("knows which addresses Thanos resolves through DNS (dns.IsDynamicNode: any `<qtype>+` prefix)", () => {
    for (const a of ["dns+thanos:10901", "dnssrv+_grpc._tcp.thanos.ns.svc", "dnssrvnoa+_grpc._tcp.x", "dnsdualstack+x:1"]) assert.ok(isDynamicAddress(a), a);
    for (const a of ["thanos-store.ns.svc.cluster.local:10901", "10.0.0.1:10901", "[::1]:10901"]) assert.ok(!isDynamicAddress(a), a);
  });

  it("flags a per-endpoint client_config on a DNS-discovered address (Thanos dials it with default_client_config only)", () => {
    // The old spoke endpoints file: exactly what Thanos silently dialled in plaintext.
    const old = { endpoints: [{ address: "dnssrv+_grpc._tcp.kps-thanos-discovery.observability.svc.cluster.local", strict: false, group: false, client_config: { tls_config: { enabled: true, cert_file: "/c/tls.crt" }, server_name: "x" } }] };
    assert.equal(endpointConfigProblems(old).length, 1);
    assert.match(endpointConfigProblems(old)[0], /never uses its own client_config/);
    // Static addresses and groups may carry their own TLS.
    assert.deepEqual(endpointConfigProblems({ endpoints: [{ address: "thanos.dev-01.example:10901", client_config: { tls_config: { enabled: true } } }, { address: "dns+q:10901", group: true, client_config: { tls_config: { enabled: true } } }] }), []);
    // validateEndpointConfig refuses strict dynamic entries.
    assert.match(endpointConfigProblems({ endpoints: [{ address: "dnssrv+_grpc._tcp.x", strict: true }] })[0], /strict/);
  });

  it("the renderer refuses per-endpoint TLS on a DNS address and puts it in default_client_config instead", () => {
    assert.throws(() => renderEndpointConfig([{ address: "dnssrv+_grpc._tcp.x.svc.cluster.local", tls }]), /never uses its own client_config/);
    const doc = parse(renderEndpointConfig([{ address: "dnssrv+_grpc._tcp.x.svc.cluster.local" }], { defaultTls: tls })) as { default_client_config: { server_name: string; tls_config: Record<string, unknown> }; endpoints: Record<string, unknown>[] };
    assert.equal(doc.default_client_config.server_name, tls.serverName);
    assert.equal(doc.default_client_config.tls_config.enabled, true);
    assert.equal(doc.endpoints[0].client_config, undefined);
    const reference = referenceYaml("thanos-v0.42.4/endpoint-config.yaml") as { endpoints: Record<string, unknown>[]; default_client_config: unknown };
    assert.deepEqual(unknownKeyPaths(doc, { default_client_config: reference.default_client_config, endpoints: [{ ...reference.endpoints[0], client_config: reference.default_client_config }] }), []);
  });
});
