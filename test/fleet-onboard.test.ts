import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { parse } from "yaml";
import { S3_PUBLIC_REGIONS } from "../components/config/regions";
import { validateStackConfig } from "../components/config/schema";
import { knownStacks, readStackFile } from "../components/config/stackfile";
import { EXIT, FleetError } from "../fleet/exit-codes";
import { type OnboardRequest, addSpokeToHub, applySet, executeOnboard, planOnboard } from "../fleet/onboard";
import { S3_DEFAULT_ENDPOINTS } from "../components/config/regions";
import { SPOKES_ENV } from "../fleet/orchestrator";
import { FakeRunner } from "./fixtures/fleet/fake-runner";
import { DEV02_VALUES } from "./fixtures/fleet/values";

const PROJECT = join(__dirname, "..");

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, createHash("sha256").update(readFileSync(join(dir, f))).digest("hex")]));
}

const VALUES = `
cluster:
  name: prod-02-gke
  project: acme-obs-prod-02
  location: europe-west10
network:
  network: prod-02-vpc
  subnetwork: prod-02-gke-nodes
  cidrs: [10.80.0.0/20]
alerting:
  deadMansSwitch:
    url: https://hnc.example.invalid/ping/prod-02
  receiver:
    url: https://hooks.example.invalid/prod-02
`;

