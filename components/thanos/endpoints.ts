/**
 * The rules Thanos v0.42.4 applies to an `--endpoint.sd-config-file` document, as a pure
 * validator: the renderer refuses what it flags, tests run it on every planned endpoints file,
 * and the policy pack runs it on every endpoints ConfigMap of a preview.
 */
import { parse } from "yaml";

/**
 * Whether Thanos treats an address as DNS-discovered. Mirrors `dns.IsDynamicNode` of Thanos
 * v0.42.4 (pkg/discovery/dns/provider.go): any `<qtype>+<name>` address, i.e. `dns+`,
 * `dnssrv+`, `dnssrvnoa+`, `dnsdualstack+` (the qtype itself is checked later by the resolver).
 */
export function isDynamicAddress(address: string): boolean {
  const parts = address.split("+");
  return parts.length >= 2 && parts[0] !== "";
}

/** The parts of a parsed endpoint config the validator reads. */
interface EndpointDoc {
  endpoints?: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Problems of an endpoint config (parsed object or YAML text), one sentence each; empty when
 * Thanos would dial every endpoint as written.
 *
 * - A DNS-discovered entry (not a group) with its own `client_config`: Thanos v0.42.4 never
 *   applies it. Every address its DNS provider resolves is dialled with the global option built
 *   from `default_client_config` (else the deprecated `--grpc-client-tls-*` flags, plaintext by
 *   default): cmd/thanos/endpointset.go at v0.42.4, `setupEndpointSet`, where per-endpoint dial
 *   options are used only for groups and `!dns.IsDynamicNode(addr)`, and the loop over
 *   `dnsEndpointProvider.Addresses()` appends `globalTLSOpt`; docs/components/query.md at v0.42.4:
 *   "There is no support for per-endpoint TLS overrides for endpoints supplied by DNS service
 *   discovery or static CLI options."
 * - A strict DNS-discovered entry: refused at load by `validateEndpointConfig` (same file).
 */
export function endpointConfigProblems(doc: unknown): string[] {
  const parsed: unknown = typeof doc === "string" ? parse(doc) : doc;
  if (!isObject(parsed)) return ["the endpoint config is not a YAML mapping"];
  const endpoints = (parsed as EndpointDoc).endpoints;
  if (endpoints === undefined || endpoints === null) return [];
  if (!Array.isArray(endpoints)) return ["`endpoints` is not a list"];
  const problems: string[] = [];
  endpoints.forEach((e: unknown, i: number) => {
    if (!isObject(e) || typeof e.address !== "string") {
      problems.push(`endpoints[${i}] has no address`);
      return;
    }
    if (!isDynamicAddress(e.address) || e.group === true) return;
    if (e.client_config !== undefined && e.client_config !== null && !(isObject(e.client_config) && Object.keys(e.client_config).length === 0)) {
      problems.push(`endpoints[${i}] ${e.address}: a DNS-discovered address never uses its own client_config (Thanos dials it with default_client_config); move its TLS to default_client_config`);
    }
    if (e.strict === true) problems.push(`endpoints[${i}] ${e.address}: Thanos refuses strict mode for a DNS-discovered address`);
  });
  return problems;
}
