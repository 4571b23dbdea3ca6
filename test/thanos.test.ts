/**
 * Thanos renderers: every flag exists in the pinned version's help, the safety rules hold
 * (delete delay, per-store timeout below the query timeout) and the endpoint config matches
 * the reference schema with one TLS entry per spoke.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { compactArgs, queryArgs, queryFrontendArgs, renderEndpointConfig, ruleArgs, storeArgs, PATHS } from "../components/thanos/args";
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
    ["rule", ruleArgs({ queryUrl: "http://q:10902", alertmanagerUrl: "http://am:9093", evalInterval: "1m", labels: { rule_replica: "$(POD_NAME)" } })],
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