describe("fleet onboard", () => {
  let dir: string;
  beforeEach(() => {
    // A temp copy of the project's stack files: the real ones must never change.
    dir = mkdtempSync(join(tmpdir(), "fleet-onboard-"));
    for (const f of readdirSync(PROJECT).filter((f) => /^Pulumi\..*yaml$/.test(f))) copyFileSync(join(PROJECT, f), join(dir, f));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const request = (over: Partial<OnboardRequest> = {}): OnboardRequest => ({
    stack: "prod-02",
    cloud: "gcp",
    region: "europe-west10",
    environment: "prod",
    values: parse(VALUES) as Record<string, unknown>,
    sets: ["cluster.location=europe-west10-a"],
    kubeconfig: "apiVersion: v1\nkind: Config\n",
    ...over,
  });

  it("writes a stack file the schema accepts, adds exactly one hub entry, then deploys spoke and hub", async () => {
    const hubBefore = readFileSync(join(dir, "Pulumi.ops-01.yaml"), "utf8");
    const runner = new FakeRunner({ projectDir: dir, deployed: ["ops-01", "dev-01", "edge-otc-01", "prod-01", "stag-01"] });
    const outcome = await executeOnboard(dir, runner, planOnboard(dir, request()), { parallel: 4, strict: false });
    assert.equal(outcome.alreadyOnboarded, false);
    assert.equal(outcome.result?.exitCode, EXIT.OK);

    // The secrets went through the runner (the stack's secrets provider), not into the text.
    assert.deepEqual(runner.secrets.map((s) => s.key).sort(), ["observability:alerting.deadMansSwitch.url", "observability:alerting.receiver.url", "observability:kubeconfig"]);
    const file = readStackFile(dir, "prod-02");
    const result = validateStackConfig(file.values, { stack: "prod-02", secretKeys: file.secretKeys, knownStacks: knownStacks(dir) });
    assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.issues));
    assert.equal(result.config.cloud, "gcp");
    assert.equal(result.config.region, "europe-west10");
    assert.equal(result.config.cloud === "gcp" ? result.config.cluster.location : "", "europe-west10-a", "--set wins over --values");
    assert.equal(result.config.role === "spoke" ? result.config.endpoints.thanos : "", "thanos.prod-02.obs.example.eu", "endpoint domain follows the other spokes");

    const hub = readStackFile(dir, "ops-01");
    assert.deepEqual(hub.values.spokes, ["dev-01", "edge-otc-01", "prod-01", "stag-01", "prod-02"]);
    const hubAfter = readFileSync(join(dir, "Pulumi.ops-01.yaml"), "utf8");
    assert.equal(hubAfter.split("\n")[0], hubBefore.split("\n")[0], "the hub's comment is kept");
    const hubValid = validateStackConfig(hub.values, { stack: "ops-01", secretKeys: hub.secretKeys, knownStacks: knownStacks(dir) });
    assert.ok(hubValid.ok);

    // Spoke first, then the already-deployed hub once, wiring every listed spoke.
    assert.deepEqual(runner.calls.map((c) => [c.op, c.stack]), [["up", "prod-02"], ["up", "ops-01"]]);
    assert.equal(SPOKES_ENV in runner.calls[1].env, false);
  });

  it("is idempotent: the second run writes nothing, sets nothing and runs nothing", async () => {
    const runner = new FakeRunner({ projectDir: dir, deployed: ["ops-01"] });
    await executeOnboard(dir, runner, planOnboard(dir, request()), { parallel: 4, strict: false });
    const after1 = snapshot(dir);
    const calls1 = runner.calls.length;
    const secrets1 = runner.secrets.length;
    const plan2 = planOnboard(dir, request());
    assert.equal(plan2.stackFileCurrent, true);
    assert.equal(plan2.hubCurrent, true);
    const second = await executeOnboard(dir, runner, plan2, { parallel: 4, strict: false });
    assert.equal(second.alreadyOnboarded, true);
    assert.deepEqual(snapshot(dir), after1);
    assert.equal(runner.calls.length, calls1);
    assert.equal(runner.secrets.length, secrets1);
    assert.equal((readStackFile(dir, "ops-01").values.spokes as string[]).filter((s) => s === "prod-02").length, 1);
  });

  it("retries the deployment when the files are in place but the spoke never deployed", async () => {
    const failing = new FakeRunner({ projectDir: dir, deployed: ["ops-01"], fail: { "prod-02": "up" } });
    const first = await executeOnboard(dir, failing, planOnboard(dir, request()), { parallel: 4, strict: false });
    assert.equal(first.result?.exitCode, EXIT.STACK_FAILED);
    // The hub still ran, without the failed new spoke.
    assert.deepEqual(failing.of("ops-01")[0].env[SPOKES_ENV]?.split(","), ["dev-01", "edge-otc-01", "prod-01", "stag-01"]);
    const retry = new FakeRunner({ projectDir: dir, deployed: ["ops-01"] });
    const second = await executeOnboard(dir, retry, planOnboard(dir, request()), { parallel: 4, strict: false });
    assert.equal(second.alreadyOnboarded, false);
    assert.deepEqual(second.written, []);
    assert.deepEqual(retry.calls.map((c) => c.stack), ["prod-02", "ops-01"]);
  });

  for (const [label, over] of [
    ["an unknown cloud", { cloud: "ibm" }],
    ["a region of another cloud", { region: "eu-central-1" }],
    ["a region outside the catalogue", { region: "europe-west99" }],
    ["a missing cluster reference", { values: { network: { network: "n", subnetwork: "s", cidrs: ["10.0.0.0/8"] } } }],
    ["a spoke named like the hub", { stack: "ops-01" }],
  ] as const) {
    it(`rejects ${label} before any file is written`, () => {
      const before = snapshot(dir);
      assert.throws(() => planOnboard(dir, request(over)), (e: unknown) => e instanceof FleetError && e.exitCode === EXIT.USAGE);
      assert.deepEqual(snapshot(dir), before);
    });
  }

  it("refuses to overwrite an existing stack file that says something else", () => {
    const values = parse(VALUES) as Record<string, unknown>;
    writeFileSync(join(dir, "Pulumi.prod-02.yaml"), "config:\n  observability:role: spoke\n  observability:cloud: gcp\n  observability:region: europe-west3\n");
    assert.throws(() => planOnboard(dir, request({ values })), /exists and differs/);
  });

  it("infers the environment from the stack name and the zone from the region, and copies no other stack's tags", () => {
    const plan = planOnboard(dir, { stack: "dev-02", cloud: "aws", region: "eu-central-1", values: parse(DEV02_VALUES) as Record<string, unknown>, kubeconfig: "apiVersion: v1\nkind: Config\n" });
    const written = parse(plan.stackText) as { config: Record<string, unknown> };
    assert.equal(written.config["observability:environment"], "dev", "dev-02 is a dev stack");
    // eu-central-1 is Frankfurt (components/config/regions.ts): the zone is the region's country.
    assert.equal(written.config["observability:sovereigntyZone"], "de");
    assert.equal(written.config["observability:tags"], undefined, "no tags unless the team gives them");
    assert.doesNotMatch(plan.stackText, /platform-dev|team-observability|cost-center/);
    // Endpoints are the new stack's own names, never another stack's.
    assert.doesNotMatch(plan.stackText, /dev-01/);
    assert.deepEqual(written.config["observability:endpoints"], { thanos: "thanos.dev-02.obs.example.eu", loki: "loki.dev-02.obs.example.eu" });
  });

  it("asks for --environment when the stack name does not say it", () => {
    assert.throws(() => planOnboard(dir, request({ stack: "frankfurt-02", environment: undefined })), (e: unknown) => e instanceof FleetError && e.exitCode === EXIT.USAGE && /--environment is needed.*dev-, test-, stag-, prod-, ops-/.test(e.message));
    const plan = planOnboard(dir, request({ stack: "prod-02", environment: undefined }));
    assert.match(plan.stackText, /observability:environment: prod/);
  });

  it("adds a hub entry once, creating the list when the hub has none", () => {
    const text = "# keep me\nconfig:\n  observability:role: hub # inline\n";
    const once = addSpokeToHub(text, "dev-09");
    assert.equal(once.changed, true);
    assert.match(once.text, /# keep me/);
    assert.match(once.text, /# inline/);
    const twice = addSpokeToHub(once.text, "dev-09");
    assert.equal(twice.changed, false);
    assert.equal(twice.text, once.text);
  });

  it("--set keeps account ids as strings and parses numbers, booleans and lists", () => {
    const v = applySet(applySet(applySet({}, "cluster.accountId=012345678901"), "egress.count=3"), "network.cidrs=[10.0.0.0/16]");
    assert.deepEqual(v, { cluster: { accountId: "012345678901" }, egress: { count: 3 }, network: { cidrs: ["10.0.0.0/16"] } });
    assert.throws(() => applySet({}, "novalue"), (e: unknown) => e instanceof FleetError && e.exitCode === EXIT.USAGE);
  });
});

/** An OBS user of the project's IAM (OTC principals: arn:aws:iam::<32 hex domain id>:user/<user id>). */
const otcUser = (n: number): string => `arn:aws:iam::219d520ceac84c5a98b237431a2cf4c2:user/${String(n).repeat(32)}`;

const S3_ALERTING = {
  alerting: { deadMansSwitch: { url: "https://hnc.example.invalid/ping/test-02" }, receiver: { url: "https://hooks.example.invalid/test-02" } },
};

/** The object storage keys a hub-store spoke on s3 needs (provisioner and one per identity). */
const S3_KEYS = ["provisioner", "sidecar", "compactor", "loki", "reader"].flatMap((u) => ["accessKey", "secretKey"].map((h) => `observability:objectStorage.credentials.${u}.${h}`));

describe("fleet onboard --cloud s3", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "fleet-onboard-s3-"));
    for (const f of readdirSync(PROJECT).filter((f) => /^Pulumi\..*yaml$/.test(f))) copyFileSync(join(PROJECT, f), join(dir, f));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const otc = (over: Partial<OnboardRequest> = {}): OnboardRequest => ({
    stack: "test-02",
    cloud: "s3",
    region: "eu-de",
    s3Profile: "otc",
    clusterName: "test-02-cce",
    cidrs: ["10.61.0.0/16"],
    egressIps: ["80.158.10.31", "80.158.10.32"],
    principals: [`sidecar=${otcUser(1)}`, `compactor=${otcUser(2)}`, `loki=${otcUser(3)}`, `reader=${otcUser(4)}`],
    lbAnnotations: ["kubernetes.io/elb.id=7b3a1c2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "kubernetes.io/elb.class=performance"],
    kubeconfig: "apiVersion: v1\nkind: Config\n",
    values: structuredClone(S3_ALERTING),
    ...over,
  });

  it("onboards an otc spoke from flags: the stack file validates, the hub lists it once, the keys still to set are listed and nothing deploys without them", async () => {
    const runner = new FakeRunner({ projectDir: dir, deployed: ["ops-01"] });
    const plan = planOnboard(dir, otc());
    assert.deepEqual(plan.missingSecrets, S3_KEYS);
    const outcome = await executeOnboard(dir, runner, plan, { parallel: 4, strict: false });
    assert.equal(outcome.alreadyOnboarded, false);
    assert.deepEqual(outcome.missingSecrets, S3_KEYS);
    assert.equal(runner.calls.length, 0, "a spoke without its object storage keys is not deployed");
    assert.deepEqual(runner.secrets.map((s) => s.key).sort(), ["observability:alerting.deadMansSwitch.url", "observability:alerting.receiver.url", "observability:kubeconfig"]);

    const text = readFileSync(join(dir, "Pulumi.test-02.yaml"), "utf8");
    for (const k of S3_KEYS) assert.match(text, new RegExp(`^#   ${k.replace(/\./g, "\\.")}$`, "m"), `the header lists ${k}`);
    assert.match(text, /npm run fleet -- secrets --stacks test-02 --prompt/);
    const file = readStackFile(dir, "test-02");
    assert.deepEqual(file.standInSecrets.filter((k) => !k.includes(".store.")), S3_KEYS, "the keys are not in the file");
    const result = validateStackConfig(file.values, { stack: "test-02", secretKeys: file.secretKeys, knownStacks: knownStacks(dir) });
    assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.issues));
    assert.equal(result.config.cloud, "s3");
    if (result.config.cloud !== "s3" || result.config.role !== "spoke") throw new Error("not an s3 spoke");
    assert.equal(result.config.objectStorage.endpoint, "https://obs.eu-de.otc.t-systems.com", "the profile's endpoint for eu-de");
    assert.equal(result.config.objectStorage.principals?.reader, otcUser(4));
    assert.deepEqual(result.config.egress, { mode: "existing", count: 2, addresses: ["80.158.10.31", "80.158.10.32"] });
    assert.deepEqual(result.config.network.loadBalancerAnnotations, { "kubernetes.io/elb.id": "7b3a1c2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "kubernetes.io/elb.class": "performance" });
    assert.equal(result.config.hubReader.auth, "key");
    assert.equal(result.config.sovereigntyZone, "de");

    const hub = readStackFile(dir, "ops-01");
    assert.equal((hub.values.spokes as string[]).filter((s) => s === "test-02").length, 1);
    assert.ok(validateStackConfig(hub.values, { stack: "ops-01", secretKeys: hub.secretKeys, knownStacks: knownStacks(dir) }).ok);

    // fleet secrets sets the keys; the same onboard then finds the files in place and deploys.
    for (const k of S3_KEYS) await runner.setSecret("test-02", k, "k3y-value-of-the-test");
    const again = planOnboard(dir, otc());
    assert.equal(again.stackFileCurrent, true);
    assert.equal(again.hubCurrent, true);
    assert.deepEqual(again.missingSecrets, []);
    const second = await executeOnboard(dir, runner, again, { parallel: 4, strict: false });
    assert.deepEqual(second.missingSecrets, []);
    assert.equal(second.result?.exitCode, EXIT.OK);
    assert.deepEqual(runner.calls.map((c) => [c.op, c.stack]), [["up", "test-02"], ["up", "ops-01"]]);
  });

  it("sets object storage keys given in --values as secrets, never in the file", () => {
    const credentials = Object.fromEntries(["provisioner", "sidecar", "compactor", "loki", "reader"].map((u) => [u, { accessKey: `AK${u.toUpperCase()}`, secretKey: `sk-${u}-0123456789` }]));
    const plan = planOnboard(dir, otc({ values: { ...structuredClone(S3_ALERTING), objectStorage: { credentials } } }));
    assert.deepEqual(plan.missingSecrets, []);
    assert.deepEqual(plan.secrets.map((s) => s.key).filter((k) => k.includes("objectStorage")), S3_KEYS);
    assert.doesNotMatch(plan.stackText, /AKSIDECAR|sk-loki|credentials/);
  });

  it("onboards an on-premises ceph spoke at de-fra1 with its endpoint", () => {
    const principals = ["sidecar", "compactor", "loki", "reader"].map((i) => `${i}=arn:aws:iam:::user/observability-${i}`);
    const plan = planOnboard(dir, otc({ s3Profile: "ceph", region: "de-fra1", endpoint: "https://rgw.example.eu", principals, lbAnnotations: ["metallb.universe.tf/address-pool=public"] }));
    writeFileSync(plan.stackPath, plan.stackText);
    const file = readStackFile(dir, "test-02");
    const result = validateStackConfig(file.values, { stack: "test-02", secretKeys: file.secretKeys, knownStacks: knownStacks(dir) });
    assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.issues));
    if (result.config.cloud !== "s3") throw new Error("not s3");
    assert.equal(result.config.region, "de-fra1");
    assert.equal(result.config.sovereigntyZone, "de", "the country of <country>-<site>");
    assert.deepEqual({ profile: result.config.objectStorage.profile, endpoint: result.config.objectStorage.endpoint }, { profile: "ceph", endpoint: "https://rgw.example.eu" });
    assert.deepEqual(plan.missingSecrets, S3_KEYS);
    assert.match(plan.hubTextAfter, /^ {4}- test-02$/m);
  });

  for (const [label, over, message] of [
    ["a missing --profile", { s3Profile: undefined }, /^--profile is required with --cloud s3: .*otc, stackit, ionos/],
    ["a region of another profile", { s3Profile: "stackit" }, /^--region eu-de: not a region of --profile stackit .*use --region eu01; eu-de is a region of --profile otc/],
    ["a public region for an on-premises profile", { s3Profile: "ceph", endpoint: "https://rgw.example.eu" }, /^--region eu-de: an on-premises ceph service is located by <country>-<site>/],
    ["--profile with --cloud aws", { cloud: "aws", region: "eu-central-1", egressIps: undefined, principals: undefined, lbAnnotations: undefined }, /^--profile is only used with --cloud s3/],
    ["a missing --egress-ips", { egressIps: undefined }, /^--egress-ips is required with --cloud s3: .*--egress-ips 80\.158\.10\.21,80\.158\.10\.22/],
    ["an egress address that is not an IP", { egressIps: ["80.158.10.31", "nat-gw-1"] }, /^--egress-ips: nat-gw-1 is not an IP address/],
    ["a missing --endpoint on premises", { s3Profile: "ceph", region: "de-fra1" }, /^--endpoint is required with --profile ceph/],
    ["an endpoint with a path", { endpoint: "https://obs.eu-de.otc.t-systems.com/bucket" }, /^--endpoint https:\/\/obs\.eu-de\.otc\.t-systems\.com\/bucket: expected the https origin/],
    ["a principal in another profile's format", { principals: ["sidecar=observability-sidecar", `compactor=${otcUser(2)}`, `loki=${otcUser(3)}`, `reader=${otcUser(4)}`] }, /^--principal sidecar=observability-sidecar: not a principal of --profile otc; .*like arn:aws:iam::/],
    ["a missing reader principal", { principals: [`sidecar=${otcUser(1)}`, `compactor=${otcUser(2)}`, `loki=${otcUser(3)}`] }, /^--principal is required for reader: .*--principal reader=arn:aws:iam::/],
    ["a missing --cluster-name", { clusterName: undefined }, /^--cluster-name is required with --cloud s3/],
    ["a bad CIDR", { cidrs: ["10.61.0.0/33"] }, /network\.cidrs\[0\]: expected a CIDR block.*\(flag --cidrs\)/],
  ] as const) {
    it(`refuses ${label}, naming the flag, before any file is written`, () => {
      const before = snapshot(dir);
      assert.throws(() => planOnboard(dir, otc(over)), (e: unknown) => e instanceof FleetError && e.exitCode === EXIT.USAGE && message.test(e.message));
      assert.deepEqual(snapshot(dir), before);
    });
  }

  it("has a default endpoint for every catalogued region of a public profile, and only those", () => {
    for (const [profile, regions] of Object.entries(S3_PUBLIC_REGIONS)) {
      const endpoints = S3_DEFAULT_ENDPOINTS[profile as keyof typeof S3_DEFAULT_ENDPOINTS];
      assert.deepEqual(Object.keys(endpoints).sort(), Object.keys(regions).sort(), profile);
      for (const url of Object.values(endpoints)) assert.equal(new URL(url).origin, url);
    }
  });
});
