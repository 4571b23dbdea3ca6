/**
 * `fleet doctor` on the example fleet: every prerequisite of a real deployment is checked and
 * each failure names its fix. The outside world is faked (DoctorProbes), except one test of
 * the real HTTPS probe against a loopback API server with its own CA.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { type CliIO, main } from "../fleet/cli";
import { type DoctorProbes, type HttpAnswer, cloudCredentials, kubeconfigCluster, realProbes } from "../fleet/doctor";
import { EXIT } from "../fleet/exit-codes";
import { FakeRunner } from "./fixtures/fleet/fake-runner";

const PROJECT = join(__dirname, "..");
const SPOKE_SECRETS = ["observability:kubeconfig", "observability:alerting.deadMansSwitch.url", "observability:alerting.receiver.url"];
const HUB_SECRETS = ["observability:kubeconfig", "observability:alerting.deadMansSwitch.url", "observability:alerting.receivers.prod.url", "observability:alerting.receivers.nonProd.url"];

const KUBECONFIG = (server: string, caPem = "ca"): string =>
  `apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nclusters:\n- name: k\n  cluster:\n    server: ${server}\n    certificate-authority-data: ${Buffer.from(caPem).toString("base64")}\nusers:\n- name: u\n  user: {token: t}\n`;

/** Issuers of the example fleet that federation needs: ops-01 (IRSA) and stag-01 (AKS). */
function issuerOf(stack: string): string {
  const m = /oidcIssuerUrl: (\S+)/.exec(readFileSync(join(PROJECT, `Pulumi.${stack}.yaml`), "utf8"));
  return m ? m[1] : "";
}

