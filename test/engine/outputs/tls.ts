/**
 * A faithful offline `@pulumi/tls`: real ECDSA/RSA keys, real PKCS#10 requests and real
 * X.509 certificates with the requested SANs, key usages and validity, so that tests can
 * run genuine TLS handshakes with what the program would issue.
 */
import "reflect-metadata";
import { createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto, type KeyObject } from "node:crypto";
import { generateKeyPairSync } from "node:crypto";
import * as x509 from "@peculiar/x509";
import type { OutputTable } from "./types";

type CryptoKey = webcrypto.CryptoKey;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const NODE_CURVES: Record<string, string> = { P256: "prime256v1", P384: "secp384r1", P521: "secp521r1" };

const KEY_USAGE: Record<string, number> = {
  digital_signature: x509.KeyUsageFlags.digitalSignature,
  content_commitment: x509.KeyUsageFlags.nonRepudiation,
  key_encipherment: x509.KeyUsageFlags.keyEncipherment,
  data_encipherment: x509.KeyUsageFlags.dataEncipherment,
  key_agreement: x509.KeyUsageFlags.keyAgreement,
  cert_signing: x509.KeyUsageFlags.keyCertSign,
  crl_signing: x509.KeyUsageFlags.cRLSign,
  encipher_only: x509.KeyUsageFlags.encipherOnly,
  decipher_only: x509.KeyUsageFlags.decipherOnly,
};
const EXT_KEY_USAGE: Record<string, string> = {
  any_extended: "2.5.29.37.0",
  server_auth: "1.3.6.1.5.5.7.3.1",
  client_auth: "1.3.6.1.5.5.7.3.2",
  code_signing: "1.3.6.1.5.5.7.3.3",
  email_protection: "1.3.6.1.5.5.7.3.4",
  ipsec_end_system: "1.3.6.1.5.5.7.3.5",
  ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
  ipsec_user: "1.3.6.1.5.5.7.3.7",
  timestamping: "1.3.6.1.5.5.7.3.8",
  ocsp_signing: "1.3.6.1.5.5.7.3.9",
  microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
  netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
};

/** A subject as the tls provider takes it. */
export interface Subject {
  commonName?: string;
  organization?: string;
  organizationalUnit?: string;
  country?: string;
  province?: string;
  locality?: string;
  postalCode?: string;
  streetAddresses?: string[];
  serialNumber?: string;
}

