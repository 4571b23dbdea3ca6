/**
 * Cloud s3 (issue 15): the files the S3-compatible module renders, run by the real consumers.
 *
 * - Thanos v0.42.4 (`thanos tools bucket ...`, built by `npm run tools`) reads the objstore file
 *   of `renderS3CompatibleObjstore` and talks to a real S3 server (versitygw v1.8.0,
 *   test/support/s3server.ts) over verified TLS, whose bucket policy is the one
 *   `s3BucketPolicy` renders for the `ceph` profile, all of it: over TLS the server evaluates
 *   `aws:SecureTransport` as true, so the profile's DenyInsecureTransport statement is in force
 *   and must not stand in the way. Principals are access key ids, as versitygw names them
 *   (auth/bucket_policy_principals.go at v1.8.0); a Ceph spoke gets `arn:aws:iam:::user/<uid>`
 *   instead, with otherwise the same statements.
 * - The loki chart 18.11.0 (`helm template`, the pinned helm) renders `lokiValues` with the
 *   storage block of `renderS3CompatibleLokiStorage` into a configuration that names the key
 *   only by its environment references, and a Loki container that expands them from the Secret.
 *
 * Thanos connects from 127.0.0.1 (it cannot bind another source address), so each bucket's
 * policy places 127.0.0.1 inside the addresses of exactly the party a case plays: the spoke's
 * (`edge-metrics`) or the hub's (`edge-metrics-hub-view`).
 *
 * Upstream behaviour relied on, cited where used:
 * - thanos-io/objstore@71d60dfee488 (the version github.com/thanos-io/thanos v0.42.4's go.mod
 *   pins, v0.0.0-20250804093838-71d60dfee488), providers/s3/s3.go, NewBucketWithConfig.
 * - grafana-community/helm-charts 3386a1156177c6bcd7fdb1ad4c6b1dda094296e0, charts/loki
 *   (18.11.0) templates/_helpers.tpl and templates/_pod.tpl.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { S3_PROFILE_SPECS } from "../components/clouds/s3/profiles";
import { renderS3CompatibleLokiStorage, renderS3CompatibleObjstore, s3BucketPolicy, type S3Endpoint } from "../components/clouds/s3/render";
import { RELEASES } from "../components/endpoints";
import { DEPLOYED_VERSIONS } from "../components/versions";
import { LOKI_S3_KEY_ENV, lokiStorageSchema, lokiValues } from "../components/workloads/values/loki";
import { chartsDir, renderRelease, type Manifest } from "../offline/manifests";
import { REPO_ROOT, toolPath } from "../toolchain";
import { startS3Server, type S3Credentials, type S3Operation, type S3Server } from "./support/s3server";
import { requireTool } from "./support/tools";

const vgw = requireTool("versitygw");
const thanos = requireTool("thanos");
const promtool = requireTool("promtool");
const helm = requireTool("helm");

const keys = (name: string): S3Credentials => ({ accessKey: name, secretKey: `${name}-secret-0001` });
const sidecar = keys("sidecar");
const compactor = keys("compactor");
const hubReader = keys("hubreader");
const stranger = keys("stranger");

/** Where thanos connects from: the kernel's choice for a server on 127.0.0.1. */
const THANOS_FROM = "127.0.0.1";
/** Spoke and hub addresses that are not Thanos' (the harness binds them: Linux routes 127/8 to lo). */
const SPOKE = "127.0.1.5";
const HUB = "127.0.9.5";

/** 127.0.0.1 is the spoke: the sidecar and compactor write from it, the hub reads from HUB only. */
const SPOKE_BUCKET = "edge-metrics";
/** 127.0.0.1 is the hub: the hub reads from it, the spoke writes from 127.0.1.0/24 only. */
const HUB_BUCKET = "edge-metrics-hub-view";
/** The external labels a spoke's sidecar stamps on its blocks. */
const EXTERNAL_LABELS = { cluster: "edge-ceph-01" } as const;

interface Run {
  readonly status: number;
  readonly output: string;
  readonly stdout: string;
}

