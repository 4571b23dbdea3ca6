/**
 * Cross-cloud hardening: deletion protection of data stores, the mTLS PKI, and allowlisted
 * LoadBalancer exposure.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { checkFlows, type FlowTable, type KubeObject } from "../../components/exposure/flows-check";
import { endpointConfigProblems } from "../../components/thanos/endpoints";
import { arr, at, isObj, label, onceReporter, read, T, UNKNOWN } from "../lib";

/** Data stores whose loss loses telemetry or the keys to it (SECURITY-CHECKLIST data safety). */
const PROTECTED: readonly string[] = [T.s3Bucket, T.s3BucketV2, T.kmsKey, T.gcsBucket, T.gcpKeyRing, T.gcpCryptoKey, T.azAccount, T.azContainer, T.azVault, T.azKey];

/**
 * Deletion protection. CrossGuard hands `protect` only; the offline plan also hands
 * `retainOnDelete`, which is checked whenever it is present.
 */
export const dataStoresProtected: ResourceValidationPolicy = {
  name: "data-stores-protected",
  description:
    "Buckets, storage accounts, containers, key rings and KMS keys are created with protect (and retainOnDelete, checked where the engine exposes it: the offline plan) (SECURITY-CHECKLIST data safety).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (!PROTECTED.includes(args.type)) return;
    if (args.opts.protect !== true) report(`${label(args)} is not protected`);
    const retain: unknown = (args.opts as unknown as Record<string, unknown>).retainOnDelete;
    if (retain === false) report(`${label(args)} is not retained on delete`);
  },
};

/** ECDSA P-256 everywhere. */
export const mtlsEcdsaP256: ResourceValidationPolicy = {
  name: "mtls-ecdsa-p256",
  description: "Every tls PrivateKey is ECDSA on curve P256 (SECURITY-CHECKLIST mTLS).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.tlsPrivateKey) return;
    const alg = at(args.props, "algorithm");
    const curve = at(args.props, "ecdsaCurve");
    if (alg !== "ECDSA" || curve !== "P256") report(`${label(args)} is ${String(alg)}${alg === "ECDSA" ? ` ${String(curve)}` : ""}, not ECDSA P256`);
  },
};

const strings = (v: unknown): string[] => arr(v).filter((x): x is string => typeof x === "string");

/** The CertRequest a LocallySignedCert was issued from (through its certRequestPem input). */
function requestOf(cert: PolicyResource): PolicyResource | undefined {
  const deps = cert.propertyDependencies.certRequestPem ?? cert.dependencies;
  return deps.find((d) => d.type === T.tlsCertRequest);
}

/** Key usages and SANs of the PKI. */
export const mtlsCertificateUsages: StackValidationPolicy = {
  name: "mtls-certificate-usages",
  description:
    "Self-signed certificates are CAs (isCaCertificate, cert_signing, no server_auth/client_auth); locally signed leaves carry exactly one of server_auth/client_auth and never cert_signing; " +
    "server leaves have DNS or IP SANs on their request, because Go ignores the CN (SECURITY-CHECKLIST mTLS).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    for (const r of args.resources) {
      const usesRaw = at(r.props, "allowedUses");
      if (usesRaw === UNKNOWN) continue;
      const uses = strings(usesRaw);
      if (r.type === T.tlsSelfSigned) {
        if (at(r.props, "isCaCertificate") !== true) report(`${label(r)} is self-signed but not a CA: leaves must be issued by the stack CA`, r.urn);
        if (!uses.includes("cert_signing")) report(`${label(r)} is a CA without cert_signing`, r.urn);
        const leafUses = uses.filter((u) => u === "server_auth" || u === "client_auth");
        if (leafUses.length > 0) report(`${label(r)} is a CA that also allows ${leafUses.join(", ")}`, r.urn);
      }
      if (r.type === T.tlsLocallySigned) {
        const roles = uses.filter((u) => u === "server_auth" || u === "client_auth");
        if (roles.length !== 1) report(`${label(r)} allows ${roles.length === 0 ? "neither server_auth nor client_auth" : "both server_auth and client_auth"}: a leaf has exactly one role`, r.urn);
        if (uses.includes("cert_signing")) report(`${label(r)} is a leaf that allows cert_signing`, r.urn);
        if (at(r.props, "isCaCertificate") === true) report(`${label(r)} is a leaf marked as CA`, r.urn);
        if (roles.includes("server_auth")) {
          const req = requestOf(r);
          const dns = req === undefined ? [] : strings(at(req.props, "dnsNames"));
          const ips = req === undefined ? [] : strings(at(req.props, "ipAddresses"));
          const unknown = req !== undefined && (at(req.props, "dnsNames") === UNKNOWN || at(req.props, "ipAddresses") === UNKNOWN);
          if (!unknown && dns.length + ips.length === 0) report(`${label(r)} is a server certificate without DNS or IP SANs`, r.urn);
        }
      }
    }
  },
};

