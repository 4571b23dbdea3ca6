/**
 * Secrets per stack: the example stacks carry no ciphertext (a team's own secrets provider
 * could not decrypt it), the offline engine stands in for absent secrets, and `fleet secrets`
 * lists and sets them through the runner without ever printing a value.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { SECRET_LEAVES, isSecureLeaf, listStacks, readStackFile, validateStackConfig } from "../components/config";
import { type CliIO, main } from "../fleet/cli";
import { SPOKES_ENV, runStack } from "../offline";
import { EXIT } from "../fleet/exit-codes";
import { terminalPrompt } from "../fleet/secrets";
import { EventEmitter } from "node:events";
import { FakeRunner, type FakeOptions } from "./fixtures/fleet/fake-runner";
import { DEV02_VALUES } from "./fixtures/fleet/values";

const PROJECT = join(__dirname, "..");


function io(runner: FakeRunner, prompt?: (q: string) => Promise<string>): CliIO & { out: () => string; err: () => string } {
  let o = "";
  let e = "";
  return {
    stdout: { write: (t) => void (o += t), isTTY: false },
    stderr: { write: (t) => void (e += t) },
    env: { PULUMI_CONFIG_PASSPHRASE: "test", CI: "true" },
    createRunner: async () => runner,
    prompt,
    out: () => o,
    err: () => e,
  };
}

describe("example stacks carry no secure: values", () => {
  it("no Pulumi.<stack>.yaml of a fresh clone holds ciphertext", () => {
    // What git would check out: the committed files, not the working tree someone may have edited.
    const files = execFileSync("git", ["ls-files", "Pulumi.*.yaml"], { cwd: PROJECT, encoding: "utf8" }).split("\n").filter(Boolean);
    assert.ok(files.length >= 4, files.join(", "));
    for (const f of files) {
      const text = execFileSync("git", ["show", `HEAD:${f}`], { cwd: PROJECT, encoding: "utf8" });
      assert.doesNotMatch(text, /secure:/, `${f} carries a secure: value`);
    }
    for (const s of listStacks(PROJECT)) assert.deepEqual(readStackFile(PROJECT, s).setSecrets, [], `Pulumi.${s}.yaml`);
  });

  it("the secret leaves come from the schema and the offline view stands in for each absent one", () => {
    assert.deepEqual([...SECRET_LEAVES.spoke.aws], ["kubeconfig", "alerting.deadMansSwitch.url", "alerting.receiver.url"]);
    assert.deepEqual([...SECRET_LEAVES.hub.aws], ["kubeconfig", "alerting.deadMansSwitch.url", "alerting.receivers.prod.url", "alerting.receivers.nonProd.url"]);
    const f = readStackFile(PROJECT, "dev-01");
    assert.deepEqual(f.standInSecrets, ["observability:kubeconfig", "observability:alerting.deadMansSwitch.url", "observability:alerting.receiver.url"]);
    assert.equal(f.values.kubeconfig, "offline-secret:dev-01:observability:kubeconfig");
    assert.equal((f.values.alerting as { receiver: { url: string } }).receiver.url, "https://offline.invalid/dev-01/observability-alerting.receiver.url");
    assert.equal((f.values.alerting as { forwardToHub: boolean }).forwardToHub, true, "plain values beside the secrets are kept");
    assert.ok(f.secretKeys.has("observability:kubeconfig") && f.secretKeys.has("observability:alerting"), "stood-in keys are still secret");
    assert.ok(validateStackConfig(f.values, { stack: "dev-01", secretKeys: f.secretKeys }).ok);
  });

  it("the real hub program runs offline on the stack file without secrets, the stand-ins kept secret", async () => {
    const run = await runStack({ stack: "ops-01", env: { [SPOKES_ENV]: "" } });
    assert.equal(run.error, undefined, run.error?.message);
    assert.ok(run.resources.length > 0);
    assert.deepEqual(run.standInSecrets, ["observability:alerting.deadMansSwitch.url", "observability:alerting.receivers.nonProd.url", "observability:alerting.receivers.prod.url", "observability:kubeconfig"]);
    assert.ok(run.secretKeys.includes("observability:kubeconfig") && run.secretKeys.includes("observability:alerting"));
  });

  it("a set secret is read as set, not stood in for", () => {
    const dir = mkdtempSync(join(tmpdir(), "secrets-file-"));
    try {
      const text = readFileSync(join(PROJECT, "Pulumi.dev-01.yaml"), "utf8").replace("  observability:hub:", "  observability:kubeconfig:\n    secure: v1:abc\n  observability:hub:");
      writeFileSync(join(dir, "Pulumi.dev-01.yaml"), text);
      const f = readStackFile(dir, "dev-01");
      assert.deepEqual(f.setSecrets, ["observability:kubeconfig"]);
      assert.ok(!f.standInSecrets.includes("observability:kubeconfig"));
      assert.ok(isSecureLeaf({ secure: "v1:abc" }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fleet secrets", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "fleet-secrets-"));
    for (const f of readdirSync(PROJECT).filter((f) => /^Pulumi\..*yaml$/.test(f))) copyFileSync(join(PROJECT, f), join(dir, f));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const fake = (o: FakeOptions = {}): FakeRunner => new FakeRunner({ projectDir: dir, ...o });

  it("lists every missing secret per stack with the command that sets it, exit 3", async () => {
    const x = io(fake({ uninitialized: ["dev-01"] }));
    assert.equal(await main(["secrets", "-C", dir, "--stacks", "dev-01,ops-01"], x), EXIT.USAGE);
    const out = x.out();
    assert.match(out, /dev-01 \(spoke, aws\): 0 of 3 secrets set \(stack not created in the backend yet/);
    assert.match(out, /MISSING {2}observability:kubeconfig: npm run fleet -- secrets --stacks dev-01 --from-file kubeconfig=<kubeconfig file>/);
    assert.match(out, /MISSING {2}observability:alerting\.receivers\.nonProd\.url: npm run fleet -- secrets --stacks ops-01 --from-file alerting\.receivers\.nonProd\.url=<file>/);
    assert.match(out, /7 secret\(s\) missing/);
  });

  it("sets secrets from files through the runner, never printing a value, and then reports them set", async () => {
    const kube = join(dir, "kube.yaml");
    writeFileSync(kube, "apiVersion: v1\nkind: Config\nclusters: []\n# marker-kubeconfig-value\n");
    const url = join(dir, "url.txt");
    writeFileSync(url, "https://hooks.example.invalid/marker-url-value\n");
    const runner = fake();
    const x = io(runner);
    const code = await main(["secrets", "-C", dir, "--stacks", "dev-01", "--from-file", `kubeconfig=${kube}`, "--from-file", `observability:alerting.receiver.url=${url}`], x);
    assert.equal(code, EXIT.USAGE, "one secret is still missing");
    assert.deepEqual(runner.secrets, [{ stack: "dev-01", key: "observability:kubeconfig" }, { stack: "dev-01", key: "observability:alerting.receiver.url" }]);
    assert.match(x.out(), /set {6}observability:kubeconfig/);
    assert.match(x.out(), /MISSING {2}observability:alerting\.deadMansSwitch\.url/);
    assert.doesNotMatch(x.out() + x.err(), /marker-/, "no value is echoed");
    // The fake stores what `pulumi config set --secret --path` stores; the URL lost its newline.
    const stored = readFileSync(join(dir, "Pulumi.dev-01.yaml"), "utf8");
    assert.ok(stored.includes(Buffer.from("https://hooks.example.invalid/marker-url-value").toString("base64")));
  });

  it("prompts for each missing secret (the kubeconfig as a path) and exits 0 when all are set", async () => {
    const kube = join(dir, "kube.yaml");
    writeFileSync(kube, "apiVersion: v1\nkind: Config\n");
    const asked: string[] = [];
    const runner = fake();
    const x = io(runner, async (q) => {
      asked.push(q);
      return q.includes("kubeconfig") ? kube : "https://hooks.example.invalid/x";
    });
    assert.equal(await main(["secrets", "-C", dir, "--stacks", "stag-01", "--prompt"], x), EXIT.OK);
    assert.equal(asked.length, 3);
    assert.match(x.out(), /every secret is set/);
    assert.doesNotMatch(x.out(), /hooks\.example\.invalid/);
  });

  it("refuses a key that is not a secret of the stack, or --from-file over several stacks, before setting anything", async () => {
    const f = join(dir, "v.txt");
    writeFileSync(f, "x");
    const runner = fake();
    const x = io(runner);
    assert.equal(await main(["secrets", "-C", dir, "--stacks", "dev-01", "--from-file", `alerting.receivers.prod.url=${f}`], x), EXIT.USAGE);
    assert.match(x.err(), /not a secret of dev-01 \(a spoke on aws\)/);
    assert.equal(await main(["secrets", "-C", dir, "--from-file", `kubeconfig=${f}`], x), EXIT.USAGE);
    assert.match(x.err(), /--from-file sets the secrets of one stack/);
    assert.deepEqual(runner.secrets, []);
  });
});

describe("the terminal prompt", () => {
  /** A terminal as the prompt sees it: raw-mode switch, keystrokes as data events, and what is written back. */
  function terminal(): { input: NodeJS.ReadStream; output: NodeJS.WriteStream; written: () => string; raw: boolean[]; type: (s: string) => void } {
    const input = new EventEmitter() as unknown as NodeJS.ReadStream & { isTTY: boolean };
    const raw: boolean[] = [];
    let written = "";
    Object.assign(input, { isTTY: true, setRawMode: (m: boolean) => { raw.push(m); return input; }, resume: () => input, pause: () => input });
    const output = { write: (t: string) => { written += t; return true; } } as unknown as NodeJS.WriteStream;
    return { input, output, written: () => written, raw, type: (s) => void input.emit("data", Buffer.from(s)) };
  }

  it("reads a value in raw mode without echoing it, honouring backspace", async () => {
    const t = terminal();
    const answer = terminalPrompt(t.input, t.output)("dev-01 observability:alerting.receiver.url: ");
    t.type("https://hooks.example.invalid/tokenX");
    t.type("\u007f");
    t.type("Y\r");
    assert.equal(await answer, "https://hooks.example.invalid/tokenY");
    assert.equal(t.written(), "dev-01 observability:alerting.receiver.url: \n", "only the question is written, never a typed character");
    assert.deepEqual(t.raw, [true, false], "raw mode is switched off again");
  });

  it("refuses without a terminal, pointing at --from-file", async () => {
    const t = terminal();
    Object.assign(t.input, { isTTY: false });
    await assert.rejects(terminalPrompt(t.input, t.output)("q: "), /--prompt needs a terminal; without one use --from-file key=path/);
  });
});