describe("Thanos v0.42.4 on the rendered objstore files, against a real S3 server over TLS (versitygw v1.8.0)", { skip: vgw.skipReason ?? thanos.skipReason ?? promtool.skipReason }, () => {
  let server: S3Server;
  let work: string;
  /** A block for the spoke to upload, and another one the hub's reader tries to. */
  let spokeBlock: { dir: string; id: string };
  let otherBlock: { dir: string; id: string };
  let endpoint: S3Endpoint;

  /** The objstore file of one identity for one bucket, as the module renders it. */
  const objstoreFile = (bucket: string, who: S3Credentials): string => {
    const file = join(work, `objstore-${bucket}-${who.accessKey}.yaml`);
    writeFileSync(file, renderS3CompatibleObjstore({ bucket, endpoint, credentials: who }));
    return file;
  };

  /**
   * Runs the built thanos with a minimal environment: no AWS_* or proxy variables of the
   * developer's, and with `trustCa` the test CA as the roots file (Go's crypto/x509 on Linux
   * reads SSL_CERT_FILE in place of the system bundle; objstore leaves RootCAs nil without
   * `http_config.tls_config.ca_file`, so that system pool is used: exthttp/tlsconfig.go at the
   * pinned objstore).
   */
  const runThanos = (args: readonly string[], trustCa: boolean): Run => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work, TMPDIR: work };
    if (trustCa) env.SSL_CERT_FILE = server.caPath;
    const r = spawnSync(toolPath("thanos"), [...args], { encoding: "utf8", env, cwd: work, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.error !== undefined) throw r.error;
    return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}`, stdout: r.stdout };
  };
  const bucketCmd = (sub: string, file: string, extra: readonly string[] = []): string[] => ["tools", "bucket", sub, `--objstore.config-file=${file}`, ...extra];
  /**
   * A Thanos run the server refused: non-zero exit, and Thanos' error is the server's AccessDenied.
   * minio-go prints an S3 error's Message, not its Code (minio/minio-go v7.0.93, the version
   * objstore pins: api-error-response.go, `ErrorResponse.Error`). versitygw v1.8.0's messages for
   * code AccessDenied (s3err/s3err.go): an explicit Deny names principal and action
   * (GetExplicitDenyAccessErr, "... with an explicit deny in a resource-based policy"); a request
   * no statement allows gets ErrAccessDenied's "Access Denied.". The same operation, sent by the
   * harness as `who` from Thanos' address, confirms status and code.
   */
  const assertRefused = async (run: Run, who: S3Credentials, refusal: { explicitDeny: string } | "no allow", probe: S3Operation): Promise<void> => {
    assert.notEqual(run.status, 0, run.output);
    const message = refusal === "no allow" ? /err="[^"]*Access Denied\./ : new RegExp(`User: ${who.accessKey} is not authorized to perform: ${refusal.explicitDeny} on resource: .* with an explicit deny in a resource-based policy`);
    assert.match(run.output, message, run.output);
    const r = await server.request({ ...probe, as: who, from: THANOS_FROM });
    assert.deepEqual([r.status, r.code], [403, "AccessDenied"], `${who.accessKey} ${probe.op} from ${THANOS_FROM}: ${r.message ?? ""}`);
  };
  /** Keys of a bucket as the server holds them (root bypasses the bucket policy). */
  const keysOf = async (bucket: string): Promise<readonly string[]> => (await server.request({ op: "ListObjectsV2", bucket, as: server.root })).keys ?? [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "s3-thanos-"));
    server = await startS3Server({ tls: true });
    assert.ok(server.caPath !== undefined && server.endpoint.startsWith("https://127.0.0.1:"));
    endpoint = { url: server.endpoint, region: server.region, addressing: "path" };
    for (const k of [sidecar, compactor, hubReader, stranger]) await server.createUser(k.accessKey, k.secretKey);
    for (const [bucket, spokeSourceCidrs, hubSourceIps] of [
      [SPOKE_BUCKET, [`${THANOS_FROM}/32`], [HUB]],
      [HUB_BUCKET, ["127.0.1.0/24"], [THANOS_FROM]],
    ] as const) {
      await server.createBucket(bucket);
      const policy = s3BucketPolicy({
        bucket,
        profile: S3_PROFILE_SPECS.ceph,
        writers: { sidecar: sidecar.accessKey, compactor: compactor.accessKey },
        localReaders: {},
        spokeSourceCidrs,
        hubReader: { principal: hubReader.accessKey, sourceIps: hubSourceIps },
      });
      assert.ok(policy.Statement.some((s) => s.Sid === "DenyInsecureTransport"), "the full ceph profile, TLS statement included");
      await server.putBucketPolicy(bucket, policy);
    }

    spokeBlock = makeBlock("spoke", 7200);
    otherBlock = makeBlock("other", 4 * 7200);
  });
  after(async () => {
    await server?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  /**
   * One TSDB block of ten samples from `ago` seconds back, made by promtool's backfill from
   * OpenMetrics into its own directory: compaction level 1, which the shipper uploads without
   * --shipper.upload-compacted (thanos v0.42.4 pkg/shipper/shipper.go, Sync).
   */
  const makeBlock = (name: string, ago: number): { dir: string; id: string } => {
    // promtool cuts backfilled blocks at the 2h boundaries of the epoch (its default block
    // duration): the ten minutes of samples start just after the boundary at or before `ago`
    // seconds back, so they never straddle one (a run at xx:5x UTC made two blocks).
    const start = Math.floor((Math.floor(Date.now() / 1000) - ago) / 7200) * 7200 + 60;
    const lines = ["# HELP probe_success Whether the probe succeeded.", "# TYPE probe_success gauge"];
    for (let i = 0; i < 10; i++) lines.push(`probe_success{job="blackbox"} 1 ${start + i * 60}`);
    const input = join(work, `${name}.om`);
    writeFileSync(input, `${lines.join("\n")}\n# EOF\n`);
    const dir = join(work, `blocks-${name}`);
    const made = spawnSync(toolPath("promtool"), ["tsdb", "create-blocks-from", "openmetrics", input, dir], { encoding: "utf8", timeout: 60_000 });
    assert.equal(made.status, 0, `${made.stdout}${made.stderr}`);
    const ids = readdirSync(dir);
    assert.equal(ids.length, 1, `one block: ${ids.join(", ")}`);
    return { dir, id: ids[0] };
  };

  /** A fresh copy of a blocks directory: the shipper writes its thanos.shipper.json into it. */
  const freshCopy = (from: string, name: string): string => {
    const dir = join(work, name);
    cpSync(from, dir, { recursive: true });
    return dir;
  };

  it("the sidecar's file uploads a block through Thanos' shipper over verified TLS, and Thanos lists it", () => {
    // `insecure: false` -> minio.Options{Secure: true}: https, certificate verified
    // (objstore providers/s3/s3.go, NewBucketWithConfig: `Secure: !config.Insecure`); the static
    // key is used as given (`credentials.Static` when access_key is set); `bucket_lookup_type: path`
    // -> minio.BucketLookupPath (BucketLookupType.MinioType), so no DNS name for the bucket.
    const blockId = spokeBlock.id;
    const file = objstoreFile(SPOKE_BUCKET, sidecar);
    const labels = Object.entries(EXTERNAL_LABELS).map(([k, v]) => `--label=${k}="${v}"`);
    const up = runThanos(bucketCmd("upload-blocks", file, [`--path=${freshCopy(spokeBlock.dir, "upload-sidecar")}`, ...labels]), true);
    assert.equal(up.status, 0, up.output);
    assert.match(up.output, /msg="synced blocks" uploaded=1/);

    const ls = runThanos(bucketCmd("ls", file, ["-o", "json"]), true);
    assert.equal(ls.status, 0, ls.output);
    assert.ok(ls.stdout.includes(`"ulid": "${blockId}"`), `thanos lists the block:\n${ls.output}`);
    assert.ok(ls.stdout.includes(`"cluster": "${EXTERNAL_LABELS.cluster}"`), "with the external labels the shipper stamped");
  });

  it("the server holds exactly what Thanos uploaded", async () => {
    const blockId = spokeBlock.id;
    const held = await keysOf(SPOKE_BUCKET);
    for (const k of ["meta.json", "index", "chunks/000001"]) assert.ok(held.includes(`${blockId}/${k}`), `${blockId}/${k} in ${held.join(", ")}`);
  });

  it("insecure: false really is TLS: without the CA trusted, the same file fails certificate verification", () => {
    const ls = runThanos(bucketCmd("ls", objstoreFile(SPOKE_BUCKET, sidecar)), false);
    assert.notEqual(ls.status, 0, ls.output);
    assert.match(ls.output, /tls: failed to verify certificate: x509: certificate signed by unknown authority/);
  });

  it("the hub reader's file is refused where the policy does not list 127.0.0.1 among the hub's addresses; a stranger's key anywhere", async () => {
    // The hub reader: DenyHubReaderOutsideItsAddresses (NotIpAddress aws:SourceIp).
    const byHub = runThanos(bucketCmd("ls", objstoreFile(SPOKE_BUCKET, hubReader)), true);
    await assertRefused(byHub, hubReader, { explicitDeny: "s3:ListBucket" }, { op: "ListObjectsV2", bucket: SPOKE_BUCKET });
    // A stranger: no statement names its key, on either bucket.
    for (const bucket of [SPOKE_BUCKET, HUB_BUCKET]) {
      const byStranger = runThanos(bucketCmd("ls", objstoreFile(bucket, stranger)), true);
      await assertRefused(byStranger, stranger, "no allow", { op: "ListObjectsV2", bucket });
    }
  });

  it("the hub reader's file lists from the hub's addresses what the sidecar wrote from the spoke's, and never writes", async () => {
    // The sidecar writes this bucket from the spoke's addresses (127.0.1.0/24), which Thanos'
    // 127.0.0.1 is not here: the block goes up through the harness, bound to SPOKE.
    const blockId = spokeBlock.id;
    const dir = join(spokeBlock.dir, blockId);
    const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as Record<string, unknown>;
    const thanosMeta = { ...meta, thanos: { labels: { ...EXTERNAL_LABELS }, downsample: { resolution: 0 }, source: "sidecar" } };
    const objects: [string, string | Uint8Array][] = [
      ["chunks/000001", readFileSync(join(dir, "chunks", "000001"))],
      ["index", readFileSync(join(dir, "index"))],
      ["meta.json", JSON.stringify(thanosMeta, null, "\t")],
    ];
    for (const [k, body] of objects) {
      const r = await server.request({ op: "PutObject", bucket: HUB_BUCKET, key: `${blockId}/${k}`, body, as: sidecar, from: SPOKE });
      assert.equal(r.status, 200, `${k}: ${r.code ?? ""}`);
    }

    const file = objstoreFile(HUB_BUCKET, hubReader);
    const ls = runThanos(bucketCmd("ls", file, ["-o", "json"]), true);
    assert.equal(ls.status, 0, ls.output);
    assert.ok(ls.stdout.includes(`"ulid": "${blockId}"`), `the hub lists the spoke's block:\n${ls.output}`);

    // The reader's key cannot write, from the hub's addresses either (DenyReadersAnyWrite).
    const up = runThanos(bucketCmd("upload-blocks", file, [`--path=${freshCopy(otherBlock.dir, "upload-hub")}`, `--label=cluster="hub"`]), true);
    await assertRefused(up, hubReader, { explicitDeny: "s3:PutObject" }, { op: "PutObject", bucket: HUB_BUCKET, key: `${otherBlock.id}/meta.json`, body: "{}" });
    assert.ok(!(await keysOf(HUB_BUCKET)).some((k) => k.startsWith(`${otherBlock.id}/`)), "nothing of the reader's upload landed");

    // And the spoke's writers are refused from 127.0.0.1, which is not the spoke's here.
    const refused = runThanos(bucketCmd("ls", objstoreFile(HUB_BUCKET, sidecar)), true);
    await assertRefused(refused, sidecar, { explicitDeny: "s3:ListBucket" }, { op: "ListObjectsV2", bucket: HUB_BUCKET });
  });

  it("the sidecar never deletes: Thanos' cleanup of a block marked for deletion is refused with its key and done with the compactor's", async () => {
    const blockId = spokeBlock.id;
    const compactorFile = objstoreFile(SPOKE_BUCKET, compactor);
    const mark = runThanos(bucketCmd("mark", compactorFile, [`--id=${blockId}`, "--marker=deletion-mark.json", "--details=s3-thanos test"]), true);
    assert.equal(mark.status, 0, mark.output);
    assert.ok((await keysOf(SPOKE_BUCKET)).includes(`${blockId}/deletion-mark.json`));

    const cleanup = ["--delete-delay=0s", "--consistency-delay=0s"];
    const bySidecar = runThanos(bucketCmd("cleanup", objstoreFile(SPOKE_BUCKET, sidecar), cleanup), true);
    // No statement allows the sidecar s3:DeleteObject (S3_USER_ACTIONS.sidecar).
    await assertRefused(bySidecar, sidecar, "no allow", { op: "DeleteObject", bucket: SPOKE_BUCKET, key: `${blockId}/meta.json` });
    assert.ok((await keysOf(SPOKE_BUCKET)).includes(`${blockId}/index`), "the sidecar deleted nothing");

    const byCompactor = runThanos(bucketCmd("cleanup", compactorFile, cleanup), true);
    assert.equal(byCompactor.status, 0, byCompactor.output);
    assert.deepEqual((await keysOf(SPOKE_BUCKET)).filter((k) => k.startsWith(`${blockId}/`)), [], "the compactor deleted the block");
  });
});