/** Prefix length of a CIDR, or undefined. */
function prefixOf(cidr: string): number | undefined {
  const m = cidr.match(/\/(\d+)$/);
  return m === null ? undefined : Number(m[1]);
}

/** Allowlisted exposure. */
export const loadBalancerSourceRanges: ResourceValidationPolicy = {
  name: "loadbalancer-source-ranges",
  description: "Every LoadBalancer Service sets loadBalancerSourceRanges, non-empty and never 0.0.0.0/0 or ::/0 (ARCHITECTURE: exposure only to the peer's egress IPs).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.k8sService) return;
    const type = at(args.props, "spec", "type");
    if (type !== "LoadBalancer") return;
    const raw = at(args.props, "spec", "loadBalancerSourceRanges");
    if (raw === UNKNOWN) return;
    const ranges = strings(raw);
    if (ranges.length === 0) report(`${label(args)} is a LoadBalancer without loadBalancerSourceRanges: it is open to the internet`);
    for (const c of ranges) if (prefixOf(c) === 0) report(`${label(args)} admits ${c}: the whole internet`);
  },
};

/** The file name under which a Thanos Query's endpoint config is mounted (components/thanos/args.ts PATHS.endpoints). */
const ENDPOINTS_FILE = "endpoints.yaml";

/**
 * DNS-discovered Thanos endpoints carry no per-endpoint TLS: Thanos v0.42.4 dials every address
 * it resolves through DNS with `default_client_config` only (cmd/thanos/endpointset.go at v0.42.4;
 * docs/components/query.md: "There is no support for per-endpoint TLS overrides for endpoints
 * supplied by DNS service discovery"), so such a `client_config` is a plaintext dial in disguise.
 */
export const dnsEndpointsWithoutPerEndpointTls: ResourceValidationPolicy = {
  name: "thanos-dns-endpoints-no-per-endpoint-tls",
  description:
    "DNS-discovered endpoints without per-endpoint TLS: an endpoint config (ConfigMap key endpoints.yaml) gives no dns+/dnssrv+/dnssrvnoa+ entry its own client_config (Thanos dials those with default_client_config only) and marks none strict (Thanos refuses it) (SECURITY-CHECKLIST mTLS, client side of the endpoint config).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.k8sConfigMap) return;
    const data = at(args.props, "data");
    if (!isObj(data)) return;
    const file = data[ENDPOINTS_FILE];
    if (typeof file !== "string") return;
    let problems: string[];
    try {
      problems = endpointConfigProblems(file);
    } catch (e) {
      problems = [`${ENDPOINTS_FILE} is not valid YAML: ${(e as Error).message}`];
    }
    for (const p of problems) report(`${label(args)}: ${p}`);
  },
};

/** Type of the component that renders a stack's NetworkPolicies from its flow table (components/exposure/flows.ts). */
const FLOW_POLICIES = "sovereign:exposure:FlowPolicies";
const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

/** A resource's props as plain data, or UNKNOWN when any part is unknown at preview. */
function plain(v: unknown): unknown {
  return read(() => JSON.parse(JSON.stringify(v ?? null)) as unknown);
}

