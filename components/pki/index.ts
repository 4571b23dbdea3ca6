/**
 * mTLS PKI with @pulumi/tls: one CA per stack, leaf certificates for exactly the names a
 * peer dials, and Kubernetes TLS secrets. ECDSA P-256 everywhere (SECURITY-CHECKLIST mTLS).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { createHash } from "node:crypto";

/** Key usages of a CA certificate (snake_case as the tls provider spells them). */
export const CA_USES = ["cert_signing", "crl_signing", "digital_signature"] as const;
/** Key usages of a leaf, per role. ECDSA keys sign; they never encipher keys. */
export const LEAF_USES = {
  server: ["digital_signature", "server_auth"],
  client: ["digital_signature", "client_auth"],
} as const;

export type LeafUsage = keyof typeof LEAF_USES;

export interface CertificateAuthorityArgs {
  /** Subject common name, e.g. `dev-01 observability CA`. */
  commonName: pulumi.Input<string>;
  organization?: pulumi.Input<string>;
  validityHours: pulumi.Input<number>;
  earlyRenewalHours: pulumi.Input<number>;
}

/** A self-signed ECDSA P-256 CA. Its key is a secret and never leaves the stack's state. */
export class CertificateAuthority extends pulumi.ComponentResource {
  /** The CA certificate (PEM). */
  public readonly certPem: pulumi.Output<string>;
  /** The CA private key (PEM, secret). */
  public readonly privateKeyPem: pulumi.Output<string>;

  constructor(name: string, args: CertificateAuthorityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:pki:CertificateAuthority", name, {}, opts);
    const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
    const cert = new tls.SelfSignedCert(
      `${name}-cert`,
      {
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: args.commonName, organization: args.organization ?? "sovereign-observability" },
        isCaCertificate: true,
        validityPeriodHours: args.validityHours,
        earlyRenewalHours: args.earlyRenewalHours,
        allowedUses: [...CA_USES],
        setSubjectKeyId: true,
      },
      { parent: this },
    );
    this.certPem = cert.certPem;
    this.privateKeyPem = pulumi.secret(key.privateKeyPem);
    this.registerOutputs({ certPem: this.certPem });
  }
}

export interface CertificateArgs {
  ca: CertificateAuthority;
  commonName: pulumi.Input<string>;
  /** DNS SANs: exactly the names peers dial (Go ignores the CN). */
  dnsNames?: pulumi.Input<pulumi.Input<string>[]>;
  ipAddresses?: pulumi.Input<pulumi.Input<string>[]>;
  usage: LeafUsage;
  validityHours: pulumi.Input<number>;
  earlyRenewalHours: pulumi.Input<number>;
}

/** A leaf certificate signed by a stack CA, renewed early by the provider. */
export class Certificate extends pulumi.ComponentResource {
  public readonly certPem: pulumi.Output<string>;
  /** The leaf's private key (PEM, secret). */
  public readonly privateKeyPem: pulumi.Output<string>;
  /** The issuing CA (PEM). */
  public readonly caPem: pulumi.Output<string>;

  constructor(name: string, args: CertificateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:pki:Certificate", name, {}, opts);
    const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
    const csr = new tls.CertRequest(
      `${name}-csr`,
      {
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: args.commonName, organization: "sovereign-observability" },
        dnsNames: args.dnsNames,
        ipAddresses: args.ipAddresses,
      },
      { parent: this },
    );
    const cert = new tls.LocallySignedCert(
      `${name}-cert`,
      {
        certRequestPem: csr.certRequestPem,
        caPrivateKeyPem: args.ca.privateKeyPem,
        caCertPem: args.ca.certPem,
        validityPeriodHours: args.validityHours,
        earlyRenewalHours: args.earlyRenewalHours,
        allowedUses: [...LEAF_USES[args.usage]],
      },
      { parent: this },
    );
    this.certPem = cert.certPem;
    this.privateKeyPem = pulumi.secret(key.privateKeyPem);
    this.caPem = args.ca.certPem;
    this.registerOutputs({ certPem: this.certPem });
  }
}

/**
 * A key and a certificate request of this stack, for another stack's CA to sign: the key never
 * leaves this stack; the request (public) is published in its contract. An edge asks its zone
 * spoke this way, so the spoke, not the edge, decides which name (tenant) a certificate carries.
 */
export class CertificateRequest extends pulumi.ComponentResource {
  /** The request (PEM, public). */
  public readonly certRequestPem: pulumi.Output<string>;
  /** The private key (PEM, secret). */
  public readonly privateKeyPem: pulumi.Output<string>;
  /** The public key (PEM), to tell a certificate signed for this key from one signed for an older key. */
  public readonly publicKeyPem: pulumi.Output<string>;

  constructor(name: string, args: { commonName: pulumi.Input<string> }, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:pki:CertificateRequest", name, {}, opts);
    const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
    const csr = new tls.CertRequest(`${name}-csr`, { privateKeyPem: key.privateKeyPem, subject: { commonName: args.commonName, organization: "sovereign-observability" } }, { parent: this });
    this.certRequestPem = csr.certRequestPem;
    this.privateKeyPem = pulumi.secret(key.privateKeyPem);
    this.publicKeyPem = key.publicKeyPem;
    this.registerOutputs({ certRequestPem: this.certRequestPem });
  }
}