// ---- Loki: the real chart renders the key as environment references --------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

describe(`the loki chart ${DEPLOYED_VERSIONS.loki} renders the S3-compatible storage without a key (helm template)`, { skip: helm.skipReason }, () => {
  const endpoint: S3Endpoint = { url: "https://rgw.fra1.example.eu:8443", region: "de-fra1", addressing: "path" };
  const credentialsSecret = "loki-s3-credentials";
  let manifests: Manifest[];
  let configText: string;
  let common: Obj;

  before(() => {
    const charts = chartsDir(REPO_ROOT);
    assert.ok(charts !== undefined, "../shared/reference/charts (or SOVEREIGN_CHARTS_DIR) holds the pinned charts");
    const { storage } = renderS3CompatibleLokiStorage({ bucket: "edge-logs", endpoint });
    const values = lokiValues({
      profile: "small",
      mode: "single-binary",
      storage: lokiStorageSchema.parse(storage),
      retention: { logs: "30d" },
      identity: { serviceAccountName: "loki", annotations: {}, podLabels: {} },
      gateway: { htpasswdSecret: "loki-gateway-htpasswd", tlsSecret: "loki-gateway-tls" },
      credentialsSecret,
    });
    const rel = renderRelease({ resource: "s3-thanos-test", release: RELEASES.loki, chart: "loki", version: DEPLOYED_VERSIONS.loki, namespace: "observability", values }, { helm: toolPath("helm"), chartsDir: charts });
    assert.equal(rel.error, undefined, rel.error);
    manifests = rel.manifests;
    // The chart writes Loki's config.yaml into a ConfigMap (loki.configStorageType: ConfigMap, the
    // default) or a Secret, named by loki.generatedConfigObjectName (templates/config.yaml).
    const holders = manifests.filter((m) => (m.kind === "ConfigMap" || m.kind === "Secret") && isObj(m.data) && typeof m.data["config.yaml"] === "string");
    assert.equal(holders.length, 1, `one generated Loki config: ${holders.map((m) => `${m.kind}/${m.metadata.name}`).join(", ")}`);
    const data = holders[0].data as Obj;
    configText = holders[0].kind === "Secret" ? Buffer.from(String(data["config.yaml"]), "base64").toString("utf8") : String(data["config.yaml"]);
    const config = parse(configText) as Obj;
    assert.ok(isObj(config.common) && isObj(config.common.storage), configText);
    common = config.common.storage as Obj;
  });

  it("common storage s3 holds the environment references, the endpoint host and path-style addressing as rendered", () => {
    // templates/_helpers.tpl, "loki.lokiStorageConfig.s3": `access_key_id: {{ .accessKeyId }}`,
    // `secret_access_key: {{ .secretAccessKey }}`, `endpoint`, `region`, and `s3forcepathstyle`
    // from `.s3ForcePathStyle`; the rest of loki.storage.s3 (insecure) is merged in as is.
    assert.ok(isObj(common.s3), configText);
    const s3 = common.s3;
    assert.ok(configText.includes(`access_key_id: \${${LOKI_S3_KEY_ENV.accessKey}}`), configText);
    assert.ok(configText.includes(`secret_access_key: \${${LOKI_S3_KEY_ENV.secretKey}}`), configText);
    assert.equal(s3.access_key_id, "${LOKI_S3_ACCESS_KEY_ID}");
    assert.equal(s3.secret_access_key, "${LOKI_S3_SECRET_ACCESS_KEY}");
    assert.equal(s3.endpoint, "rgw.fra1.example.eu:8443");
    assert.equal(s3.region, "de-fra1");
    assert.equal(s3.s3forcepathstyle, true);
    assert.equal(s3.insecure, false);
    assert.equal(s3.bucketnames, "edge-logs");
  });

  it("the Loki container expands its environment and takes it from the credentials Secret", () => {
    const workloads = manifests.filter((m) => m.kind === "StatefulSet" || m.kind === "Deployment");
    const containers = workloads.flatMap((w) => {
      const spec = (w.spec as Obj | undefined)?.template as Obj | undefined;
      const pod = spec?.spec as Obj | undefined;
      return ((pod?.containers as Obj[] | undefined) ?? []).map((c) => ({ workload: w.metadata.name, c }));
    });
    // templates/_pod.tpl: the single binary's container is named `loki` (`replace "single-binary"
    // "loki" $target`); its args end with `concat .Values.global.extraArgs .Values.defaults.extraArgs
    // $component.extraArgs | uniq`, its envFrom is `concat ... .Values.defaults.extraEnvFrom ... | uniq`.
    const loki = containers.filter(({ c }) => c.name === "loki");
    assert.equal(loki.length, 1, `one Loki container in ${workloads.map((w) => `${w.kind}/${w.metadata.name}`).join(", ")}`);
    const { c } = loki[0];
    const args = (c.args as string[] | undefined) ?? [];
    // Chart 18.11.0 passes -config.expand-env=true itself (_pod.tpl), once.
    assert.equal(args.filter((a) => a === "-config.expand-env=true").length, 1, args.join(" "));
    assert.ok(args.includes("-config.file=/etc/loki/config/config.yaml"), args.join(" "));
    assert.deepEqual(c.envFrom, [{ secretRef: { name: credentialsSecret } }]);
  });

  it("no literal key appears anywhere in the manifests: every key field is an environment reference", () => {
    // Every line of every string in every manifest (the config.yaml included) and every map key.
    const lines: string[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === "string") lines.push(...v.split("\n"));
      else if (Array.isArray(v)) v.forEach(walk);
      else if (isObj(v))
        for (const [k, x] of Object.entries(v)) {
          lines.push(k);
          walk(x);
        }
    };
    walk(manifests);
    const keyField = /(access_key_id|secret_access_key|accessKeyId|secretAccessKey|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)["']?\s*[:=]\s*["']?([^\s"']*)/;
    const found = lines.flatMap((l) => {
      const m = keyField.exec(l);
      return m === null ? [] : [`${m[1]}=${m[2]}`];
    });
    assert.ok(found.length >= 2, `the key fields are rendered: ${found.join(", ")}`);
    for (const f of found) assert.match(f, /=\$\{LOKI_S3_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)\}$/, `not an environment reference: ${f}`);
    // And the Secret itself is the operator's: the chart renders no object of that name.
    assert.ok(!manifests.some((m) => m.metadata.name === credentialsSecret), "the credentials Secret is not rendered by the chart");
  });
});
