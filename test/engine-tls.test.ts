/**
 * The offline `@pulumi/tls`: the table functions, driven with the registrations the PKI
 * component makes, must issue keys and certificates that Node's own X.509 and TLS stack (and
 * @peculiar/x509 as a second, independent parser) accept exactly as the real provider's would.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto, X509Certificate } from "node:crypto";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import { before, describe, it } from "node:test";
import * as px509 from "@peculiar/x509";
import { describePrivateKey, firstPemBlock, generatePrivateKey, isReadyForRenewal, issueCertificate, readCertRequest, signCertRequest, tlsOutputs } from "../offline/outputs/tls";
import type { MockContext, MockOutputs } from "../offline/outputs/types";
import { UNKNOWN } from "../offline/values";

px509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof px509.cryptoProvider.set>[0]);

const ctx: MockContext = { stack: "dev-01", project: "sovereign-observability", organization: "organization" };
const T = {
  key: "tls:index/privateKey:PrivateKey",
  selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
  csr: "tls:index/certRequest:CertRequest",
  signed: "tls:index/locallySignedCert:LocallySignedCert",
} as const;

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const HOUR = 3600_000;

async function run(type: string, name: string, inputs: Record<string, unknown>): Promise<MockOutputs> {
  const fn = tlsOutputs[type];
  assert.ok(fn !== undefined, `no table entry for ${type}`);
  return fn({ type, name, inputs, providerInputs: {} }, ctx);
}

function str(out: MockOutputs, key: string): string {
  const v = out.state[key];
  assert.equal(typeof v, "string", `${key} should be a string`);
  return v as string;
}

interface Ca {
  keyPem: string;
  certPem: string;
  cert: X509Certificate;
}

/** A CA exactly as components/pki CertificateAuthority registers it. */
async function makeCa(commonName: string): Promise<Ca> {
  const key = await run(T.key, `${commonName}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" });
  const cert = await run(T.selfSigned, `${commonName}-cert`, {
    privateKeyPem: str(key, "privateKeyPem"),
    subject: { commonName, organization: "sovereign-observability" },
    isCaCertificate: true,
    validityPeriodHours: 8760,
    earlyRenewalHours: 720,
    allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
    setSubjectKeyId: true,
  });
  return { keyPem: str(key, "privateKeyPem"), certPem: str(cert, "certPem"), cert: new X509Certificate(str(cert, "certPem")) };
}

interface Leaf {
  keyPem: string;
  certPem: string;
  cert: X509Certificate;
  outputs: MockOutputs;
}

/** A leaf exactly as components/pki Certificate registers it: key, CSR, CA signature. */
async function makeLeaf(ca: Ca, name: string, o: { dnsNames?: string[]; ipAddresses?: string[]; uses: string[]; validityPeriodHours?: number; earlyRenewalHours?: number }): Promise<Leaf> {
  const key = await run(T.key, `${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" });
  const csr = await run(T.csr, `${name}-csr`, { privateKeyPem: str(key, "privateKeyPem"), subject: { commonName: name, organization: "sovereign-observability" }, dnsNames: o.dnsNames, ipAddresses: o.ipAddresses });
  const outputs = await run(T.signed, `${name}-cert`, {
    certRequestPem: str(csr, "certRequestPem"),
    caPrivateKeyPem: ca.keyPem,
    caCertPem: ca.certPem,
    validityPeriodHours: o.validityPeriodHours ?? 2160,
    earlyRenewalHours: o.earlyRenewalHours ?? 360,
    allowedUses: o.uses,
  });
  return { keyPem: str(key, "privateKeyPem"), certPem: str(outputs, "certPem"), cert: new X509Certificate(str(outputs, "certPem")), outputs };
}

function ext<T extends px509.Extension>(pem: string, type: new (raw: ArrayBuffer) => T): T | null {
  return new px509.X509Certificate(pem).getExtension(type);
}

/** One TLS connection between an mTLS server and a client; `ok` when the client got the server's greeting. */
async function handshake(
  server: { key: string; cert: string; ca: string },
  client: { key: string; cert: string; ca: string; servername?: string },
): Promise<{ ok: boolean; clientError?: string; serverError?: string }> {
  let serverError: string | undefined;
  // The server checks the client's verification itself so the test sees why it was refused
  // (Node only reports "socket hang up" when it rejects on its own).
  const srv = tls.createServer({ key: server.key, cert: server.cert, ca: [server.ca], requestCert: true, rejectUnauthorized: false }, (sock) => {
    if (sock.authorized) {
      sock.end("hello");
    } else {
      serverError = String(sock.authorizationError);
      sock.destroy();
    }
  });
  srv.on("tlsClientError", (e: Error) => (serverError = e.message));
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const address = srv.address() as AddressInfo;
  try {
    return await new Promise((resolve) => {
      let data = "";
      let clientError: string | undefined;
      const sock = tls.connect({ host: "127.0.0.1", port: address.port, key: client.key, cert: client.cert, ca: [client.ca], servername: client.servername });
      const timer = setTimeout(() => sock.destroy(new Error("timeout")), 5000);
      sock.on("data", (d: Buffer) => (data += d.toString()));
      sock.on("error", (e: NodeJS.ErrnoException) => (clientError = e.code ?? e.message));
      sock.on("close", () => {
        clearTimeout(timer);
        // Let the server record its side of a rejected handshake before reporting.
        setImmediate(() => resolve({ ok: data === "hello" && clientError === undefined, clientError, serverError }));
      });
    });
  } finally {
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}

/** Go's strings.TrimSpace white space in ASCII: \t \n \v \f \r and space. */
const WHITESPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]);

/**
 * The id terraform-provider-tls (under @pulumi/tls) gives a private key: hashForState of the
 * SPKI DER as a string, i.e. hex SHA-1 of the bytes after strings.TrimSpace (internal/provider
 * common.go hashForState; resource_private_key.go sets the id from the public key DER).
 */
function providerId(der: Buffer): string {
  let start = 0;
  let end = der.length;
  while (start < end && WHITESPACE.has(der[start])) start++;
  while (end > start && WHITESPACE.has(der[end - 1])) end--;
  return createHash("sha1").update(der.subarray(start, end)).digest("hex");
}

describe("offline tls: PrivateKey", () => {
  it("ECDSA P256: SEC 1 and PKCS#8 PEMs, matching public key, OpenSSH forms, provider id", async () => {
    const out = await run(T.key, "k", { algorithm: "ECDSA", ecdsaCurve: "P256" });
    assert.match(str(out, "privateKeyPem"), /^-----BEGIN EC PRIVATE KEY-----\n[\s\S]+\n-----END EC PRIVATE KEY-----\n$/);
    assert.match(str(out, "privateKeyPemPkcs8"), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(str(out, "publicKeyPem"), /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
    const priv = createPrivateKey(str(out, "privateKeyPem"));
    assert.equal(priv.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.ok(createPublicKey(str(out, "publicKeyPem")).equals(createPublicKey(priv)));
    assert.ok(createPrivateKey(str(out, "privateKeyPemPkcs8")).equals(priv));
    assert.deepEqual([out.state.algorithm, out.state.ecdsaCurve, out.state.rsaBits], ["ECDSA", "P256", 2048]);

    // The authorized_keys blob carries the key's own point; fingerprints are over that blob.
    const [type, b64, ...rest] = str(out, "publicKeyOpenssh").split(" ");
    assert.equal(type, "ecdsa-sha2-nistp256");
    assert.equal(rest.length, 0);
    assert.ok(b64.endsWith("\n"));
    const blob = Buffer.from(b64.trim(), "base64");
    const jwk = priv.export({ format: "jwk" });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x ?? "", "base64url"), Buffer.from(jwk.y ?? "", "base64url")]);
    assert.ok(blob.subarray(blob.length - 65).equals(point));
    assert.equal(str(out, "publicKeyFingerprintSha256"), `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`);
    assert.match(str(out, "publicKeyFingerprintMd5"), /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    assert.match(str(out, "privateKeyOpenssh"), /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    const spki = createPublicKey(priv).export({ format: "der", type: "spki" });
    assert.equal(out.id, providerId(spki));
  });

  it("the id is hashForState over the SPKI DER: SHA-1 of the bytes with ASCII white space trimmed, as the provider's strings.TrimSpace does", () => {
    // A P256 SPKI ends with the last byte of the point's y; about 1 key in 40 ends in a white
    // space byte, whose id differs from a plain SHA-1 of the DER.
    for (let i = 0; i < 2000; i++) {
      const key = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
      const spki = createPublicKey(key).export({ format: "der", type: "spki" });
      if (!WHITESPACE.has(spki[spki.length - 1])) continue;
      const id = describePrivateKey(key).id;
      assert.equal(id, providerId(spki));
      assert.notEqual(id, createHash("sha1").update(spki).digest("hex"));
      return;
    }
    assert.fail("no key with a trailing white space byte in 2000 tries");
  });

  it("defaults like the provider: ECDSA is P224 (no OpenSSH forms), RSA is 2048-bit PKCS#1", async () => {
    const ec = await run(T.key, "k224", { algorithm: "ECDSA" });
    assert.equal(ec.state.ecdsaCurve, "P224");
    assert.equal(createPrivateKey(str(ec, "privateKeyPem")).asymmetricKeyDetails?.namedCurve, "secp224r1");
    assert.deepEqual([ec.state.publicKeyOpenssh, ec.state.privateKeyOpenssh, ec.state.publicKeyFingerprintMd5, ec.state.publicKeyFingerprintSha256], ["", "", "", ""]);

    const rsa = await run(T.key, "krsa", { algorithm: "RSA" });
    assert.match(str(rsa, "privateKeyPem"), /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.equal(createPrivateKey(str(rsa, "privateKeyPem")).asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(rsa.state.rsaBits, 2048);
    assert.match(str(rsa, "publicKeyOpenssh"), /^ssh-rsa AAAAB3NzaC1yc2E/);
  });

  it("ED25519 keys are PKCS#8 with an ssh-ed25519 public key", async () => {
    const out = await run(T.key, "ked", { algorithm: "ED25519" });
    assert.match(str(out, "privateKeyPem"), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(createPrivateKey(str(out, "privateKeyPem")).asymmetricKeyType, "ed25519");
    assert.match(str(out, "publicKeyOpenssh"), /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+\n$/);
  });

  it("refuses what the provider refuses, and waits for an unknown algorithm", async () => {
    await assert.rejects(async () => run(T.key, "bad", { algorithm: "DSA" }), /algorithm must be one of RSA, ECDSA, ED25519/);
    await assert.rejects(async () => run(T.key, "bad", { algorithm: "ECDSA", ecdsaCurve: "P192" }), /ecdsaCurve must be one of/);
    const pending = await run(T.key, "later", { algorithm: UNKNOWN });
    assert.equal(pending.state.privateKeyPem, undefined);
    assert.deepEqual(pending.state, { ecdsaCurve: "P224", rsaBits: 2048 });
  });
});

describe("offline tls: CA, server and client certificates", () => {
  let ca: Ca;
  let server: Leaf;
  let client: Leaf;
  let foreignClient: Leaf;

  before(async () => {
    ca = await makeCa("dev-01 observability CA");
    server = await makeLeaf(ca, "thanos.dev-01.obs.example.eu", { dnsNames: ["thanos.dev-01.obs.example.eu"], ipAddresses: ["127.0.0.1"], uses: ["digital_signature", "server_auth"] });
    client = await makeLeaf(ca, "thanos-query.ops-01", { uses: ["digital_signature", "client_auth"] });
    const foreign = await makeCa("intruder CA");
    foreignClient = await makeLeaf(foreign, "thanos-query.ops-01", { uses: ["digital_signature", "client_auth"] });
  });

  it("the CA is a critical CA:TRUE ECDSA P-256 certificate for cert and CRL signing", () => {
    assert.equal(ca.cert.ca, true);
    assert.equal(ca.cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.ok(ca.cert.checkPrivateKey(createPrivateKey(ca.keyPem)));
    assert.ok(ca.cert.verify(ca.cert.publicKey));
    const bc = ext(ca.certPem, px509.BasicConstraintsExtension);
    assert.deepEqual([bc?.ca, bc?.critical, bc?.pathLength], [true, true, undefined]);
    const ku = ext(ca.certPem, px509.KeyUsagesExtension);
    assert.equal(ku?.critical, true);
    assert.equal(ku?.usages, px509.KeyUsageFlags.keyCertSign | px509.KeyUsageFlags.cRLSign | px509.KeyUsageFlags.digitalSignature);
    assert.equal(ca.cert.keyUsage, undefined, "a CA without server/client uses has no EKU");
    // Go's pkix.Name order: O before CN in the DER.
    assert.equal(ca.cert.subject, "O=sovereign-observability\nCN=dev-01 observability CA");
    assert.equal(ca.cert.issuer, ca.cert.subject);
  });

  it("a server leaf has exactly the requested SANs, server_auth and not client_auth, and chains to the CA", () => {
    assert.equal(server.cert.subjectAltName, "DNS:thanos.dev-01.obs.example.eu, IP Address:127.0.0.1");
    assert.deepEqual(server.cert.keyUsage, [SERVER_AUTH]);
    assert.ok(!server.cert.keyUsage?.includes(CLIENT_AUTH));
    assert.equal(server.cert.ca, false);
    assert.ok(server.cert.verify(ca.cert.publicKey));
    assert.ok(server.cert.checkIssued(ca.cert));
    assert.equal(server.cert.issuer, ca.cert.subject);
    assert.equal(server.cert.subject, "O=sovereign-observability\nCN=thanos.dev-01.obs.example.eu");
    assert.ok(server.cert.checkPrivateKey(createPrivateKey(server.keyPem)));
    assert.equal(server.outputs.state.caKeyAlgorithm, "ECDSA");
    assert.equal(server.outputs.id, BigInt(`0x${server.cert.serialNumber}`).toString(10));
  });

  it("a leaf carries the CA's key id as AuthorityKeyIdentifier, and no key id of its own unless asked", () => {
    const caSki = ext(ca.certPem, px509.SubjectKeyIdentifierExtension)?.keyId;
    assert.match(caSki ?? "", /^[0-9a-f]{40}$/);
    assert.equal(ext(server.certPem, px509.AuthorityKeyIdentifierExtension)?.keyId, caSki);
    assert.equal(ext(server.certPem, px509.SubjectKeyIdentifierExtension), null);
    const bc = ext(server.certPem, px509.BasicConstraintsExtension);
    assert.deepEqual([bc?.ca, bc?.critical], [false, true]);
  });

  it("a client leaf has client_auth only, and no SANs when none were requested", () => {
    assert.deepEqual(client.cert.keyUsage, [CLIENT_AUTH]);
    assert.equal(client.cert.subjectAltName, undefined);
    assert.ok(client.cert.checkIssued(ca.cert));
    assert.ok(!foreignClient.cert.checkIssued(ca.cert));
  });

  it("the validity window is validityPeriodHours, reported in RFC 3339", () => {
    for (const leaf of [server, client]) {
      const from = Date.parse(leaf.cert.validFrom);
      const to = Date.parse(leaf.cert.validTo);
      assert.equal(to - from, 2160 * HOUR);
      const start = str(leaf.outputs, "validityStartTime");
      const end = str(leaf.outputs, "validityEndTime");
      assert.match(start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.equal(Date.parse(end) - Date.parse(start), 2160 * HOUR);
      // The certificate holds whole seconds; the provider reports the exact issuing instant.
      assert.equal(Math.floor(Date.parse(start) / 1000) * 1000, from);
      assert.ok(Math.abs(Date.parse(start) - Date.now()) < 60_000);
      assert.equal(leaf.outputs.state.readyForRenewal, false);
    }
  });

  it("mutual TLS succeeds with the CA's server and client certificates", async () => {
    const r = await handshake({ key: server.keyPem, cert: server.certPem, ca: ca.certPem }, { key: client.keyPem, cert: client.certPem, ca: ca.certPem, servername: "thanos.dev-01.obs.example.eu" });
    assert.deepEqual(r, { ok: true, clientError: undefined, serverError: undefined });
    // Dialled by IP, the IP SAN is what verifies.
    const byIp = await handshake({ key: server.keyPem, cert: server.certPem, ca: ca.certPem }, { key: client.keyPem, cert: client.certPem, ca: ca.certPem });
    assert.equal(byIp.ok, true);
  });

  it("the server refuses a client certificate from a foreign CA", async () => {
    const r = await handshake({ key: server.keyPem, cert: server.certPem, ca: ca.certPem }, { key: foreignClient.keyPem, cert: foreignClient.certPem, ca: ca.certPem, servername: "thanos.dev-01.obs.example.eu" });
    assert.equal(r.ok, false);
    assert.equal(r.serverError, "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });

  it("the client refuses a name the server certificate does not carry", async () => {
    const r = await handshake({ key: server.keyPem, cert: server.certPem, ca: ca.certPem }, { key: client.keyPem, cert: client.certPem, ca: ca.certPem, servername: "loki.dev-01.obs.example.eu" });
    assert.equal(r.ok, false);
    assert.equal(r.clientError, "ERR_TLS_CERT_ALTNAME_INVALID");
  });

  it("key usages are enforced: a client certificate cannot serve, a server certificate cannot authenticate a client", async () => {
    const clientAsServer = await makeLeaf(ca, "thanos.dev-01.obs.example.eu", { dnsNames: ["thanos.dev-01.obs.example.eu"], uses: ["digital_signature", "client_auth"] });
    const a = await handshake({ key: clientAsServer.keyPem, cert: clientAsServer.certPem, ca: ca.certPem }, { key: client.keyPem, cert: client.certPem, ca: ca.certPem, servername: "thanos.dev-01.obs.example.eu" });
    assert.equal(a.ok, false);
    assert.equal(a.clientError, "INVALID_PURPOSE");
    const b = await handshake({ key: server.keyPem, cert: server.certPem, ca: ca.certPem }, { key: server.keyPem, cert: server.certPem, ca: ca.certPem, servername: "thanos.dev-01.obs.example.eu" });
    assert.equal(b.ok, false);
    assert.equal(b.serverError, "INVALID_PURPOSE");
  });

  it("an expired client certificate, minted through the same code path, is refused and ready for renewal", async () => {
    const key = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
    const csr = await run(T.csr, "old-csr", { privateKeyPem: key.privateKeyPem, subject: { commonName: "old client" } });
    const notBefore = new Date(Date.now() - 48 * HOUR);
    const expired = await signCertRequest({ certRequestPem: str(csr, "certRequestPem"), caCertPem: ca.certPem, caPrivateKeyPem: ca.keyPem, validityPeriodHours: 24, allowedUses: ["digital_signature", "client_auth"], notBefore });
    assert.equal(expired.readyForRenewal, true);
    assert.equal(expired.validityEndTime, new Date(notBefore.getTime() + 24 * HOUR).toISOString().replace(/\.?0*Z$/, "Z"));
    assert.ok(Date.parse(new X509Certificate(expired.certPem).validTo) < Date.now());
    const r = await handshake({ key: server.keyPem, cert: server.certPem, ca: ca.certPem }, { key: key.privateKeyPem, cert: expired.certPem, ca: ca.certPem, servername: "thanos.dev-01.obs.example.eu" });
    assert.equal(r.ok, false);
    assert.equal(r.serverError, "CERT_HAS_EXPIRED");
  });
});

describe("offline tls: renewal", () => {
  it("readyForRenewal is false until now >= end - earlyRenewalHours", async () => {
    const key = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
    const base = { privateKeyPem: key.privateKeyPem, subject: { commonName: "r" }, allowedUses: ["digital_signature"] };
    assert.equal((await run(T.selfSigned, "a", { ...base, validityPeriodHours: 24, earlyRenewalHours: 23 })).state.readyForRenewal, false);
    assert.equal((await run(T.selfSigned, "b", { ...base, validityPeriodHours: 24, earlyRenewalHours: 24 })).state.readyForRenewal, true);
    assert.equal((await run(T.selfSigned, "c", { ...base, validityPeriodHours: 0 })).state.readyForRenewal, true);

    const end = "2030-01-31T00:00:00Z";
    assert.equal(isReadyForRenewal(end, 720, new Date("2030-01-01T00:00:00Z")), true);
    assert.equal(isReadyForRenewal(end, 720, new Date("2029-12-31T23:59:59Z")), false);
    assert.equal(isReadyForRenewal(end, 0, new Date("2030-01-31T00:00:00Z")), true);
  });
});

describe("offline tls: CertRequest", () => {
  it("is a real PKCS#10 request, signed by the key, with the subject and SANs", async () => {
    const key = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
    const out = await run(T.csr, "csr", { privateKeyPem: key.privateKeyPem, subject: { commonName: "loki.dev-01.obs.example.eu", organization: "sovereign-observability", country: "DE" }, dnsNames: ["loki.dev-01.obs.example.eu", "loki"], ipAddresses: ["198.51.100.7", "2001:db8::7"], uris: ["spiffe://obs/loki"] });
    const pem = str(out, "certRequestPem");
    assert.match(pem, /^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+-----END CERTIFICATE REQUEST-----\n$/);
    assert.equal(out.state.keyAlgorithm, "ECDSA");
    const csr = new px509.Pkcs10CertificateRequest(pem);
    assert.equal(await csr.verify(), true);
    assert.equal(csr.subject, "C=DE, O=sovereign-observability, CN=loki.dev-01.obs.example.eu");
    assert.ok(Buffer.from(csr.publicKey.rawData).equals(createPublicKey(key.publicKeyPem).export({ format: "der", type: "spki" })));
    const read = readCertRequest(pem);
    assert.deepEqual([read.dnsNames, read.ipAddresses, read.uris], [["loki.dev-01.obs.example.eu", "loki"], ["198.51.100.7", "2001:db8::7"], ["spiffe://obs/loki"]]);
    const block = firstPemBlock(pem);
    // The engine ids a CSR with hashForState of its DER, as it does keys, so a request whose
    // DER ends in a white-space byte (its ECDSA signature is random: about 1 run in 40) is hashed trimmed.
    assert.equal(out.id, providerId(block?.der ?? Buffer.alloc(0)));
  });
});

describe("offline tls: other algorithms and options", () => {
  for (const [algorithm, curve, sig] of [["RSA", undefined, "SHA-256"], ["ECDSA", "P384", "SHA-384"], ["ECDSA", "P224", "SHA-256"], ["ED25519", undefined, undefined]] as const) {
    it(`a ${algorithm}${curve ?? ""} CA signs a P-256 leaf`, async () => {
      const caKey = generatePrivateKey(algorithm, { ecdsaCurve: curve });
      const caCert = await issueCertificate({ subjectKeyPem: caKey.privateKeyPem, subject: { commonName: `${algorithm} CA` }, isCaCertificate: true, allowedUses: ["cert_signing"], validityPeriodHours: 1 });
      assert.equal(caCert.signerKeyAlgorithm, algorithm);
      const leafKey = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
      const leaf = await issueCertificate({ subjectKeyPem: leafKey.privateKeyPem, subject: "CN=leaf", dnsNames: ["leaf.example"], allowedUses: ["server_auth"], validityPeriodHours: 1, issuer: { certPem: caCert.certPem, keyPem: caKey.privateKeyPem } });
      const caX = new X509Certificate(caCert.certPem);
      const leafX = new X509Certificate(leaf.certPem);
      assert.ok(caX.verify(caX.publicKey));
      assert.ok(leafX.verify(caX.publicKey));
      assert.ok(leafX.checkIssued(caX));
      if (sig !== undefined && curve !== "P224") {
        assert.equal(new px509.X509Certificate(caCert.certPem).signatureAlgorithm.hash.name, sig);
      }
    });
  }

  it("maxPathLength follows Go: 0 means no limit, a positive value is a pathlen", async () => {
    const key = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
    const base = { privateKeyPem: key.privateKeyPem, subject: { commonName: "ca" }, isCaCertificate: true, validityPeriodHours: 1, allowedUses: ["cert_signing"] };
    const zero = await run(T.selfSigned, "z", { ...base, maxPathLength: 0 });
    const one = await run(T.selfSigned, "o", { ...base, maxPathLength: 1 });
    assert.equal(ext(str(zero, "certPem"), px509.BasicConstraintsExtension)?.pathLength, undefined);
    assert.equal(ext(str(one, "certPem"), px509.BasicConstraintsExtension)?.pathLength, 1);
  });

  it("setAuthorityKeyId on a self-signed certificate repeats its subject key id", async () => {
    const key = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
    const out = await run(T.selfSigned, "aki", { privateKeyPem: key.privateKeyPem, subject: { commonName: "ca" }, isCaCertificate: true, setAuthorityKeyId: true, validityPeriodHours: 1, allowedUses: ["cert_signing"] });
    const ski = ext(str(out, "certPem"), px509.SubjectKeyIdentifierExtension)?.keyId;
    assert.ok(ski !== undefined);
    assert.equal(ext(str(out, "certPem"), px509.AuthorityKeyIdentifierExtension)?.keyId, ski);
  });
});

describe("offline tls: refusals and unknown inputs", () => {
  let ca: Ca;
  before(async () => {
    ca = await makeCa("dev-01 observability CA");
  });

  it("camelCase allowedUses are refused, as the provider only knows the snake_case names", async () => {
    await assert.rejects(async () => run(T.selfSigned, "x", { privateKeyPem: ca.keyPem, subject: { commonName: "x" }, validityPeriodHours: 1, allowedUses: ["certSigning"] }), /allowed_uses\[0\] value must be one of: \[.*"cert_signing".*\], got: "certSigning"/);
  });

  it("a CA key that is not the CA certificate's key is refused", async () => {
    const other = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
    const leafKey = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
    const csr = await run(T.csr, "c", { privateKeyPem: leafKey.privateKeyPem, subject: { commonName: "c" } });
    await assert.rejects(async () => run(T.signed, "c", { certRequestPem: str(csr, "certRequestPem"), caCertPem: ca.certPem, caPrivateKeyPem: other.privateKeyPem, validityPeriodHours: 1, allowedUses: ["client_auth"] }), /doesn't match parent's PublicKey/);
  });

  it("a CA without a subject, an AKI without a key id, a bad IP and a non-key PEM are refused", async () => {
    await assert.rejects(async () => run(T.selfSigned, "x", { privateKeyPem: ca.keyPem, isCaCertificate: true, validityPeriodHours: 1, allowedUses: ["cert_signing"] }), /at least one Distinguished Name/);
    await assert.rejects(async () => run(T.selfSigned, "x", { privateKeyPem: ca.keyPem, subject: { commonName: "x" }, setAuthorityKeyId: true, validityPeriodHours: 1, allowedUses: [] }), /Could not determine Authority Key Identifier/);
    await assert.rejects(async () => run(T.csr, "x", { privateKeyPem: ca.keyPem, ipAddresses: ["10.0.0.300"] }), /Invalid IP address/);
    await assert.rejects(async () => run(T.csr, "x", { privateKeyPem: ca.certPem }), /unsupported PEM preamble\/type: CERTIFICATE/);
    await assert.rejects(async () => run(T.signed, "x", { certRequestPem: ca.certPem, caCertPem: ca.certPem, caPrivateKeyPem: ca.keyPem, validityPeriodHours: 1, allowedUses: [] }), /expected "CERTIFICATE REQUEST", got "CERTIFICATE"/);
  });

  it("with inputs not yet known, returns what it can compute and no certificate", async () => {
    const self = await run(T.selfSigned, "p", { privateKeyPem: ca.keyPem, subject: { commonName: "x" }, validityPeriodHours: UNKNOWN, allowedUses: ["cert_signing"] });
    assert.equal(self.state.certPem, undefined);
    assert.equal(self.state.keyAlgorithm, "ECDSA");
    assert.equal(self.state.readyForRenewal, false);
    const signed = await run(T.signed, "p", { caPrivateKeyPem: ca.keyPem, caCertPem: ca.certPem, validityPeriodHours: 1, allowedUses: ["client_auth"] });
    assert.equal(signed.state.certPem, undefined);
    assert.equal(signed.state.caKeyAlgorithm, "ECDSA");
    const csr = await run(T.csr, "p", { privateKeyPem: ca.keyPem, dnsNames: [UNKNOWN] });
    assert.deepEqual(csr.state, { keyAlgorithm: "ECDSA" });
  });
});
