/**
 * A faithful offline `@pulumi/tls` (terraform-provider-tls v4): real RSA/ECDSA/Ed25519 keys,
 * real PKCS#10 requests and real X.509 certificates, encoded the way the provider's Go
 * crypto/x509 encodes them (subject order, string types, extension order and criticality,
 * key identifiers, signature algorithms), so that tests can inspect what the program would
 * issue and run genuine TLS handshakes with it.
 *
 * Where the provider would fail (unknown `allowedUses`, a CA key that does not match the CA
 * certificate, a CA without a subject, a bad IP address...) this throws. Where an input is
 * missing or not yet known, the table returns what can be computed without it.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { bitString, boolean, children, contextConstructed, contextPrimitive, integer, nullValue, octetString, oid, parseDer, readOid, readString, sequence, setOf, time, tlv, type DerNode } from "./der";
import type { MockRegistration, OutputTable } from "./types";
import { UNKNOWN } from "../values";

/** Key algorithms the provider generates and accepts. */
export type KeyAlgorithm = "RSA" | "ECDSA" | "ED25519";
/** ECDSA curves the provider generates. */
export type EcdsaCurve = "P224" | "P256" | "P384" | "P521";

const ALGORITHMS: readonly KeyAlgorithm[] = ["RSA", "ECDSA", "ED25519"];
/** Per curve: Node's name, x/crypto/ssh's name, and the signature Go's signingParamsForKey picks. */
const CURVES: Readonly<Record<EcdsaCurve, { node: string; ssh?: string; hash: string; signatureOid: string }>> = {
  // x/crypto/ssh has no P-224, so the provider leaves the OpenSSH fields empty for it.
  P224: { node: "secp224r1", hash: "sha256", signatureOid: "1.2.840.10045.4.3.2" },
  P256: { node: "prime256v1", ssh: "nistp256", hash: "sha256", signatureOid: "1.2.840.10045.4.3.2" },
  P384: { node: "secp384r1", ssh: "nistp384", hash: "sha384", signatureOid: "1.2.840.10045.4.3.3" },
  P521: { node: "secp521r1", ssh: "nistp521", hash: "sha512", signatureOid: "1.2.840.10045.4.3.4" },
};

/** `allowed_uses` values that set KeyUsage bits (Go's x509.KeyUsage bit numbers). */
export const KEY_USAGES: Readonly<Record<string, number>> = {
  digital_signature: 0,
  content_commitment: 1,
  key_encipherment: 2,
  data_encipherment: 3,
  key_agreement: 4,
  cert_signing: 5,
  crl_signing: 6,
  encipher_only: 7,
  decipher_only: 8,
};