describe("closed pipe", () => {
  // Node reports a write to a pipe whose reader exited as an 'error' event (EPIPE); unhandled it
  // is thrown with a stack trace (https://nodejs.org/api/events.html#error-events).
  it("`fleet up --dry-run | head -1` ends quietly with the command's own exit code", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", join(PROJECT, "fleet/cli.ts"), "up", "--dry-run"], { cwd: PROJECT, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy(); // the reader is gone before the first line is written
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on("close", (c) => r(c)));
    assert.equal(stderr, "", "nothing on stderr, no stack trace");
    assert.equal(code, EXIT.OK);
  });

  it("the same through a shell pipeline: onboard --dry-run | head -1", () => {
    const tmp = mkdtempSync(join(tmpdir(), "fleet-pipe-"));
    try {
      writeFileSync(join(tmp, "values.yaml"), DEV02_VALUES);
      writeFileSync(join(tmp, "kube.yaml"), "apiVersion: v1\nkind: Config\n");
      const script = `set -o pipefail; node --import tsx fleet/cli.ts onboard dev-02 --cloud aws --region eu-central-1 --values ${tmp}/values.yaml --kubeconfig-file ${tmp}/kube.yaml --dry-run 2>${tmp}/stderr | head -1; echo "exit=$?"; cat ${tmp}/stderr`;
      const out = execFileSync("bash", ["-c", script], { cwd: PROJECT, encoding: "utf8" });
      assert.match(out, /^fleet onboard dev-02: dry run/, out);
      assert.doesNotMatch(out, /EPIPE|Unhandled|\(node:/, out);
      assert.match(out, /exit=0/, out);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