/**
 * One stand-in workload per pod selector of the table, carrying exactly the selector's labels
 * and the ports of the flows to it. CrossGuard sees typed resources only (a Helm release is one
 * opaque resource), so the pods the charts render are represented by what the table says
 * selects them; the full check on the rendered charts runs in `npm run plan` and the tests.
 */
function standInPods(table: FlowTable): KubeObject[] {
  const groups = new Map<string, { what: string; labels: Record<string, string>; ports: { containerPort: number; protocol: string }[] }>();
  const add = (what: string, labels: Record<string, string>, port?: { containerPort: number; protocol: string }): void => {
    const key = JSON.stringify(Object.entries(labels).sort());
    const g = groups.get(key) ?? { what, labels: { ...labels }, ports: [] };
    if (port !== undefined && !g.ports.some((p) => p.containerPort === port.containerPort && p.protocol === port.protocol)) g.ports.push(port);
    groups.set(key, g);
  };
  for (const f of table.flows) {
    add(f.to.what, f.to.selector, { containerPort: f.port, protocol: f.protocol });
    if (f.from.kind === "pods") add(f.from.what, f.from.selector);
  }
  return [...groups.values()].map((g) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `(${g.what})`, namespace: table.namespace },
    spec: { template: { metadata: { labels: g.labels }, spec: { containers: [{ name: "c", ports: g.ports }] } } },
  }));
}

/**
 * The stack's typed NetworkPolicies admit every flow of its declared table and nothing the
 * table does not declare, with the Kubernetes semantics of components/exposure/flows-check.ts
 * (additive policies, peers, ipBlock except, port ranges;
 * https://kubernetes.io/docs/concepts/services-networking/network-policies/). A NetworkPolicy
 * edited by hand, or added beside the table, that cuts a declared flow (the hub Alertmanager
 * policy that dropped the ruler's alerts) or opens an undeclared one fails the preview.
 */
export const networkPoliciesAdmitDeclaredFlows: StackValidationPolicy = {
  name: "networkpolicies-admit-declared-flows",
  description:
    "The stack's NetworkPolicies admit every flow its declared flow table needs (no declared flow blocked) and nothing the table does not declare (ARCHITECTURE: exposure only to the peer's egress IPs; SECURITY-CHECKLIST mTLS peers).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    for (const owner of args.resources.filter((r) => r.type === FLOW_POLICIES)) {
      const table = plain(at(owner.props, "table"));
      if (table === UNKNOWN || !isObj(table) || !Array.isArray(table.flows) || typeof table.namespace !== "string") continue;
      const ft = table as unknown as FlowTable;
      const policies: KubeObject[] = [];
      let unknown = false;
      for (const r of args.resources.filter((x) => x.type === NETWORK_POLICY)) {
        const m = plain({ metadata: at(r.props, "metadata"), spec: at(r.props, "spec") });
        if (m === UNKNOWN || !isObj(m) || !isObj(m.metadata)) {
          unknown = true;
          continue;
        }
        const meta = m.metadata as { name?: unknown; namespace?: unknown; labels?: Record<string, string> };
        policies.push({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: typeof meta.name === "string" ? meta.name : r.name, namespace: typeof meta.namespace === "string" ? meta.namespace : ft.namespace, labels: meta.labels }, spec: m.spec });
      }
      if (unknown) continue;
      const result = checkFlows({ table: ft, manifests: [...standInPods(ft), ...policies] });
      for (const f of result.findings) {
        if (f.kind === "blocked" || f.kind === "undeclared") report(`${label(owner)}: ${f.message.replace(/Deployment\/[^/]+\/\(/g, "(")}`, owner.urn);
      }
    }
  },
};

/** Every cross-cloud hardening policy. */
export const platformPolicies: (ResourceValidationPolicy | StackValidationPolicy)[] = [dataStoresProtected, mtlsEcdsaP256, mtlsCertificateUsages, loadBalancerSourceRanges, dnsEndpointsWithoutPerEndpointTls, networkPoliciesAdmitDeclaredFlows];
