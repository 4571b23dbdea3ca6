/**
 * mTLS of the example fleet with the certificates the offline engine issued for it: real TLS
 * handshakes (node:tls, in-process on 127.0.0.1) between the hub's clients and every spoke's
 * servers, set up exactly as the secrets and contract outputs say; refusals of foreign,
 * misused, expired and misnamed certificates; CA rotation with trust bundles; and the
 * certificate properties the SECURITY-CHECKLIST asks for.
 *
 * The engine keeps no state between runs, so each run of a stack issues a new CA. The spokes
 * are planned against the hub's bootstrap run, which is therefore the hub they trust (on a
 * real backend the final hub run keeps the bootstrap's CA and certificates). Hub clients
 * dialling spokes come from that run; the hub's own server is checked within its final run.
 */
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import { before, describe, it } from "node:test";
import { validateStackConfig, type StackConfig } from "../components/config";
import { asReference, planFleet, runStack, SPOKES_ENV, type FleetPlan, type StackRun } from "../offline";
import { generatePrivateKey, issueCertificate } from "../offline/outputs/tls";
import { at, output, outputs, pemBlocks, recordedCa, signingCa, tlsSecret, type TlsSecret } from "./fixtures/recorded";

const HOUR = 3600_000;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const HUB = "ops-01";
const SPOKES = ["dev-01", "edge-otc-01", "prod-01", "stag-01"] as const;

interface Peer {
  key: string;
  cert: string;
  /** The trust bundle (PEM, one or more CA certificates), as a workload reads it from a file. */
  ca: string;
}

interface Handshake {
  ok: boolean;
  clientError?: string;
  serverError?: string;
}

/**
 * One connection between an mTLS server (client certificate required and verified against
 * `server.ca`, as Thanos does with `--grpc-server-tls-client-ca`) and a client verifying the
 * server against `client.ca` and `servername`. `ok` when the client read the server's greeting.
 */