function escapeDn(v: string): string {
  return v.replace(/([,+"\\<>;=])/g, "\\$1");
}

/** RFC 4514 name of a subject, most specific attribute first. */
export function subjectName(s: Subject | undefined): string {
  if (s === undefined) return "";
  const parts: string[] = [];
  if (s.commonName) parts.push(`CN=${escapeDn(s.commonName)}`);
  if (s.organizationalUnit) parts.push(`OU=${escapeDn(s.organizationalUnit)}`);
  if (s.organization) parts.push(`O=${escapeDn(s.organization)}`);
  if (s.locality) parts.push(`L=${escapeDn(s.locality)}`);
  if (s.province) parts.push(`ST=${escapeDn(s.province)}`);
  if (s.country) parts.push(`C=${escapeDn(s.country)}`);
  if (s.postalCode) parts.push(`2.5.4.17=${escapeDn(s.postalCode)}`);
  for (const a of s.streetAddresses ?? []) parts.push(`STREET=${escapeDn(a)}`);
  if (s.serialNumber) parts.push(`2.5.4.5=${escapeDn(s.serialNumber)}`);
  return parts.join(", ");
}

function algorithmOf(key: KeyObject): { sign: webcrypto.EcdsaParams | webcrypto.RsaHashedImportParams; import: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams; name: string } {
  const type = key.asymmetricKeyType;
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const named = curve === "prime256v1" ? "P-256" : curve === "secp384r1" ? "P-384" : curve === "secp521r1" ? "P-521" : undefined;
    if (named === undefined) throw new Error(`offline tls: unsupported ECDSA curve ${String(curve)}`);
    const hash = named === "P-256" ? "SHA-256" : named === "P-384" ? "SHA-384" : "SHA-512";
    return { sign: { name: "ECDSA", hash }, import: { name: "ECDSA", namedCurve: named }, name: "ECDSA" };
  }
  if (type === "rsa") {
    return { sign: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, name: "RSA" };
  }
  throw new Error(`offline tls: unsupported key type ${String(type)}`);
}

async function webKeys(privateKeyPem: string): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; algorithm: ReturnType<typeof algorithmOf> }> {
  const priv = createPrivateKey(privateKeyPem);
  const algorithm = algorithmOf(priv);
  const privateKey = await webcrypto.subtle.importKey("pkcs8", priv.export({ format: "der", type: "pkcs8" }), algorithm.import, true, ["sign"]);
  const publicKey = await webcrypto.subtle.importKey("spki", createPublicKey(priv).export({ format: "der", type: "spki" }), algorithm.import, true, ["verify"]);
  return { privateKey: privateKey as CryptoKey, publicKey: publicKey as CryptoKey, algorithm };
}

/** Generates a private key as the tls provider does, with its PEM encodings. */
export function generatePrivateKey(algorithm: string, opts: { ecdsaCurve?: string; rsaBits?: number }): Record<string, string> {
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  let pem: string;
  if (algorithm === "ECDSA") {
    const curve = NODE_CURVES[opts.ecdsaCurve ?? "P224"];
    if (curve === undefined) throw new Error(`offline tls: ECDSA curve ${opts.ecdsaCurve ?? "P224"} is not supported offline (use P256, P384 or P521)`);
    pair = generateKeyPairSync("ec", { namedCurve: curve });
    pem = pair.privateKey.export({ format: "pem", type: "sec1" }).toString();
  } else if (algorithm === "RSA") {
    pair = generateKeyPairSync("rsa", { modulusLength: opts.rsaBits ?? 2048 });
    pem = pair.privateKey.export({ format: "pem", type: "pkcs1" }).toString();
  } else if (algorithm === "ED25519") {
    pair = generateKeyPairSync("ed25519");
    pem = pair.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  } else {
    throw new Error(`offline tls: unknown algorithm ${algorithm}`);
  }
  const spki = pair.publicKey.export({ format: "der", type: "spki" });
  return {
    privateKeyPem: pem,
    privateKeyPemPkcs8: pair.privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicKeyPem: pair.publicKey.export({ format: "pem", type: "spki" }).toString(),
    publicKeyFingerprintSha256: `SHA256:${createHash("sha256").update(spki).digest("base64").replace(/=+$/, "")}`,
    publicKeyFingerprintMd5: createHash("md5").update(spki).digest("hex").match(/../g)?.join(":") ?? "",
  };
}

/** What a certificate is issued with. */
export interface IssueParams {
  /** Key of the certificate's subject (PEM). */
  subjectKeyPem: string;
  subject: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  uris?: string[];
  allowedUses?: string[];
  isCaCertificate?: boolean;
  /** Issuer; omitted, the certificate is self-signed. */
  issuer?: { certPem: string; keyPem: string };
  validityPeriodHours: number;
  earlyRenewalHours?: number;
  /** Overrides for tests that need an expired or not-yet-valid certificate. */
  notBefore?: Date;
  notAfter?: Date;
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Builds and signs a certificate for `publicKey`; shared by self-signed and CA-signed issuance. */
async function build(publicKey: CryptoKey, signer: Awaited<ReturnType<typeof webKeys>>, issuerSubject: string | undefined, p: Omit<IssueParams, "subjectKeyPem" | "issuer">): Promise<Record<string, unknown>> {
  // Whole seconds, as the provider's RFC 3339 times are.
  const notBefore = p.notBefore ?? new Date(Math.floor(Date.now() / 1000) * 1000);
  const notAfter = p.notAfter ?? new Date(notBefore.getTime() + p.validityPeriodHours * 3600_000);
  const uses = p.allowedUses ?? [];
  const extensions: x509.Extension[] = [];
  if (p.isCaCertificate === true) extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
  const ku = uses.reduce((acc, u) => acc | (KEY_USAGE[u] ?? 0), 0);
  if (ku !== 0) extensions.push(new x509.KeyUsagesExtension(ku, true));
  const eku = uses.map((u) => EXT_KEY_USAGE[u]).filter((x): x is string => x !== undefined);
  if (eku.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(eku, false));
  const sans = generalNames(p);
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(publicKey));
  if (issuerSubject !== undefined) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.publicKey));
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString("hex"),
    subject: p.subject,
    issuer: issuerSubject ?? p.subject,
    notBefore,
    notAfter,
    signingAlgorithm: signer.algorithm.sign,
    publicKey,
    signingKey: signer.privateKey,
    extensions,
  });
  const early = (p.earlyRenewalHours ?? 0) * 3600_000;
  return {
    certPem: `${cert.toString("pem")}\n`,
    validityStartTime: rfc3339(notBefore),
    validityEndTime: rfc3339(notAfter),
    readyForRenewal: Date.now() >= notAfter.getTime() - early,
    ...(issuerSubject !== undefined ? { caKeyAlgorithm: signer.algorithm.name } : { keyAlgorithm: signer.algorithm.name }),
  };
}