/** `allowed_uses` values that add an ExtendedKeyUsage purpose, with its OID. */
export const EXTENDED_KEY_USAGES: Readonly<Record<string, string>> = {
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
  microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
  microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

const SUPPORTED_USES = [...Object.keys(KEY_USAGES), ...Object.keys(EXTENDED_KEY_USAGES)].sort();

const OID = {
  commonName: "2.5.4.3",
  serialNumber: "2.5.4.5",
  country: "2.5.4.6",
  locality: "2.5.4.7",
  province: "2.5.4.8",
  streetAddress: "2.5.4.9",
  organization: "2.5.4.10",
  organizationalUnit: "2.5.4.11",
  postalCode: "2.5.4.17",
  emailAddress: "1.2.840.113549.1.9.1",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  basicConstraints: "2.5.29.19",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  subjectAltName: "2.5.29.17",
  extensionRequest: "1.2.840.113549.1.9.14",
} as const;

/** A certificate subject as the tls provider takes it (`subject` block). */
export interface Subject {
  commonName?: string;
  organization?: string;
  organizationalUnit?: string;
  streetAddresses?: string[];
  locality?: string;
  province?: string;
  country?: string;
  postalCode?: string;
  serialNumber?: string;
  emailAddress?: string;
}

/** Go's pkix.Name, the form a subject takes between the provider's input and the DER. */
interface GoName {
  country: string[];
  province: string[];
  locality: string[];
  streetAddress: string[];
  postalCode: string[];
  organization: string[];
  organizationalUnit: string[];
  commonName: string;
  serialNumber: string;
  emailAddress?: string;
}

/** Subject alternative names, IPs already in their 4- or 16-octet form. */
interface Sans {
  dnsNames: string[];
  ipAddresses: Buffer[];
  uris: string[];
}

/** What `tls.PrivateKey` outputs, plus the provider's resource id. */
export interface GeneratedKey {
  id: string;
  algorithm: KeyAlgorithm;
  ecdsaCurve: EcdsaCurve;
  rsaBits: number;
  privateKeyPem: string;
  privateKeyPemPkcs8: string;
  publicKeyPem: string;
  privateKeyOpenssh: string;
  publicKeyOpenssh: string;
  publicKeyFingerprintMd5: string;
  publicKeyFingerprintSha256: string;
}

/** A CA that signs: its certificate and private key, both PEM. */
export interface Issuer {
  certPem: string;
  keyPem: string;
}

/** Options shared by self-signed and CA-signed issuance. */
export interface CertificateOptions {
  /** Hours from `notBefore` to `notAfter` (the provider's `validityPeriodHours`). */
  validityPeriodHours: number;
  earlyRenewalHours?: number;
  /** snake_case names, as the provider takes them; anything else throws as the provider refuses it. */
  allowedUses?: readonly string[];
  isCaCertificate?: boolean;
  /** Like the provider (Go's MaxPathLen semantics): 0 and -1 both mean no limit. */
  maxPathLength?: number;
  setSubjectKeyId?: boolean;
  /** Test overrides: an expired or not-yet-valid certificate goes through the same code path. */
  notBefore?: Date;
  notAfter?: Date;
  /** The clock `readyForRenewal` is evaluated against; defaults to the current time. */
  now?: Date;
}

/** What a certificate is issued with (self-signed unless `issuer` is given). */
export interface IssueParams extends CertificateOptions {
  /** The subject's private key (PEM in a format the provider reads). */
  subjectKeyPem?: string;
  /** Or only its public key (SPKI PEM), when the private key is not at hand; needs `issuer`. */
  subjectPublicKeyPem?: string;
  /** A subject block, or an RFC 4514-style string such as `CN=dev CA, O=acme`. */
  subject?: Subject | string;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  uris?: readonly string[];
  /** Self-signed only: add an AuthorityKeyIdentifier equal to the subject key id. */
  setAuthorityKeyId?: boolean;
  issuer?: Issuer;
}

/** An issued certificate with the provider's computed attributes. */
export interface IssuedCertificate {
  /** The provider's resource id: the serial number in decimal. */
  id: string;
  certPem: string;
  validityStartTime: string;
  validityEndTime: string;
  readyForRenewal: boolean;
  /** Algorithm of the signing key (`keyAlgorithm` self-signed, `caKeyAlgorithm` CA-signed). */
  signerKeyAlgorithm: KeyAlgorithm;
}

/** What `tls.CertRequest` outputs, plus the provider's resource id. */
export interface CertRequest {
  id: string;
  certRequestPem: string;
  keyAlgorithm: KeyAlgorithm;
}

/** What a PKCS#10 request asks for, as the provider reads it. */
export interface CertRequestContents {
  subject: Subject;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  publicKey: KeyObject;
}

/** Parameters of `tls.LocallySignedCert`. */
export interface SignRequestParams extends CertificateOptions {
  certRequestPem: string;
  caCertPem: string;
  caPrivateKeyPem: string;
}

// ---------------------------------------------------------------------------------------------
// PEM and keys

/** PEM with 64-column base64 and a trailing newline, as Go's pem.EncodeToMemory writes it. */
export function pemEncode(type: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join("\n")}\n-----END ${type}-----\n`;
}

/** The first PEM block of a text, as Go's pem.Decode finds it (later blocks are ignored). */
export function firstPemBlock(text: string): { type: string; der: Buffer } | undefined {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (m === null) return undefined;
  // RFC 1421 headers (Proc-Type: ...) end at a blank line; keys with them are encrypted.
  const body = m[2].includes(":") ? m[2].slice(m[2].search(/\r?\n\r?\n/) + 1) : m[2];
  return { type: m[1], der: Buffer.from(body.replace(/\s+/g, ""), "base64") };
}

const KEY_PEM_TYPES: Readonly<Record<string, "pkcs1" | "sec1" | "pkcs8">> = {
  "RSA PRIVATE KEY": "pkcs1",
  "EC PRIVATE KEY": "sec1",
  "PRIVATE KEY": "pkcs8",
};

function algorithmOf(key: KeyObject): KeyAlgorithm {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return "RSA";
    case "ec":
      return "ECDSA";
    case "ed25519":
      return "ED25519";
    default:
      throw new Error(`offline tls: unsupported private key type ${String(key.asymmetricKeyType)}`);
  }
}

/** Parses a private key PEM as the provider does: PKCS#1, SEC 1 or PKCS#8, first block only. */
export function parsePrivateKeyPem(pem: string): { key: KeyObject; algorithm: KeyAlgorithm } {
  const block = firstPemBlock(pem);
  if (block === undefined) throw new Error("offline tls: Failed to parse private key PEM: no PEM block found");
  const type = KEY_PEM_TYPES[block.type];
  if (type === undefined) throw new Error(`offline tls: Failed to parse private key PEM: unsupported PEM preamble/type: ${block.type}`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.der, format: "der", type });
  } catch (e) {
    throw new Error(`offline tls: Failed to parse private key PEM given PEM preamble '${block.type}': ${e instanceof Error ? e.message : String(e)}`);
  }
  return { key, algorithm: algorithmOf(key) };
}

/** The curve of an ECDSA key in the provider's naming. */
function curveOf(key: KeyObject): EcdsaCurve {
  const named = key.asymmetricKeyDetails?.namedCurve;
  const curve = (Object.keys(CURVES) as EcdsaCurve[]).find((c) => CURVES[c].node === named);
  if (curve === undefined) throw new Error(`offline tls: unsupported ECDSA curve ${String(named)}`);
  return curve;
}

/** Go's strings.TrimSpace on the DER-as-string the provider hashes for its ids (ASCII space only). */
function hashForState(der: Buffer): string {
  let start = 0;
  let end = der.length;
  const space = (b: number): boolean => b === 0x20 || (b >= 0x09 && b <= 0x0d);
  while (start < end && space(der[start])) start++;
  while (end > start && space(der[end - 1])) end--;
  return end === start ? "" : createHash("sha1").update(der.subarray(start, end)).digest("hex");
}

function spkiOf(key: KeyObject): Buffer {
  return (key.type === "private" ? createPublicKey(key) : key).export({ format: "der", type: "spki" });
}

/** The subjectPublicKey BIT STRING octets of an SPKI (after the unused-bits octet). */
function spkiKeyBits(spki: Buffer): Buffer {
  const [, bits] = children(parseDer(spki));
  return bits.content.subarray(1);
}

/** The provider's generateSubjectKeyID: SHA-1 over Go's marshalled public key. */
function subjectKeyId(publicKey: KeyObject): Buffer {
  const bits = spkiKeyBits(spkiOf(publicKey));
  // RSA: PKCS#1 RSAPublicKey and ECDSA: the uncompressed point are exactly the BIT STRING
  // contents; for Ed25519 Go marshals the []byte key as an OCTET STRING.
  const marshalled = publicKey.asymmetricKeyType === "ed25519" ? octetString(bits) : bits;
  return createHash("sha1").update(marshalled).digest();
}

// --- OpenSSH -------------------------------------------------------------------------------

function sshString(b: Buffer | string): Buffer {
  const data = typeof b === "string" ? Buffer.from(b, "utf8") : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

function sshMpint(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return sshString(m.length > 0 && m[0] & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
}

const b64url = (s: string | undefined): Buffer => Buffer.from(s ?? "", "base64url");

/** SSH wire forms of a private key (public blob and private fields), or undefined where x/crypto/ssh has none. */
function sshParts(key: KeyObject): { type: string; publicBlob: Buffer; privateFields: Buffer } | undefined {
  const algorithm = algorithmOf(key);
  if (algorithm === "ECDSA") {
    const ssh = CURVES[curveOf(key)].ssh;
    if (ssh === undefined) return undefined;
    const jwk = key.export({ format: "jwk" });
    const point = Buffer.concat([Buffer.from([4]), b64url(jwk.x), b64url(jwk.y)]);
    const type = `ecdsa-sha2-${ssh}`;
    return { type, publicBlob: Buffer.concat([sshString(type), sshString(ssh), sshString(point)]), privateFields: Buffer.concat([sshString(ssh), sshString(point), sshMpint(b64url(jwk.d))]) };
  }
  const jwk = key.export({ format: "jwk" });
  if (algorithm === "RSA") {
    const [n, e] = [b64url(jwk.n), b64url(jwk.e)];
    return {
      type: "ssh-rsa",
      publicBlob: Buffer.concat([sshString("ssh-rsa"), sshMpint(e), sshMpint(n)]),
      // x/crypto/ssh's openSSHRSAPrivateKey order: N, E, D, Iqmp, P, Q.
      privateFields: Buffer.concat([n, e, b64url(jwk.d), b64url(jwk.qi), b64url(jwk.p), b64url(jwk.q)].map(sshMpint)),
    };
  }
  const pub = b64url(jwk.x);
  return { type: "ssh-ed25519", publicBlob: Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]), privateFields: Buffer.concat([sshString(pub), sshString(Buffer.concat([b64url(jwk.d), pub]))]) };
}

/** `ssh.MarshalPrivateKey(key, "")`: an unencrypted openssh-key-v1 PEM. */
function opensshPrivateKey(parts: { type: string; publicBlob: Buffer; privateFields: Buffer }): string {
  const check = randomBytes(4);
  let block = Buffer.concat([check, check, sshString(parts.type), parts.privateFields, sshString("")]);
  const padding: number[] = [];
  for (let i = 1; (block.length + padding.length) % 8 !== 0; i++) padding.push(i);
  block = Buffer.concat([block, Buffer.from(padding)]);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(1);
  const body = Buffer.concat([Buffer.from("openssh-key-v1\0", "binary"), sshString("none"), sshString("none"), sshString(""), count, sshString(parts.publicBlob), sshString(block)]);
  return pemEncode("OPENSSH PRIVATE KEY", body);
}

function md5Fingerprint(blob: Buffer): string {
  return (createHash("md5").update(blob).digest("hex").match(/../g) ?? []).join(":");
}

function sha256Fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** Every attribute `tls.PrivateKey` computes from a key, as the provider encodes them. */
export function describePrivateKey(key: KeyObject, inputs: { ecdsaCurve?: EcdsaCurve; rsaBits?: number } = {}): GeneratedKey {
  const algorithm = algorithmOf(key);
  const pemType = algorithm === "RSA" ? "pkcs1" : algorithm === "ECDSA" ? "sec1" : "pkcs8";
  const spki = spkiOf(key);
  const ssh = sshParts(key);
  return {
    id: hashForState(spki),
    algorithm,
    ecdsaCurve: algorithm === "ECDSA" ? curveOf(key) : (inputs.ecdsaCurve ?? "P224"),
    rsaBits: algorithm === "RSA" ? (key.asymmetricKeyDetails?.modulusLength ?? 0) : (inputs.rsaBits ?? 2048),
    privateKeyPem: key.export({ format: "pem", type: pemType }).toString(),
    privateKeyPemPkcs8: key.export({ format: "pem", type: "pkcs8" }).toString(),
    publicKeyPem: pemEncode("PUBLIC KEY", spki),
    privateKeyOpenssh: ssh !== undefined ? opensshPrivateKey(ssh) : "",
    publicKeyOpenssh: ssh !== undefined ? `${ssh.type} ${ssh.publicBlob.toString("base64")}\n` : "",
    publicKeyFingerprintMd5: ssh !== undefined ? md5Fingerprint(ssh.publicBlob) : "",
    publicKeyFingerprintSha256: ssh !== undefined ? sha256Fingerprint(ssh.publicBlob) : "",
  };
}

/**
 * Generates a private key as `tls.PrivateKey` does. Defaults are the provider's: P224 for
 * ECDSA, 2048 bits for RSA.
 */
export function generatePrivateKey(algorithm: string, opts: { ecdsaCurve?: string; rsaBits?: number } = {}): GeneratedKey {
  const curveName = opts.ecdsaCurve ?? "P224";
  const rsaBits = opts.rsaBits ?? 2048;
  if (!ALGORITHMS.includes(algorithm as KeyAlgorithm)) throw new Error(`offline tls: algorithm must be one of ${ALGORITHMS.join(", ")}, got ${JSON.stringify(algorithm)}`);
  if (!(curveName in CURVES)) throw new Error(`offline tls: ecdsaCurve must be one of ${Object.keys(CURVES).join(", ")}, got ${JSON.stringify(curveName)}`);
  const ecdsaCurve = curveName as EcdsaCurve;
  let key: KeyObject;
  if (algorithm === "RSA") {
    // Go 1.24+ (the provider's runtime) refuses to generate RSA keys below 1024 bits.
    if (!Number.isInteger(rsaBits) || rsaBits < 1024) throw new Error(`offline tls: Unable to generate Key from configuration: crypto/rsa: ${rsaBits}-bit keys are insecure`);
    key = generateKeyPairSync("rsa", { modulusLength: rsaBits, publicExponent: 0x10001 }).privateKey;
  } else if (algorithm === "ECDSA") {
    key = generateKeyPairSync("ec", { namedCurve: CURVES[ecdsaCurve].node }).privateKey;
  } else {
    key = generateKeyPairSync("ed25519").privateKey;
  }
  return describePrivateKey(key, { ecdsaCurve, rsaBits });
}

// ---------------------------------------------------------------------------------------------
// Names and extensions

function emptyName(): GoName {
  return { country: [], province: [], locality: [], streetAddress: [], postalCode: [], organization: [], organizationalUnit: [], commonName: "", serialNumber: "" };
}

/** The provider's createSubjectDistinguishedNames: set fields become one-value lists. */
function goName(s: Subject | undefined): GoName {
  const n = emptyName();
  if (s === undefined) return n;
  const one = (v: string | undefined): string[] => (typeof v === "string" ? [v] : []);
  n.commonName = s.commonName ?? "";
  n.organization = one(s.organization);
  n.organizationalUnit = one(s.organizationalUnit);
  n.streetAddress = [...(s.streetAddresses ?? [])];
  n.locality = one(s.locality);
  n.province = one(s.province);
  n.country = one(s.country);
  n.postalCode = one(s.postalCode);
  n.serialNumber = s.serialNumber ?? "";
  if (typeof s.emailAddress === "string") n.emailAddress = s.emailAddress;
  return n;
}

const DN_KEYS: Readonly<Record<string, keyof Subject>> = {
  CN: "commonName",
  O: "organization",
  OU: "organizationalUnit",
  STREET: "streetAddresses",
  L: "locality",
  ST: "province",
  C: "country",
  POSTALCODE: "postalCode",
  "2.5.4.17": "postalCode",
  SERIALNUMBER: "serialNumber",
  "2.5.4.5": "serialNumber",
  E: "emailAddress",
  EMAILADDRESS: "emailAddress",
};

/** Reads an RFC 4514-style string (`CN=x, O=y`) into a subject block. */
export function parseSubjectString(dn: string): Subject {
  const subject: Subject = {};
  for (const part of dn.split(/(?<!\\)[,+]/)) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    const key = DN_KEYS[part.slice(0, eq).trim().toUpperCase()];
    if (eq < 0 || key === undefined) throw new Error(`offline tls: unsupported subject attribute in ${JSON.stringify(dn)}`);
    const value = part.slice(eq + 1).trim().replace(/\\(.)/g, "$1");
    if (key === "streetAddresses") subject.streetAddresses = [...(subject.streetAddresses ?? []), value];
    else subject[key] = value;
  }
  return subject;
}

/** Go's asn1 string choice: PrintableString when every character allows it, else UTF8String. */
function directoryString(v: string): Buffer {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(v) ? tlv(0x13, Buffer.from(v, "ascii")) : tlv(0x0c, Buffer.from(v, "utf8"));
}

/** pkix.Name.ToRDNSequence: C, ST, L, STREET, PC, O, OU, CN, SERIALNUMBER, then extra names. */
function encodeName(n: GoName): Buffer {
  const rdns: Buffer[] = [];
  const add = (type: string, values: readonly string[]): void => {
    if (values.length > 0) rdns.push(setOf(values.map((v) => sequence(oid(type), directoryString(v)))));
  };
  add(OID.country, n.country);
  add(OID.province, n.province);
  add(OID.locality, n.locality);
  add(OID.streetAddress, n.streetAddress);
  add(OID.postalCode, n.postalCode);
  add(OID.organization, n.organization);
  add(OID.organizationalUnit, n.organizationalUnit);
  if (n.commonName.length > 0) add(OID.commonName, [n.commonName]);
  if (n.serialNumber.length > 0) add(OID.serialNumber, [n.serialNumber]);
  if (n.emailAddress !== undefined) rdns.push(setOf([sequence(oid(OID.emailAddress), tlv(0x16, Buffer.from(n.emailAddress, "ascii")))]));
  return sequence(...rdns);
}

/** pkix.Name.FillFromRDNSequence: the attributes Go knows; others (email included) are dropped. */
function decodeName(node: DerNode): GoName {
  const n = emptyName();
  for (const rdn of children(node)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      const v = readString(value);
      if (v === undefined) continue;
      switch (readOid(type)) {
        case OID.commonName: n.commonName = v; break;
        case OID.serialNumber: n.serialNumber = v; break;
        case OID.country: n.country.push(v); break;
        case OID.locality: n.locality.push(v); break;
        case OID.province: n.province.push(v); break;
        case OID.streetAddress: n.streetAddress.push(v); break;
        case OID.organization: n.organization.push(v); break;
        case OID.organizationalUnit: n.organizationalUnit.push(v); break;
        case OID.postalCode: n.postalCode.push(v); break;
        default: break;
      }
    }
  }
  return n;
}

function subjectOf(n: GoName): Subject {
  const s: Subject = {};
  const last = (v: string[]): string | undefined => (v.length > 0 ? v[v.length - 1] : undefined);
  if (n.commonName) s.commonName = n.commonName;
  if (n.organization.length) s.organization = last(n.organization);
  if (n.organizationalUnit.length) s.organizationalUnit = last(n.organizationalUnit);
  if (n.streetAddress.length) s.streetAddresses = [...n.streetAddress];
  if (n.locality.length) s.locality = last(n.locality);
  if (n.province.length) s.province = last(n.province);
  if (n.country.length) s.country = last(n.country);
  if (n.postalCode.length) s.postalCode = last(n.postalCode);
  if (n.serialNumber) s.serialNumber = n.serialNumber;
  return s;
}

/** net.ParseIP, reduced with To4() as Go's marshalSANs does. */
function parseIp(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split(".").map(Number));
  if (!isIPv6(ip)) throw new Error(`offline tls: Invalid IP address: Failed to parse ${JSON.stringify(ip)}`);
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    const b = v4[1].split(".").map(Number);
    text = `${text.slice(0, v4.index)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const groups = (s: string | undefined): string[] => (s === undefined || s === "" ? [] : s.split(":"));
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  const mapped = out.subarray(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff;
  return mapped ? out.subarray(12) : out;
}

function formatIp(b: Buffer): string {
  if (b.length === 4) return [...b].join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

function sansOf(p: { dnsNames?: readonly string[]; ipAddresses?: readonly string[]; uris?: readonly string[] }): Sans {
  for (const d of p.dnsNames ?? []) if (!/^[\x00-\x7f]*$/.test(d)) throw new Error(`offline tls: x509: ${JSON.stringify(d)} cannot be encoded as an IA5String`);
  for (const u of p.uris ?? []) if (u.length === 0) throw new Error("offline tls: uris elements must not be empty");
  return { dnsNames: [...(p.dnsNames ?? [])], ipAddresses: (p.ipAddresses ?? []).map(parseIp), uris: [...(p.uris ?? [])] };
}

function hasSans(s: Sans): boolean {
  return s.dnsNames.length + s.ipAddresses.length + s.uris.length > 0;
}

/** Go's marshalSANs: DNS names, then IPs, then URIs. */
function encodeSans(s: Sans): Buffer {
  return sequence(
    ...s.dnsNames.map((d) => contextPrimitive(2, Buffer.from(d, "ascii"))),
    ...s.ipAddresses.map((ip) => contextPrimitive(7, ip)),
    ...s.uris.map((u) => contextPrimitive(6, Buffer.from(u, "utf8"))),
  );
}

function decodeSans(value: Buffer): Sans {
  const s: Sans = { dnsNames: [], ipAddresses: [], uris: [] };
  for (const n of children(parseDer(value))) {
    if (n.tag === 0x82) s.dnsNames.push(n.content.toString("ascii"));
    else if (n.tag === 0x87) s.ipAddresses.push(Buffer.from(n.content));
    else if (n.tag === 0x86) s.uris.push(n.content.toString("utf8"));
  }
  return s;
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

/** Go's marshalKeyUsage: bit 0 is the most significant, trailing zero bits trimmed. */
function encodeKeyUsage(bits: number): Buffer {
  const rev = (b: number): number => parseInt(b.toString(2).padStart(8, "0").split("").reverse().join(""), 2);
  const bytes = [rev(bits & 0xff), rev((bits >> 8) & 0xff)];
  const octets = Buffer.from(bytes[1] !== 0 ? bytes : bytes.slice(0, 1));
  let unused = 0;
  const lastByte = octets[octets.length - 1];
  if (lastByte === 0) unused = 0;
  else while (((lastByte >> unused) & 1) === 0) unused++;
  return bitString(octets, unused);
}

function validateUses(uses: readonly string[]): void {
  uses.forEach((u, i) => {
    if (!SUPPORTED_USES.includes(u)) {
      throw new Error(`offline tls: Attribute allowed_uses[${i}] value must be one of: [${SUPPORTED_USES.map((x) => JSON.stringify(x)).join(" ")}], got: ${JSON.stringify(u)}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Signing

interface Signer {
  key: KeyObject;
  algorithm: KeyAlgorithm;
  /** AlgorithmIdentifier of the signature, as Go's signingParamsForKey picks it. */
  algorithmId: Buffer;
  sign(data: Buffer): Buffer;
}

function signerFor(key: KeyObject): Signer {
  const algorithm = algorithmOf(key);
  if (algorithm === "RSA") {
    return { key, algorithm, algorithmId: sequence(oid("1.2.840.113549.1.1.11"), nullValue()), sign: (d) => sign("sha256", d, key) };
  }
  if (algorithm === "ECDSA") {
    const { hash, signatureOid } = CURVES[curveOf(key)];
    return { key, algorithm, algorithmId: sequence(oid(signatureOid)), sign: (d) => sign(hash, d, key) };
  }
  return { key, algorithm, algorithmId: sequence(oid("1.3.101.112")), sign: (d) => sign(null, d, key) };
}

/** The parts of a CA certificate that issuing under it needs. */
interface ParsedCa {
  rawSubject: Buffer;
  subjectKeyId?: Buffer;
  publicKey: KeyObject;
}

/** The provider's parseCertificate: the first PEM block, which must be a CERTIFICATE. */
function parseCaCertificate(pem: string): ParsedCa {
  const block = firstPemBlock(pem);
  if (block === undefined) throw new Error(`offline tls: Failed to parse CA certificate PEM: failed to decode PEM of expected type "CERTIFICATE" from bytes`);
  if (block.type !== "CERTIFICATE") throw new Error(`offline tls: Failed to parse CA certificate PEM: invalid PEM type - expected "CERTIFICATE", got ${JSON.stringify(block.type)}`);
  let publicKey: KeyObject;
  let tbs: DerNode[];
  try {
    publicKey = new X509Certificate(block.der).publicKey;
    tbs = children(children(parseDer(block.der))[0]);
  } catch (e) {
    throw new Error(`offline tls: Failed to parse CA certificate PEM: ${e instanceof Error ? e.message : String(e)}`);
  }
  const fields = tbs[0].tag === 0xa0 ? tbs.slice(1) : tbs;
  // serial, signature, issuer, validity, subject, spki, then optional [1] [2] [3].
  const rawSubject = Buffer.from(fields[4].raw);
  let subjectKeyId: Buffer | undefined;
  const exts = fields.find((f) => f.tag === 0xa3);
  for (const ext of exts !== undefined ? children(children(exts)[0]) : []) {
    const parts = children(ext);
    if (readOid(parts[0]) === OID.subjectKeyId) subjectKeyId = Buffer.from(parseDer(parts[parts.length - 1].content).content);
  }
  return { rawSubject, subjectKeyId, publicKey };
}

/** RFC 3339 as Go's time.MarshalText writes it: fractional seconds without trailing zeros. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac.length > 0 ? `.${frac}Z` : "Z"));
}

/** The provider's renewal rule: due once `now` is within `earlyRenewalHours` of the end (or past it). */
export function isReadyForRenewal(validityEndTime: string | Date, earlyRenewalHours: number, now: Date = new Date()): boolean {
  const end = typeof validityEndTime === "string" ? Date.parse(validityEndTime) : validityEndTime.getTime();
  return now.getTime() >= end - earlyRenewalHours * 3600_000;
}

function checkNumber(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new Error(`offline tls: Attribute ${name} value must be an integer at least ${min}, got: ${v}`);
}

/** The provider's createCertificate (common to self-signed and CA-signed certificates). */
function createCertificate(p: {
  subject: GoName;
  sans: Sans;
  publicKey: KeyObject;
  signer: Signer;
  parent?: ParsedCa;
  options: CertificateOptions & { setAuthorityKeyId?: boolean };
}): IssuedCertificate {
  const o = p.options;
  checkNumber("validity_period_hours", o.validityPeriodHours, 0);
  checkNumber("early_renewal_hours", o.earlyRenewalHours, 0);
  checkNumber("max_path_length", o.maxPathLength, -1);
  const uses = o.allowedUses ?? [];
  validateUses(uses);

  const now = new Date();
  const notBefore = o.notBefore ?? now;
  const notAfter = o.notAfter ?? new Date(notBefore.getTime() + o.validityPeriodHours * 3600_000);
  const serial = BigInt(`0x${randomBytes(16).toString("hex")}`);

  const subjectDer = encodeName(p.subject);
  const isCa = o.isCaCertificate === true;
  if (isCa && subjectDer.length === 2) throw new Error("offline tls: Invalid Certificate Subject: Must contain at least one Distinguished Name when creating Certificate Authority (CA)");
  const ownKeyId = isCa || o.setSubjectKeyId === true ? subjectKeyId(p.publicKey) : undefined;

  let issuerDer = subjectDer;
  let authorityKeyId: Buffer | undefined;
  if (p.parent !== undefined) {
    if (!createPublicKey(p.signer.key).equals(p.parent.publicKey)) {
      throw new Error("offline tls: Failed to create certificate: x509: provided PrivateKey doesn't match parent's PublicKey (caPrivateKeyPem is not the key of caCertPem)");
    }
    issuerDer = p.parent.rawSubject;
    // Go takes the AKI from the parent's SKI whenever issuer and subject differ.
    if (!issuerDer.equals(subjectDer) && p.parent.subjectKeyId !== undefined) authorityKeyId = p.parent.subjectKeyId;
  } else if (o.setAuthorityKeyId === true) {
    if (ownKeyId === undefined) throw new Error("offline tls: Invalid Certificate Authority: Could not determine Authority Key Identifier (set setSubjectKeyId or isCaCertificate)");
    authorityKeyId = ownKeyId;
  }

  // Go's buildCertExtensions order and criticality.
  const extensions: Buffer[] = [];
  const keyUsage = uses.reduce((acc, u) => (u in KEY_USAGES ? acc | (1 << KEY_USAGES[u]) : acc), 0);
  if (keyUsage !== 0) extensions.push(extension(OID.keyUsage, true, encodeKeyUsage(keyUsage)));
  const eku = uses.filter((u) => u in EXTENDED_KEY_USAGES).map((u) => oid(EXTENDED_KEY_USAGES[u]));
  if (eku.length > 0) extensions.push(extension(OID.extKeyUsage, false, sequence(...eku)));
  // MaxPathLen 0 without MaxPathLenZero means "unset" in Go, and the provider never sets the latter.
  const pathLen = isCa && o.maxPathLength !== undefined && o.maxPathLength > 0 ? [integer(o.maxPathLength)] : [];
  extensions.push(extension(OID.basicConstraints, true, sequence(...(isCa ? [boolean(true)] : []), ...pathLen)));
  if (ownKeyId !== undefined) extensions.push(extension(OID.subjectKeyId, false, octetString(ownKeyId)));
  if (authorityKeyId !== undefined) extensions.push(extension(OID.authorityKeyId, false, sequence(contextPrimitive(0, authorityKeyId))));
  if (hasSans(p.sans)) extensions.push(extension(OID.subjectAltName, subjectDer.length === 2, encodeSans(p.sans)));

  const tbs = sequence(
    contextConstructed(0, integer(2)),
    integer(serial),
    p.signer.algorithmId,
    issuerDer,
    sequence(time(notBefore), time(notAfter)),
    subjectDer,
    spkiOf(p.publicKey),
    contextConstructed(3, sequence(...extensions)),
  );
  const der = sequence(tbs, p.signer.algorithmId, bitString(p.signer.sign(tbs)));
  const validityEndTime = rfc3339(notAfter);
  return {
    id: serial.toString(10),
    certPem: pemEncode("CERTIFICATE", der),
    validityStartTime: rfc3339(notBefore),
    validityEndTime,
    readyForRenewal: isReadyForRenewal(notAfter, o.earlyRenewalHours ?? 0, o.now ?? now),
    signerKeyAlgorithm: p.signer.algorithm,
  };
}

/**
 * Issues a real certificate with the provider's encoding and computed attributes: self-signed
 * (`tls.SelfSignedCert`) unless `issuer` is given, then signed by that CA as
 * `tls.LocallySignedCert` would sign a request for the same subject.
 */
export async function issueCertificate(p: IssueParams): Promise<IssuedCertificate> {
  const subjectKey = p.subjectKeyPem !== undefined ? parsePrivateKeyPem(p.subjectKeyPem).key : undefined;
  const publicKey = subjectKey !== undefined ? createPublicKey(subjectKey) : p.subjectPublicKeyPem !== undefined ? createPublicKey(p.subjectPublicKeyPem) : undefined;
  if (publicKey === undefined) throw new Error("offline tls: issueCertificate needs subjectKeyPem or subjectPublicKeyPem");
  const subject = goName(typeof p.subject === "string" ? parseSubjectString(p.subject) : p.subject);
  const sans = sansOf(p);
  if (p.issuer === undefined) {
    if (subjectKey === undefined) throw new Error("offline tls: a self-signed certificate needs subjectKeyPem");
    return createCertificate({ subject, sans, publicKey, signer: signerFor(subjectKey), options: p });
  }
  const parent = parseCaCertificate(p.issuer.certPem);
  return createCertificate({ subject, sans, publicKey, signer: signerFor(parsePrivateKeyPem(p.issuer.keyPem).key), parent, options: p });
}

/** A real PKCS#10 request signed by the key, as Go's CreateCertificateRequest writes it. */
export async function createCertRequest(p: { privateKeyPem: string; subject?: Subject | string; dnsNames?: readonly string[]; ipAddresses?: readonly string[]; uris?: readonly string[] }): Promise<CertRequest> {
  const { key, algorithm } = parsePrivateKeyPem(p.privateKeyPem);
  const signer = signerFor(key);
  const sans = sansOf(p);
  const attributes = hasSans(sans) ? [sequence(oid(OID.extensionRequest), setOf([sequence(extension(OID.subjectAltName, false, encodeSans(sans)))]))] : [];
  const info = sequence(integer(0), encodeName(goName(typeof p.subject === "string" ? parseSubjectString(p.subject) : p.subject)), spkiOf(key), contextConstructed(0, ...attributes));
  const der = sequence(info, signer.algorithmId, bitString(signer.sign(info)));
  return { id: hashForState(der), certRequestPem: pemEncode("CERTIFICATE REQUEST", der), keyAlgorithm: algorithm };
}

function parseRequest(pem: string): { subject: GoName; sans: Sans; publicKey: KeyObject } {
  const block = firstPemBlock(pem);
  if (block === undefined) throw new Error(`offline tls: Failed to parse certificate request PEM: failed to decode PEM of expected type "CERTIFICATE REQUEST" from bytes`);
  if (block.type !== "CERTIFICATE REQUEST") throw new Error(`offline tls: Failed to parse certificate request PEM: invalid PEM type - expected "CERTIFICATE REQUEST", got ${JSON.stringify(block.type)}`);
  try {
    const [info] = children(parseDer(block.der));
    const [, subject, spki, attributes] = children(info);
    let sans: Sans = { dnsNames: [], ipAddresses: [], uris: [] };
    for (const attr of attributes !== undefined && attributes.tag === 0xa0 ? children(attributes) : []) {
      const [type, values] = children(attr);
      if (readOid(type) !== OID.extensionRequest) continue;
      for (const exts of children(values)) {
        for (const ext of children(exts)) {
          const parts = children(ext);
          if (readOid(parts[0]) === OID.subjectAltName) sans = decodeSans(parts[parts.length - 1].content);
        }
      }
    }
    return { subject: decodeName(subject), sans, publicKey: createPublicKey({ key: Buffer.from(spki.raw), format: "der", type: "spki" }) };
  } catch (e) {
    throw new Error(`offline tls: Failed to parse certificate request PEM: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Reads a PKCS#10 request the way the provider does (its signature is not checked, as in Go). */
export function readCertRequest(pem: string): CertRequestContents {
  const r = parseRequest(pem);
  return { subject: subjectOf(r.subject), dnsNames: r.sans.dnsNames, ipAddresses: r.sans.ipAddresses.map(formatIp), uris: r.sans.uris, publicKey: r.publicKey };
}

/**
 * Signs a request with a CA as `tls.LocallySignedCert` does: subject, DNS names, IPs and URIs
 * from the request; issuer and AuthorityKeyIdentifier from the CA certificate.
 */
export async function signCertRequest(p: SignRequestParams): Promise<IssuedCertificate> {
  const req = parseRequest(p.certRequestPem);
  const signer = signerFor(parsePrivateKeyPem(p.caPrivateKeyPem).key);
  const parent = parseCaCertificate(p.caCertPem);
  return createCertificate({ subject: req.subject, sans: req.sans, publicKey: req.publicKey, signer, parent, options: p });
}

// ---------------------------------------------------------------------------------------------
// The table

/** An input that is present but not (yet) a usable value: unknown during a preview. */
const PENDING: unique symbol = Symbol("pending input");
type Read<T> = T | undefined | typeof PENDING;

const isString = (v: unknown): v is string => typeof v === "string" && v !== UNKNOWN;
const isNumber = (v: unknown): v is number => typeof v === "number";
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
const SUBJECT_KEYS: readonly (keyof Subject)[] = ["commonName", "organization", "organizationalUnit", "streetAddresses", "locality", "province", "country", "postalCode", "serialNumber", "emailAddress"];
function isSubject(v: unknown): v is Subject {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return SUBJECT_KEYS.every((k) => o[k] === undefined || (k === "streetAddresses" ? isStrings(o[k]) : isString(o[k])));
}

function read<T>(inputs: Record<string, unknown>, key: string, guard: (v: unknown) => v is T): Read<T> {
  const v = inputs[key];
  if (v === undefined || v === null) return undefined;
  return guard(v) ? v : PENDING;
}

/** Drops null members (absent attributes of a subject block). */
function subjectInput(inputs: Record<string, unknown>): Read<Subject> {
  const v = inputs.subject;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) return PENDING;
  const cleaned = Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null && x !== undefined));
  return isSubject(cleaned) ? cleaned : PENDING;
}

/** A private key given as `<name>` or its write-only twin `<name>Wo` (exactly one of them). */
function keyInput(reg: MockRegistration, name: string): Read<string> {
  const plain = read(reg.inputs, name, isString);
  const wo = read(reg.inputs, `${name}Wo`, isString);
  if (plain !== undefined && wo !== undefined) throw new Error(`offline tls: ${reg.name}: exactly one of ${name} or ${name}Wo must be set`);
  if (wo !== undefined && reg.inputs[`${name}WoVersion`] === undefined) throw new Error(`offline tls: ${reg.name}: ${name}Wo requires ${name}WoVersion`);
  return plain ?? wo;
}

function known<T>(v: Read<T>): v is T | undefined {
  return v !== PENDING;
}

/** The computed defaults both certificate resources share, merged over whatever is known. */
function certDefaults(reg: MockRegistration): Record<string, unknown> {
  const d = (key: string, value: unknown): Record<string, unknown> => (reg.inputs[key] === undefined || reg.inputs[key] === null ? { [key]: value } : {});
  return { ...d("earlyRenewalHours", 0), ...d("isCaCertificate", false), ...d("setSubjectKeyId", false), readyForRenewal: false };
}

function certOptions(reg: MockRegistration): Read<CertificateOptions & { setAuthorityKeyId?: boolean }> {
  const validityPeriodHours = read(reg.inputs, "validityPeriodHours", isNumber);
  const allowedUses = read(reg.inputs, "allowedUses", isStrings);
  const earlyRenewalHours = read(reg.inputs, "earlyRenewalHours", isNumber);
  const isCaCertificate = read(reg.inputs, "isCaCertificate", isBool);
  const maxPathLength = read(reg.inputs, "maxPathLength", isNumber);
  const setSubjectKeyId = read(reg.inputs, "setSubjectKeyId", isBool);
  const setAuthorityKeyId = read(reg.inputs, "setAuthorityKeyId", isBool);
  // Known values are checked even when the certificate cannot be made yet, as the provider validates at plan time.
  if (known(allowedUses) && allowedUses !== undefined) validateUses(allowedUses);
  if (validityPeriodHours === undefined || validityPeriodHours === PENDING || allowedUses === undefined || allowedUses === PENDING) return PENDING;
  if (!known(earlyRenewalHours) || !known(isCaCertificate) || !known(maxPathLength) || !known(setSubjectKeyId) || !known(setAuthorityKeyId)) return PENDING;
  return { validityPeriodHours, allowedUses, earlyRenewalHours, isCaCertificate, maxPathLength, setSubjectKeyId, setAuthorityKeyId };
}

/** Mock outputs for the `tls` provider's resources, computed as the provider computes them. */
export const tlsOutputs: OutputTable = {
  "tls:index/privateKey:PrivateKey": (reg) => {
    const algorithm = read(reg.inputs, "algorithm", isString);
    const ecdsaCurve = read(reg.inputs, "ecdsaCurve", isString);
    const rsaBits = read(reg.inputs, "rsaBits", isNumber);
    const defaults = { ...(ecdsaCurve === undefined ? { ecdsaCurve: "P224" } : {}), ...(rsaBits === undefined ? { rsaBits: 2048 } : {}) };
    if (algorithm === undefined || algorithm === PENDING || ecdsaCurve === PENDING || rsaBits === PENDING) return { state: defaults };
    const { id, ...key } = generatePrivateKey(algorithm, { ecdsaCurve, rsaBits });
    return { id, state: { ...key } };
  },

  "tls:index/selfSignedCert:SelfSignedCert": async (reg) => {
    const keyPem = keyInput(reg, "privateKeyPem");
    const state: Record<string, unknown> = { ...certDefaults(reg), ...(reg.inputs.setAuthorityKeyId == null ? { setAuthorityKeyId: false } : {}) };
    if (keyPem === undefined || keyPem === PENDING) return { state };
    state.keyAlgorithm = parsePrivateKeyPem(keyPem).algorithm;
    const options = certOptions(reg);
    const subject = subjectInput(reg.inputs);
    const dnsNames = read(reg.inputs, "dnsNames", isStrings);
    const ipAddresses = read(reg.inputs, "ipAddresses", isStrings);
    const uris = read(reg.inputs, "uris", isStrings);
    if (options === PENDING || options === undefined || !known(subject) || !known(dnsNames) || !known(ipAddresses) || !known(uris)) return { state };
    const cert = await issueCertificate({ ...options, subjectKeyPem: keyPem, subject, dnsNames, ipAddresses, uris });
    return { id: cert.id, state: { ...state, certPem: cert.certPem, validityStartTime: cert.validityStartTime, validityEndTime: cert.validityEndTime, readyForRenewal: cert.readyForRenewal, keyAlgorithm: cert.signerKeyAlgorithm } };
  },

  "tls:index/certRequest:CertRequest": async (reg) => {
    const keyPem = keyInput(reg, "privateKeyPem");
    if (keyPem === undefined || keyPem === PENDING) return { state: {} };
    const keyAlgorithm = parsePrivateKeyPem(keyPem).algorithm;
    const subject = subjectInput(reg.inputs);
    const dnsNames = read(reg.inputs, "dnsNames", isStrings);
    const ipAddresses = read(reg.inputs, "ipAddresses", isStrings);
    const uris = read(reg.inputs, "uris", isStrings);
    if (!known(subject) || !known(dnsNames) || !known(ipAddresses) || !known(uris)) return { state: { keyAlgorithm } };
    const csr = await createCertRequest({ privateKeyPem: keyPem, subject, dnsNames, ipAddresses, uris });
    return { id: csr.id, state: { certRequestPem: csr.certRequestPem, keyAlgorithm: csr.keyAlgorithm } };
  },

  "tls:index/locallySignedCert:LocallySignedCert": async (reg) => {
    const caKeyPem = keyInput(reg, "caPrivateKeyPem");
    const caCertPem = read(reg.inputs, "caCertPem", isString);
    const certRequestPem = read(reg.inputs, "certRequestPem", isString);
    const state = certDefaults(reg);
    if (caKeyPem !== undefined && caKeyPem !== PENDING) state.caKeyAlgorithm = parsePrivateKeyPem(caKeyPem).algorithm;
    const options = certOptions(reg);
    if (typeof caKeyPem !== "string" || typeof caCertPem !== "string" || typeof certRequestPem !== "string" || options === PENDING || options === undefined) return { state };
    const cert = await signCertRequest({ ...options, certRequestPem, caCertPem, caPrivateKeyPem: caKeyPem });
    return { id: cert.id, state: { ...state, certPem: cert.certPem, validityStartTime: cert.validityStartTime, validityEndTime: cert.validityEndTime, readyForRenewal: cert.readyForRenewal, caKeyAlgorithm: cert.signerKeyAlgorithm } };
  },
};