async function handshake(server: Peer, client: Peer & { servername: string }): Promise<Handshake> {
  let serverError: string | undefined;
  // Node's own `rejectUnauthorized: true` does exactly this after the handshake (destroy the
  // socket when the client certificate did not verify) but drops the reason; doing it here
  // keeps the refusal identical and lets the test see why.
  const srv = tls.createServer({ key: server.key, cert: server.cert, ca: server.ca, requestCert: true, rejectUnauthorized: false, handshakeTimeout: 5000 }, (sock) => {
    if (sock.authorized) {
      sock.end("hello");
    } else {
      serverError ??= String(sock.authorizationError);
      sock.destroy();
    }
  });
  srv.on("tlsClientError", (e: NodeJS.ErrnoException) => (serverError ??= e.code ?? e.message));
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as AddressInfo;
  try {
    return await new Promise<Handshake>((resolve) => {
      let data = "";
      let clientError: string | undefined;
      const sock = tls.connect({ host: "127.0.0.1", port, key: client.key, cert: client.cert, ca: client.ca, servername: client.servername });
      const timer = setTimeout(() => sock.destroy(new Error("timeout")), 5000);
      sock.on("data", (d: Buffer) => (data += d.toString()));
      sock.on("error", (e: NodeJS.ErrnoException) => (clientError ??= e.code ?? e.message));
      sock.on("close", () => {
        clearTimeout(timer);
        // Let the server record its side of a refused handshake before reporting.
        setTimeout(() => resolve({ ok: data === "hello" && clientError === undefined && serverError === undefined, clientError, serverError }), 20);
      });
    });
  } finally {
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}

function peer(s: TlsSecret, ca: string = s.ca): Peer {
  return { key: s.key, cert: s.crt, ca };
}

/** Effective (defaulted) config of a run, as the program sees it. */
function effectiveConfig(run: StackRun): StackConfig {
  const r = validateStackConfig(run.config, { stack: run.stack, secretKeys: new Set(run.secretKeys) });
  assert.ok(r.ok, `${run.stack}: config does not validate`);
  return r.config;
}

function runOf(plan: FleetPlan, stack: string): StackRun {
  const run = plan.runs.find((r) => r.stack === stack);
  assert.ok(run !== undefined, `no run of ${stack}`);
  assert.equal(run.error, undefined, `${stack} failed: ${run.error?.message}`);
  return run;
}

/** A fresh P-256 leaf signed by a CA, through the engine's own issuance code. */
async function mintLeaf(ca: { certPem: string; keyPem: string }, p: { cn: string; usage: "server" | "client"; dnsNames?: string[]; notBefore?: Date; notAfter?: Date }): Promise<{ key: string; cert: string }> {
  const key = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
  const issued = await issueCertificate({
    subjectKeyPem: key.privateKeyPem,
    subject: { commonName: p.cn, organization: "sovereign-observability" },
    issuer: ca,
    dnsNames: p.dnsNames ?? [],
    validityPeriodHours: 24,
    allowedUses: ["digital_signature", p.usage === "server" ? "server_auth" : "client_auth"],
    isCaCertificate: false,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
  });
  return { key: key.privateKeyPem, cert: issued.certPem };
}

/** A self-signed P-256 CA nobody in the fleet trusts. */
async function foreignCa(): Promise<{ certPem: string; keyPem: string }> {
  const key = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
  const ca = await issueCertificate({ subjectKeyPem: key.privateKeyPem, subject: { commonName: "foreign CA", organization: "elsewhere" }, isCaCertificate: true, validityPeriodHours: 8760, allowedUses: ["cert_signing", "digital_signature"], setSubjectKeyId: true });
  return { certPem: ca.certPem, keyPem: key.privateKeyPem };
}

function hostOf(endpoint: string): string {
  const m = /^(.+):(\d+)$/.exec(endpoint);
  assert.ok(m !== null, `${endpoint} is not host:port`);
  return m[1];
}

let plan: FleetPlan;
/** The hub run the spokes read (the bootstrap): the hub CA they trust. */
let hubAsRead: StackRun;
/** The final hub run, wired to every spoke. */
let hub: StackRun;

before(async () => {
  plan = await planFleet();
  assert.ok(plan.bootstrap !== undefined, "the fleet plan has a hub bootstrap run");
  assert.equal(plan.bootstrap.error, undefined);
  hubAsRead = plan.bootstrap;
  hub = runOf(plan, HUB);
  for (const s of SPOKES) runOf(plan, s);
});

describe("mTLS: the hub's clients against every spoke's servers", () => {
  it("each spoke's servers trust exactly the client CA of the hub they read", () => {
    for (const s of SPOKES) {
      const spoke = runOf(plan, s);
      assert.deepEqual(pemBlocks(tlsSecret(spoke, "thanos-grpc-tls").ca), pemBlocks(output(hubAsRead, "clientCaPem")), `${s} thanos-grpc-tls ca.crt`);
      // A spoke that accepts edges also trusts its own edge CA at the gateway (the edges push logs there), nothing else.
      const edgeCa = spoke.resources.some((r) => r.name === `${s}-edges-pki-ca-cert`) && (at(outputs(spoke), "receiver", "edges") as string[]).length > 0 ? [recordedCa(spoke, `${s}-edges-pki-ca-cert`).certPem] : [];
      assert.deepEqual(pemBlocks(tlsSecret(spoke, "loki-gateway-tls").ca), [...pemBlocks(output(hubAsRead, "clientCaPem")), ...edgeCa.flatMap(pemBlocks)], `${s} loki-gateway-tls ca.crt`);
      assert.deepEqual(pemBlocks(tlsSecret(spoke, "alertmanager-hub-client-tls").ca), pemBlocks(output(hubAsRead, "alertmanager", "caPem")), `${s} alertmanager-hub-client-tls ca.crt`);
    }
  });

  for (const s of SPOKES) {
    it(`${s}: the hub's Thanos Query client certificate is accepted by the Thanos gRPC server, which the hub verifies by the exported CA and server name`, async () => {
      const spoke = runOf(plan, s);
      const server = tlsSecret(spoke, "thanos-grpc-tls");
      const client = tlsSecret(hubAsRead, "thanos-query-client-tls");
      const r = await handshake(peer(server), { ...peer(client, output(spoke, "thanos", "caPem")), servername: output(spoke, "thanos", "serverName") });
      assert.deepEqual(r, { ok: true, clientError: undefined, serverError: undefined });
    });

    it(`${s}: the hub's Grafana client certificate is accepted by the Loki gateway, verified by the exported CA and server name`, async () => {
      const spoke = runOf(plan, s);
      const server = tlsSecret(spoke, "loki-gateway-tls");
      const client = tlsSecret(hubAsRead, "grafana-client-tls");
      const r = await handshake(peer(server), { ...peer(client, output(spoke, "loki", "caPem")), servername: output(spoke, "loki", "serverName") });
      assert.deepEqual(r, { ok: true, clientError: undefined, serverError: undefined });
    });
  }

  it("dev-01's receiver accepts edge-dev-01's client certificate (signed by dev-01 from the edge's request), verified by the exported CA and server name", async () => {
    const spoke = runOf(plan, "dev-01");
    const edge = runOf(plan, "edge-dev-01");
    const server = tlsSecret(spoke, "thanos-receive-remote-write-tls");
    const client = tlsSecret(edge, "remote-write-tls");
    const r = await handshake(peer(server), { ...peer(client), servername: output(spoke, "receiver", "serverName") });
    assert.deepEqual(r, { ok: true, clientError: undefined, serverError: undefined });
    // The edge's Alloy presents the same certificate to dev-01's Loki gateway.
    const gateway = tlsSecret(spoke, "loki-gateway-tls");
    const logs = tlsSecret(edge, "loki-client-tls");
    assert.deepEqual(await handshake(peer(gateway), { ...peer(logs), servername: output(spoke, "loki", "serverName") }), { ok: true, clientError: undefined, serverError: undefined });
  });

  it("the receiver refuses a client certificate of another spoke's CA, of the hub's CA, of a foreign CA, and one naming the edge from any of them", async () => {
    const spoke = runOf(plan, "dev-01");
    const server = tlsSecret(spoke, "thanos-receive-remote-write-tls");
    const servername = output(spoke, "receiver", "serverName");
    const spokeCa = output(spoke, "receiver", "caPem");
    const others = [
      ["prod-01's CA", recordedCa(runOf(plan, "prod-01"), "prod-01-pki-ca-cert")],
      ["the hub's CA", recordedCa(hubAsRead, "ops-01-pki-ca-cert")],
      ["dev-01's own stack CA (not its edge CA)", recordedCa(spoke, "dev-01-pki-ca-cert")],
      ["a foreign CA", await foreignCa()],
    ] as const;
    for (const [what, ca] of others) {
      const leaf = await mintLeaf(ca, { cn: "edge-dev-01", usage: "client" });
      const r = await handshake(peer(server), { key: leaf.key, cert: leaf.cert, ca: spokeCa, servername });
      assert.equal(r.ok, false, `a certificate of ${what} was accepted`);
      assert.ok(r.serverError !== undefined, `${what}: the receiver refused it (${JSON.stringify(r)})`);
    }
  });

  it("the final hub trusts every spoke CA: each spoke's Alertmanager client is accepted by the hub's Alertmanager", async () => {
    const server = tlsSecret(hub, "alertmanager-tls");
    const spokeCas = SPOKES.flatMap((s) => pemBlocks(output(runOf(plan, s), "thanos", "caPem")));
    assert.deepEqual([...pemBlocks(server.ca)].sort(), [...spokeCas].sort());
    for (const client of [tlsSecret(hub, "thanos-query-client-tls"), tlsSecret(hub, "grafana-client-tls")]) {
      assert.deepEqual([...pemBlocks(client.ca)].sort(), [...spokeCas].sort(), "hub clients verify spokes against their CAs");
    }
    for (const s of SPOKES) {
      const client = tlsSecret(runOf(plan, s), "alertmanager-hub-client-tls");
      const r = await handshake(peer(server), { ...peer(client, output(hub, "alertmanager", "caPem")), servername: output(hub, "alertmanager", "serverName") });
      assert.deepEqual(r, { ok: true, clientError: undefined, serverError: undefined }, s);
    }
  });
});

describe("mTLS: refusals", () => {
  const spoke = (): StackRun => runOf(plan, "dev-01");
  const thanosClientOf = (run: StackRun): Peer & { servername: string } => ({ ...peer(tlsSecret(hubAsRead, "thanos-query-client-tls"), output(run, "thanos", "caPem")), servername: output(run, "thanos", "serverName") });

  it("a client certificate from a foreign CA is refused by every spoke's Thanos and Loki servers", async () => {
    const ca = await foreignCa();
    const leaf = await mintLeaf(ca, { cn: "ops-01-thanos-query", usage: "client" });
    for (const s of SPOKES) {
      const run = runOf(plan, s);
      for (const [secret, out] of [["thanos-grpc-tls", "thanos"], ["loki-gateway-tls", "loki"]] as const) {
        const r = await handshake(peer(tlsSecret(run, secret)), { key: leaf.key, cert: leaf.cert, ca: output(run, out, "caPem"), servername: output(run, out, "serverName") });
        assert.equal(r.ok, false, `${s} ${secret}`);
        assert.equal(r.serverError, "UNABLE_TO_VERIFY_LEAF_SIGNATURE", `${s} ${secret}: ${JSON.stringify(r)}`);
      }
    }
  });

  it("a server certificate of the hub (its Alertmanager's) presented as a client is refused for its key usage", async () => {
    const asClient = tlsSecret(hubAsRead, "alertmanager-tls");
    for (const s of SPOKES) {
      const run = runOf(plan, s);
      const r = await handshake(peer(tlsSecret(run, "thanos-grpc-tls")), { ...peer(asClient, output(run, "thanos", "caPem")), servername: output(run, "thanos", "serverName") });
      assert.equal(r.ok, false, s);
      assert.equal(r.serverError, "INVALID_PURPOSE", `${s}: ${JSON.stringify(r)}`);
    }
  });

  it("an expired client certificate signed by the hub CA is refused; the same mint, valid, is accepted", async () => {
    const ca = signingCa(hubAsRead, "ops-01-thanos-query-client-cert");
    assert.ok(ca.keyWasSecret, "the hub CA key must be recorded as a secret");
    assert.deepEqual(pemBlocks(ca.certPem), pemBlocks(output(hubAsRead, "clientCaPem")));
    const server = peer(tlsSecret(spoke(), "thanos-grpc-tls"));
    const client = thanosClientOf(spoke());

    const valid = await mintLeaf(ca, { cn: "ops-01-thanos-query", usage: "client" });
    assert.deepEqual(await handshake(server, { ...client, key: valid.key, cert: valid.cert }), { ok: true, clientError: undefined, serverError: undefined });

    const expired = await mintLeaf(ca, { cn: "ops-01-thanos-query", usage: "client", notBefore: new Date(Date.now() - 48 * HOUR), notAfter: new Date(Date.now() - 24 * HOUR) });
    assert.ok(Date.parse(new X509Certificate(expired.cert).validTo) < Date.now());
    const r = await handshake(server, { ...client, key: expired.key, cert: expired.cert });
    assert.equal(r.ok, false);
    assert.equal(r.serverError, "CERT_HAS_EXPIRED", JSON.stringify(r));
  });

  for (const [a, b] of SPOKES.flatMap((x) => SPOKES.filter((y) => y !== x).map((y) => [x, y] as const))) {
    it(`${a}'s Thanos server certificate does not pass for ${b}: not with ${b}'s CA, nor with ${a}'s CA and ${b}'s name`, async () => {
      const runA = runOf(plan, a);
      const runB = runOf(plan, b);
      const server = peer(tlsSecret(runA, "thanos-grpc-tls"));
      const wrongCa = await handshake(server, thanosClientOf(runB));
      assert.equal(wrongCa.ok, false);
      assert.equal(wrongCa.clientError, "UNABLE_TO_VERIFY_LEAF_SIGNATURE", JSON.stringify(wrongCa));
      const wrongName = await handshake(server, { ...thanosClientOf(runA), servername: output(runB, "thanos", "serverName") });
      assert.equal(wrongName.ok, false);
      assert.equal(wrongName.clientError, "ERR_TLS_CERT_ALTNAME_INVALID", JSON.stringify(wrongName));
      // The same certificate, dialled by its own CA and name, works: only the mismatch is refused.
      assert.equal((await handshake(server, thanosClientOf(runA))).ok, true);
    });
  }
});

describe("mTLS: CA rotation (pki.rotateCa)", () => {
  const rotate = (v: Record<string, unknown>): void => {
    v.pki = { ...(v.pki as Record<string, unknown> | undefined), rotateCa: true };
  };
  let hubRot: StackRun;
  let spokeRot: StackRun;
  let hubCas: { old: { certPem: string; keyPem: string }; next: { certPem: string; keyPem: string } };
  let spokeCas: { old: { certPem: string; keyPem: string }; next: { certPem: string; keyPem: string } };

  before(async () => {
    hubRot = await runStack({ stack: HUB, env: { [SPOKES_ENV]: "" }, mutateConfig: rotate });
    assert.equal(hubRot.error, undefined, hubRot.error?.message);
    spokeRot = await runStack({ stack: "dev-01", references: { [HUB]: asReference(hubRot) }, mutateConfig: rotate });
    assert.equal(spokeRot.error, undefined, spokeRot.error?.message);
    hubCas = { old: recordedCa(hubRot, "ops-01-pki-ca-cert"), next: recordedCa(hubRot, "ops-01-pki-ca-next-cert") };
    spokeCas = { old: recordedCa(spokeRot, "dev-01-pki-ca-cert"), next: recordedCa(spokeRot, "dev-01-pki-ca-next-cert") };
  });

  it("trust bundles hold the current and the next CA; leaves are still issued by the current CA", () => {
    assert.notEqual(hubCas.old.certPem, hubCas.next.certPem);
    assert.ok(recordedCa(hubRot, "ops-01-pki-ca-next-cert").keyWasSecret, "the next CA key must be recorded as a secret");
    assert.deepEqual(pemBlocks(output(hubRot, "clientCaPem")), [hubCas.old.certPem, hubCas.next.certPem]);
    assert.deepEqual(pemBlocks(output(hubRot, "alertmanager", "caPem")), [hubCas.old.certPem, hubCas.next.certPem]);
    for (const name of ["thanos-grpc-tls", "loki-gateway-tls"]) {
      assert.deepEqual(pemBlocks(tlsSecret(spokeRot, name).ca), [hubCas.old.certPem, hubCas.next.certPem], `${name} ca.crt`);
    }
    assert.deepEqual(pemBlocks(tlsSecret(spokeRot, "alertmanager-hub-client-tls").ca), [hubCas.old.certPem, hubCas.next.certPem]);
    for (const out of ["thanos", "loki"]) {
      assert.deepEqual(pemBlocks(output(spokeRot, out, "caPem")), [spokeCas.old.certPem, spokeCas.next.certPem], `${out}.caPem`);
    }
    const oldHub = new X509Certificate(hubCas.old.certPem);
    assert.ok(new X509Certificate(tlsSecret(hubRot, "thanos-query-client-tls").crt).verify(oldHub.publicKey));
    assert.ok(new X509Certificate(tlsSecret(spokeRot, "thanos-grpc-tls").crt).verify(new X509Certificate(spokeCas.old.certPem).publicKey));
  });

  it("a spoke server trusting the bundle accepts hub clients of the old and of the new CA; after retirement only the new one", async () => {
    const serverSecret = tlsSecret(spokeRot, "thanos-grpc-tls");
    const oldClient = tlsSecret(hubRot, "thanos-query-client-tls");
    const newClient = await mintLeaf(hubCas.next, { cn: "ops-01-thanos-query", usage: "client" });
    const dial = { ca: output(spokeRot, "thanos", "caPem"), servername: output(spokeRot, "thanos", "serverName") };

    const during = peer(serverSecret);
    assert.deepEqual(await handshake(during, { ...dial, key: oldClient.key, cert: oldClient.crt }), { ok: true, clientError: undefined, serverError: undefined });
    assert.deepEqual(await handshake(during, { ...dial, ...newClient }), { ok: true, clientError: undefined, serverError: undefined });

    const retired = peer(serverSecret, hubCas.next.certPem);
    const old = await handshake(retired, { ...dial, key: oldClient.key, cert: oldClient.crt });
    assert.equal(old.ok, false);
    assert.equal(old.serverError, "UNABLE_TO_VERIFY_LEAF_SIGNATURE", JSON.stringify(old));
    assert.equal((await handshake(retired, { ...dial, ...newClient })).ok, true);
  });

  it("the hub verifying a spoke by its exported bundle accepts servers of the spoke's old and new CA; after retirement only the new one", async () => {
    const servername = output(spokeRot, "thanos", "serverName");
    const oldServer = tlsSecret(spokeRot, "thanos-grpc-tls");
    const newServer = await mintLeaf(spokeCas.next, { cn: servername, usage: "server", dnsNames: [servername] });
    const client = tlsSecret(hubRot, "thanos-query-client-tls");
    const bundle = { key: client.key, cert: client.crt, ca: output(spokeRot, "thanos", "caPem"), servername };

    assert.equal((await handshake(peer(oldServer), bundle)).ok, true);
    assert.equal((await handshake({ ...newServer, ca: oldServer.ca }, bundle)).ok, true);

    const retired = { ...bundle, ca: spokeCas.next.certPem };
    const old = await handshake(peer(oldServer), retired);
    assert.equal(old.ok, false);
    assert.equal(old.clientError, "UNABLE_TO_VERIFY_LEAF_SIGNATURE", JSON.stringify(old));
    assert.equal((await handshake({ ...newServer, ca: oldServer.ca }, retired)).ok, true);
  });
});

describe("mTLS: certificate properties (SECURITY-CHECKLIST)", () => {
  /** Every leaf secret of the fleet with the role its certificate must have. */
  const leaves = (): { run: StackRun; secret: string; usage: "server" | "client" }[] => [
    ...SPOKES.flatMap((s) => [
      { run: runOf(plan, s), secret: "thanos-grpc-tls", usage: "server" as const },
      { run: runOf(plan, s), secret: "loki-gateway-tls", usage: "server" as const },
      { run: runOf(plan, s), secret: "alertmanager-hub-client-tls", usage: "client" as const },
    ]),
    { run: hub, secret: "thanos-query-client-tls", usage: "client" },
    { run: hub, secret: "grafana-client-tls", usage: "client" },
    { run: hub, secret: "alertmanager-tls", usage: "server" },
  ];

  it("every server certificate's SANs are exactly the name the peer dials", () => {
    for (const s of SPOKES) {
      const run = runOf(plan, s);
      const cfg = effectiveConfig(run);
      assert.equal(cfg.role, "spoke");
      if (cfg.role !== "spoke") continue;
      const thanosName = output(run, "thanos", "serverName");
      assert.equal(thanosName, cfg.endpoints.thanos);
      assert.equal(hostOf(output(run, "thanos", "endpoint")), thanosName);
      assert.equal(new X509Certificate(tlsSecret(run, "thanos-grpc-tls").crt).subjectAltName, `DNS:${thanosName}`, `${s} thanos SANs`);
      const lokiName = output(run, "loki", "serverName");
      assert.equal(lokiName, cfg.endpoints.loki);
      assert.equal(new URL(output(run, "loki", "url")).host, lokiName);
      assert.equal(new X509Certificate(tlsSecret(run, "loki-gateway-tls").crt).subjectAltName, `DNS:${lokiName}`, `${s} loki SANs`);
    }
    const amName = output(hub, "alertmanager", "serverName");
    assert.equal(new URL(output(hub, "alertmanager", "url")).host, amName);
    assert.equal(new X509Certificate(tlsSecret(hub, "alertmanager-tls").crt).subjectAltName, `DNS:${amName}`);
  });

  it("server certificates are for server_auth only, client certificates for client_auth only", () => {
    for (const { run, secret, usage } of leaves()) {
      const cert = new X509Certificate(tlsSecret(run, secret).crt);
      assert.deepEqual(cert.keyUsage, [usage === "server" ? SERVER_AUTH : CLIENT_AUTH], `${run.stack} ${secret}`);
      assert.equal(cert.ca, false, `${run.stack} ${secret} is no CA`);
      if (usage === "client") assert.equal(cert.subjectAltName, undefined, `${run.stack} ${secret}: a client certificate names no host`);
    }
  });

  it("keys are ECDSA P-256 and match their certificates; CAs are P-256 CAs", () => {
    for (const { run, secret } of leaves()) {
      const s = tlsSecret(run, secret);
      const cert = new X509Certificate(s.crt);
      const key = createPrivateKey(s.key);
      assert.equal(key.asymmetricKeyType, "ec", `${run.stack} ${secret}`);
      assert.equal(key.asymmetricKeyDetails?.namedCurve, "prime256v1", `${run.stack} ${secret}`);
      assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
      assert.ok(cert.checkPrivateKey(key), `${run.stack} ${secret}: tls.key is the key of tls.crt`);
    }
    const cas = [...SPOKES.flatMap((s) => pemBlocks(output(runOf(plan, s), "thanos", "caPem"))), ...pemBlocks(output(hub, "clientCaPem"))];
    for (const pem of cas) {
      const ca = new X509Certificate(pem);
      assert.equal(ca.ca, true);
      assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    }
  });

  it("leaf validity is exactly pki.leafValidityHours, and each leaf is issued by its stack's CA", () => {
    for (const { run, secret } of leaves()) {
      const cert = new X509Certificate(tlsSecret(run, secret).crt);
      const hours = effectiveConfig(run).pki.leafValidityHours;
      assert.equal(Date.parse(cert.validTo) - Date.parse(cert.validFrom), hours * HOUR, `${run.stack} ${secret}`);
      const caPem = at(outputs(run), "role") === "hub" ? output(run, "clientCaPem") : output(run, "thanos", "caPem");
      assert.ok(cert.verify(new X509Certificate(caPem).publicKey), `${run.stack} ${secret} is signed by the stack CA`);
    }
  });
});