function generalNames(p: { dnsNames?: string[]; ipAddresses?: string[]; uris?: string[] }): x509.JsonGeneralName[] {
  return [
    ...(p.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(p.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
    ...(p.uris ?? []).map((value) => ({ type: "url" as const, value })),
  ];
}

/** The CA's keys, checked against its certificate as the provider does. */
async function caSigner(issuer: { certPem: string; keyPem: string }): Promise<{ signer: Awaited<ReturnType<typeof webKeys>>; subject: string }> {
  const signer = await webKeys(issuer.keyPem);
  const cert = new x509.X509Certificate(issuer.certPem);
  const caSpki = Buffer.from(await webcrypto.subtle.exportKey("spki", signer.publicKey));
  if (!caSpki.equals(Buffer.from(cert.publicKey.rawData))) throw new Error("offline tls: caPrivateKeyPem does not match caCertPem");
  return { signer, subject: cert.subject };
}

/** Issues a real certificate (self-signed, or signed by `issuer`) with the provider's outputs. */
export async function issueCertificate(p: IssueParams): Promise<Record<string, unknown>> {
  const subjectKeys = await webKeys(p.subjectKeyPem);
  if (p.issuer === undefined) return build(subjectKeys.publicKey, subjectKeys, undefined, p);
  const ca = await caSigner(p.issuer);
  return build(subjectKeys.publicKey, ca.signer, ca.subject, p);
}

/** A real PKCS#10 request signed by the subject's key. */
export async function createCertRequest(p: { privateKeyPem: string; subject: string; dnsNames?: string[]; ipAddresses?: string[]; uris?: string[] }): Promise<string> {
  const keys = await webKeys(p.privateKeyPem);
  const sans = generalNames(p);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: p.subject,
    keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
    signingAlgorithm: keys.algorithm.sign,
    extensions: sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans, false)] : [],
  });
  return `${csr.toString("pem")}\n`;
}

/** Reads what a CSR asks for, and checks its signature as the provider would. */
async function parseCertRequest(pem: string): Promise<{ subject: string; publicKeyPem: string; dnsNames: string[]; ipAddresses: string[]; uris: string[] }> {
  const csr = new x509.Pkcs10CertificateRequest(pem);
  if (!(await csr.verify())) throw new Error("offline tls: certRequestPem has an invalid signature");
  const san = csr.getExtension("2.5.29.17");
  const names: x509.JsonGeneralName[] = san !== null ? new x509.SubjectAlternativeNameExtension(san.rawData).names.toJSON() : [];
  return {
    subject: csr.subject,
    publicKeyPem: csr.publicKey.toString("pem"),
    dnsNames: names.filter((n) => n.type === "dns").map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === "ip").map((n) => n.value),
    uris: names.filter((n) => n.type === "url").map((n) => n.value),
  };
}

/** Issues a certificate for a public key only (the CSR's), signed by a CA. */
async function issueForPublicKey(publicKeyPem: string, p: Omit<IssueParams, "subjectKeyPem"> & { issuer: { certPem: string; keyPem: string } }): Promise<Record<string, unknown>> {
  const pub = createPublicKey(publicKeyPem);
  const publicKey = (await webcrypto.subtle.importKey("spki", pub.export({ format: "der", type: "spki" }), algorithmOf(pub).import, true, ["verify"])) as CryptoKey;
  const ca = await caSigner(p.issuer);
  return build(publicKey, ca.signer, ca.subject, p);
}