/**
 * A short digest of the public parts of a TLS Secret (certificate and trust bundle), for a pod
 * annotation that rolls the pods when either changes: servers that read them only at start
 * (nginx, Thanos) pick up a renewal or a new trusted CA. The key is left out: it changes with
 * the certificate.
 */
export function tlsDigest(parts: readonly pulumi.Input<string>[]): pulumi.Output<string> {
  return pulumi.all([...parts]).apply((ps: string[]) => createHash("sha256").update(ps.join("\n")).digest("hex").slice(0, 16));
}

/** A PEM bundle of CA certificates, in a stable order, without duplicates. */
export function caBundle(pems: readonly string[]): string {
  const blocks = pems.flatMap((p) => p.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []);
  return `${[...new Set(blocks)].join("\n")}\n`;
}

/** Data of a `kubernetes.io/tls` secret with the trust bundle its peer is verified against. */
export function tlsSecretData(p: { certPem: string; keyPem: string; trustedCaPem: string }): Record<string, string> {
  return { "tls.crt": p.certPem, "tls.key": p.keyPem, "ca.crt": p.trustedCaPem };
}

export interface StackPkiArgs {
  stack: string;
  caValidityHours: number;
  caEarlyRenewalHours: number;
  /** Validity and early renewal of the leaves this CA issues. */
  leafValidityHours: number;
  leafEarlyRenewalHours: number;
  /** Issue a next CA: trust bundles hold both until the current one is retired. */
  rotateCa: boolean;
}

/**
 * The CA of a stack, with an optional next CA during rotation. Leaves are issued by the
 * current CA; `trustBundle` is what peers of this stack must trust.
 */
export class StackPki extends pulumi.ComponentResource {
  public readonly ca: CertificateAuthority;
  public readonly nextCa?: CertificateAuthority;
  /** Current CA, plus the next one during a rotation. */
  public readonly trustBundle: pulumi.Output<string>;
  private readonly leaf: { validityHours: number; earlyRenewalHours: number };

  constructor(name: string, args: StackPkiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:pki:StackPki", name, {}, opts);
    this.leaf = { validityHours: args.leafValidityHours, earlyRenewalHours: args.leafEarlyRenewalHours };
    const caArgs = { validityHours: args.caValidityHours, earlyRenewalHours: args.caEarlyRenewalHours };
    this.ca = new CertificateAuthority(`${name}-ca`, { ...caArgs, commonName: `${args.stack} observability CA` }, { parent: this });
    if (args.rotateCa) {
      this.nextCa = new CertificateAuthority(`${name}-ca-next`, { ...caArgs, commonName: `${args.stack} observability CA (next)` }, { parent: this });
    }
    const pems = [this.ca.certPem, ...(this.nextCa ? [this.nextCa.certPem] : [])];
    this.trustBundle = pulumi.all(pems).apply(caBundle);
    this.registerOutputs({ trustBundle: this.trustBundle });
  }

  /**
   * Signs another stack's certificate request (already checked by the caller: its subject is
   * the one this stack accepts) with the current CA, for `usage` only; renewed early like every leaf.
   */
  sign(name: string, certRequestPem: pulumi.Input<string>, usage: LeafUsage): pulumi.Output<string> {
    const cert = new tls.LocallySignedCert(name, {
      certRequestPem,
      caPrivateKeyPem: this.ca.privateKeyPem,
      caCertPem: this.ca.certPem,
      validityPeriodHours: this.leaf.validityHours,
      earlyRenewalHours: this.leaf.earlyRenewalHours,
      allowedUses: [...LEAF_USES[usage]],
    }, { parent: this });
    return cert.certPem;
  }

  /** A leaf certificate issued by this stack's current CA, with the stack's leaf validity. */
  issue(name: string, args: Omit<CertificateArgs, "ca" | "validityHours" | "earlyRenewalHours">): Certificate {
    return new Certificate(name, { validityHours: this.leaf.validityHours, earlyRenewalHours: this.leaf.earlyRenewalHours, ...args, ca: this.ca }, { parent: this });
  }
}

export interface TlsSecretArgs {
  namespace: pulumi.Input<string>;
  /** A leaf and its key: a {@link Certificate}, or a certificate another stack signed for a {@link CertificateRequest}'s key. */
  certificate: { certPem: pulumi.Input<string>; privateKeyPem: pulumi.Input<string> };
  /** CA bundle the workload verifies its peers against (`ca.crt`). */
  trustedCaPem: pulumi.Input<string>;
  labels?: Record<string, string>;
}

/** A `kubernetes.io/tls` secret holding a leaf, its key and the peer trust bundle. */
export function tlsSecret(name: string, args: TlsSecretArgs, opts: pulumi.CustomResourceOptions): k8s.core.v1.Secret {
  return new k8s.core.v1.Secret(
    name,
    {
      metadata: { name, namespace: args.namespace, labels: args.labels },
      type: "kubernetes.io/tls",
      stringData: pulumi
        .all([args.certificate.certPem, args.certificate.privateKeyPem, args.trustedCaPem])
        .apply(([certPem, keyPem, trustedCaPem]) => tlsSecretData({ certPem, keyPem, trustedCaPem })),
    },
    opts,
  );
}
