/**
 * Cross-cloud hardening: deletion protection of data stores, the mTLS PKI, and allowlisted
 * LoadBalancer exposure.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { endpointConfigProblems } from "../../components/thanos/endpoints";
import { arr, at, isObj, label, onceReporter, T, UNKNOWN } from "../lib";

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

/** Every cross-cloud hardening policy. */
export const platformPolicies: (ResourceValidationPolicy | StackValidationPolicy)[] = [dataStoresProtected, mtlsEcdsaP256, mtlsCertificateUsages, loadBalancerSourceRanges, dnsEndpointsWithoutPerEndpointTls];