/** Signs a CSR with a CA, as `tls.LocallySignedCert` does (subject and SANs from the CSR). */
export async function signCertRequest(p: { certRequestPem: string; caCertPem: string; caPrivateKeyPem: string; validityPeriodHours: number; earlyRenewalHours?: number; allowedUses?: string[]; isCaCertificate?: boolean; notBefore?: Date; notAfter?: Date }): Promise<Record<string, unknown>> {
  const req = await parseCertRequest(p.certRequestPem);
  return issueForPublicKey(req.publicKeyPem, {
    subject: req.subject,
    dnsNames: req.dnsNames,
    ipAddresses: req.ipAddresses,
    uris: req.uris,
    allowedUses: p.allowedUses,
    isCaCertificate: p.isCaCertificate,
    issuer: { certPem: p.caCertPem, keyPem: p.caPrivateKeyPem },
    validityPeriodHours: p.validityPeriodHours,
    earlyRenewalHours: p.earlyRenewalHours,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
  });
}

const s = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const n = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

export const tlsOutputs: OutputTable = {
  "tls:index/privateKey:PrivateKey": (reg) => {
    const algorithm = s(reg.inputs.algorithm) ?? "RSA";
    const ecdsaCurve = s(reg.inputs.ecdsaCurve) ?? "P224";
    const rsaBits = n(reg.inputs.rsaBits) ?? 2048;
    return { state: { algorithm, ecdsaCurve, rsaBits, ...generatePrivateKey(algorithm, { ecdsaCurve, rsaBits }) } };
  },
  "tls:index/selfSignedCert:SelfSignedCert": async (reg) => {
    const keyPem = s(reg.inputs.privateKeyPem);
    if (keyPem === undefined) throw new Error(`offline tls: ${reg.name}: privateKeyPem is required`);
    return {
      state: await issueCertificate({
        subjectKeyPem: keyPem,
        subject: subjectName(reg.inputs.subject as Subject | undefined),
        dnsNames: strings(reg.inputs.dnsNames),
        ipAddresses: strings(reg.inputs.ipAddresses),
        uris: strings(reg.inputs.uris),
        allowedUses: strings(reg.inputs.allowedUses),
        isCaCertificate: reg.inputs.isCaCertificate === true,
        validityPeriodHours: n(reg.inputs.validityPeriodHours) ?? 0,
        earlyRenewalHours: n(reg.inputs.earlyRenewalHours),
      }),
    };
  },
  "tls:index/certRequest:CertRequest": async (reg) => {
    const keyPem = s(reg.inputs.privateKeyPem);
    if (keyPem === undefined) throw new Error(`offline tls: ${reg.name}: privateKeyPem is required`);
    const certRequestPem = await createCertRequest({
      privateKeyPem: keyPem,
      subject: subjectName(reg.inputs.subject as Subject | undefined),
      dnsNames: strings(reg.inputs.dnsNames),
      ipAddresses: strings(reg.inputs.ipAddresses),
      uris: strings(reg.inputs.uris),
    });
    return { state: { certRequestPem, keyAlgorithm: algorithmOf(createPrivateKey(keyPem)).name } };
  },
  "tls:index/locallySignedCert:LocallySignedCert": async (reg) => {
    const certRequestPem = s(reg.inputs.certRequestPem);
    const caCertPem = s(reg.inputs.caCertPem);
    const caPrivateKeyPem = s(reg.inputs.caPrivateKeyPem);
    if (certRequestPem === undefined || caCertPem === undefined || caPrivateKeyPem === undefined) {
      throw new Error(`offline tls: ${reg.name}: certRequestPem, caCertPem and caPrivateKeyPem are required`);
    }
    return {
      state: await signCertRequest({
        certRequestPem,
        caCertPem,
        caPrivateKeyPem,
        validityPeriodHours: n(reg.inputs.validityPeriodHours) ?? 0,
        earlyRenewalHours: n(reg.inputs.earlyRenewalHours),
        allowedUses: strings(reg.inputs.allowedUses),
        isCaCertificate: reg.inputs.isCaCertificate === true,
      }),
    };
  },
};