/** Probes where everything answers as a healthy setup would, with overrides. */
function probes(home: string, over: Partial<DoctorProbes> = {}, urls: Record<string, HttpAnswer | Error> = {}): DoctorProbes & { asked: string[] } {
  const asked: string[] = [];
  const discovery = (issuer: string): [string, HttpAnswer] => [`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, { status: 200, body: JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }) }];
  const answers: Record<string, HttpAnswer | Error> = Object.fromEntries([discovery(issuerOf("ops-01")), discovery(issuerOf("stag-01"))]);
  Object.assign(answers, urls);
  return {
    env: { AWS_PROFILE: "obs", GOOGLE_APPLICATION_CREDENTIALS: join(home, "gcp.json"), ARM_CLIENT_ID: "id", ARM_CLIENT_SECRET: "s", ARM_TENANT_ID: "t" },
    nodeVersion: "22.12.0",
    homeDir: home,
    exists: (p) => existsSync(p),
    pulumiVersion: async () => "3.200.0",
    backendWhoami: async () => "ci",
    httpsGet: async (url) => {
      asked.push(url);
      const a = answers[url] ?? (url.endsWith("/version") ? { status: 401, body: "" } : new Error(`ECONNREFUSED ${url}`));
      if (a instanceof Error) throw a;
      return a;
    },
    asked,
    ...over,
  };
}

describe("fleet doctor", () => {
  let dir: string;
  let home: string;
  beforeEach(() => {
    // A fresh copy per test: the fake runner writes the secrets it sets into the stack files.
    dir = mkdtempSync(join(tmpdir(), "fleet-doctor-"));
    for (const f of readdirSync(PROJECT).filter((f) => /^Pulumi\..*yaml$/.test(f))) copyFileSync(join(PROJECT, f), join(dir, f));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  before(() => {
    home = mkdtempSync(join(tmpdir(), "fleet-doctor-home-"));
    writeFileSync(join(home, "gcp.json"), "{}");
    mkdirSync(join(home, ".aws"));
    writeFileSync(join(home, ".aws", "config"), "[profile obs]\n");
  });
  after(() => {
    rmSync(home, { recursive: true, force: true });
  });

  async function fleetWithSecrets(skip: { stack: string; key: string }[] = []): Promise<FakeRunner> {
    const runner = new FakeRunner({ projectDir: dir, configValues: Object.fromEntries(["dev-01", "edge-dev-01", "edge-otc-01", "ops-01", "prod-01", "stag-01"].map((s) => [s, { "observability:kubeconfig": KUBECONFIG(`https://${s}.k8s.example.invalid`) }])) });
    // The S3-compatible spoke also needs its service's keys: the provisioner's and one per identity it uses.
    const EDGE_SECRETS = [...SPOKE_SECRETS, ...["provisioner", "sidecar", "compactor", "loki", "reader"].flatMap((i) => [`observability:objectStorage.credentials.${i}.accessKey`, `observability:objectStorage.credentials.${i}.secretKey`])];
    // An edge (edge-dev-01) needs its kubeconfig and its own dead man's switch only.
    const EDGE_CLUSTER_SECRETS = ["observability:kubeconfig", "observability:alerting.deadMansSwitch.url"];
    for (const [stack, keys] of [["dev-01", SPOKE_SECRETS], ["edge-dev-01", EDGE_CLUSTER_SECRETS], ["edge-otc-01", EDGE_SECRETS], ["prod-01", SPOKE_SECRETS], ["stag-01", SPOKE_SECRETS], ["ops-01", HUB_SECRETS]] as const) {
      for (const key of keys) if (!skip.some((s) => s.stack === stack && s.key === key)) await runner.setSecret(stack, key, "v");
    }
    return runner;
  }

  const io = (runner: FakeRunner, p: DoctorProbes, env: NodeJS.ProcessEnv = { PULUMI_CONFIG_PASSPHRASE: "pw" }): CliIO & { out: () => string } => {
    let o = "";
    return { stdout: { write: (t) => void (o += t) }, stderr: { write: () => undefined }, env, createRunner: async () => runner, doctorProbes: p, out: () => o };
  };

  it("passes on a complete setup on the local file:// backend", async () => {
    const p = probes(home);
    const x = io(await fleetWithSecrets(), p);
    const code = await main(["doctor", "-C", dir, "--backend", `file://${dir}/.pulumi-state`], x);
    assert.equal(code, EXIT.OK, x.out());
    assert.match(x.out(), /every prerequisite is met/);
    for (const s of ["dev-01", "edge-dev-01", "edge-otc-01", "ops-01", "prod-01", "stag-01"]) assert.ok(p.asked.includes(`https://${s}.k8s.example.invalid/version`), `cluster of ${s} probed`);
    // Federation needs the issuer only for IRSA (ops-01) and AKS (stag-01); dev-01 uses EKS Pod Identity, prod-01 GKE.
    assert.equal(p.asked.filter((u) => u.endsWith("/.well-known/openid-configuration")).length, 2);
  });

  it("reports a missing secret with the command that sets it, and every other failure with its fix", async () => {
    const runner = await fleetWithSecrets([{ stack: "dev-01", key: "observability:alerting.receiver.url" }]);
    const wrongIssuer = `${issuerOf("stag-01").replace(/\/$/, "")}/.well-known/openid-configuration`;
    const p = probes(home, { nodeVersion: "20.19.0", env: { AWS_PROFILE: "obs" } }, {
      "https://prod-01.k8s.example.invalid/version": new Error("connect ETIMEDOUT 10.0.0.1:443"),
      [wrongIssuer]: { status: 200, body: JSON.stringify({ issuer: "https://elsewhere.example/", jwks_uri: "x" }) },
    });
    const x = io(runner, p);
    assert.equal(await main(["doctor", "-C", dir, "--backend", `file://${dir}/.pulumi-state`], x), EXIT.USAGE);
    const out = x.out();
    assert.match(out, /FAIL {2}secrets dev-01: observability:alerting\.receiver\.url is not set\n {8}fix: npm run fleet -- secrets --stacks dev-01 --from-file alerting\.receiver\.url=<file>/);
    assert.match(out, /FAIL {2}node: Node\.js 20\.19\.0, the pinned @pulumi\/pulumi declares engines\.node >= 22\n {8}fix: install Node\.js 22/);
    assert.match(out, /FAIL {2}cluster prod-01: .*ETIMEDOUT[^\n]*\n {8}fix: check the kubeconfig's server/);
    assert.match(out, /FAIL {2}oidc stag-01: .*names issuer "https:\/\/elsewhere\.example\/"[^\n]*\n {8}fix: az aks update -g rg-stag-01-aks -n stag-01-aks --enable-oidc-issuer/);
    assert.match(out, /FAIL {2}credentials prod-01: no gcp credentials[^\n]*\n {8}fix: gcloud auth application-default login/);
    assert.match(out, /ok {4}credentials dev-01: aws credentials: profile obs in /);
  });

  it("without a passphrase or a pulumi CLI, says so and what to do (exit 4 for the CLI)", async () => {
    const p = probes(home, { pulumiVersion: async () => { throw new Error("spawn pulumi ENOENT"); } });
    const x = io(new FakeRunner({ projectDir: dir }), p, {});
    assert.equal(await main(["doctor", "-C", dir, "--backend", `file://${dir}/.pulumi-state`], x), EXIT.PULUMI_MISSING);
    assert.match(x.out(), /FAIL {2}pulumi: no pulumi CLI on PATH\n {8}fix: curl -fsSL https:\/\/get\.pulumi\.com \| sh/);
    assert.match(x.out(), /FAIL {2}passphrase: [^\n]*\n {8}fix: export PULUMI_CONFIG_PASSPHRASE_FILE=/);
    // The stack files still tell which secrets are missing (here: every one, a fresh clone).
    assert.match(x.out(), /FAIL {2}secrets dev-01: observability:kubeconfig is not set in Pulumi\.dev-01\.yaml\n {8}fix: npm run fleet -- secrets --stacks dev-01 --from-file kubeconfig=<kubeconfig file>/);
  });

  it("a missing example-fleet secret is what a fresh clone shows", async () => {
    const runner = new FakeRunner({ projectDir: dir, uninitialized: ["dev-01"] });
    const x = io(runner, probes(home));
    assert.equal(await main(["doctor", "-C", dir, "--stacks", "dev-01", "--backend", `file://${dir}/.pulumi-state`], x), EXIT.USAGE);
    assert.match(x.out(), /FAIL {2}secrets dev-01: observability:kubeconfig is not set\n {8}fix: npm run fleet -- secrets --stacks dev-01 --from-file kubeconfig=<kubeconfig file>/);
  });

  it("finds credentials where each provider documents them", () => {
    const none = (): boolean => false;
    assert.equal(cloudCredentials("aws", {}, "/nohome", none, {}), undefined);
    assert.match(cloudCredentials("aws", { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" }, "/nohome", none, {}) ?? "", /AWS_ACCESS_KEY_ID/);
    assert.equal(cloudCredentials("aws", {}, "/nohome", none, { "aws:profile": "x" }), "aws:profile");
    assert.equal(cloudCredentials("gcp", { GOOGLE_APPLICATION_CREDENTIALS: "/missing.json" }, "/nohome", none, {}), undefined, "a key file that is not there is no credential");
    assert.match(cloudCredentials("gcp", {}, "/h", (p) => p === "/h/.config/gcloud/application_default_credentials.json", {}) ?? "", /application_default_credentials/);
    assert.match(cloudCredentials("azure", {}, "/h", (p) => p === "/h/.azure/azureProfile.json", {}) ?? "", /az login/);
    assert.equal(cloudCredentials("azure", { ARM_CLIENT_ID: "id" }, "/nohome", none, {}), undefined, "a client id alone cannot authenticate");
  });
});

describe("doctor's real HTTPS probe on loopback", () => {
  let tmp: string;
  let server: ReturnType<typeof createServer>;
  let url: string;
  let caPem: string;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "doctor-tls-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(tmp, "key.pem"), "-out", join(tmp, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    caPem = readFileSync(join(tmp, "cert.pem"), "utf8");
    server = createServer({ key: readFileSync(join(tmp, "key.pem")), cert: caPem }, (req, res) => {
      res.statusCode = req.url === "/version" ? 401 : 404;
      res.end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("reaches the API server with the kubeconfig's CA, and refuses a server the CA does not vouch for", async () => {
    const k = kubeconfigCluster(KUBECONFIG(url, caPem));
    assert.equal(k.server, url);
    const answer = await realProbes({}).httpsGet(`${k.server}/version`, { ca: k.ca });
    assert.equal(answer.status, 401, "anonymous access refused still proves reachability");
    await assert.rejects(realProbes({}).httpsGet(`${k.server}/version`, {}), /self[- ]signed|unable to verify|certificate/i);
  });
});
