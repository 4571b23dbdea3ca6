/**
 * A real S3-compatible server for the tests: versitygw (Apache-2.0), built by `npm run tools` at
 * the version pinned in components/versions.ts, serving a fresh temporary directory through its
 * posix backend with its internal IAM (`--iam-dir`). It evaluates bucket policies (principals,
 * actions, resources, explicit Deny and, from v1.8.0, Condition with aws:SourceIp), so a test
 * can check a policy we generate or rely on against a server that enforces it, not against our
 * own reading of the IAM documentation.
 *
 * Requests are signed by the AWS SDK (SigV4, path-style) with credentials the test chooses, and
 * leave from a source address the test chooses: Linux routes all of 127.0.0.0/8 to `lo`, so a
 * client bound to 127.0.7.7 reaches a server on 127.0.0.1 and the server sees 127.0.7.7 as its
 * TCP peer (versitygw's aws:SourceIp, auth/condition_context.go at v1.8.0).
 *
 * With `tls: true` it serves HTTPS (`--cert`/`--key`, cmd/versitygw/main.go and
 * embedgw/embedgw.go at v1.8.0) with a server certificate for the IP 127.0.0.1 issued by a CA
 * made for this server alone, in-process (@peculiar/x509, ECDSA P-256); `caPath` is that CA's PEM
 * for the clients under test (Go: `SSL_CERT_FILE`), and the harness's own requests trust it and
 * nothing else. The admin API stays plain HTTP on 127.0.0.1 (no `--admin-cert`: "When empty and
 * AdminPorts is set, the admin server runs without TLS", embedgw/embedgw.go). Over TLS the
 * server evaluates `aws:SecureTransport` as true (auth/condition_context.go, `ctx.Secure()`).
 *
 * Test support only: no product code imports this.
 */
// @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which needs this polyfill loaded first.
import "reflect-metadata";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { KeyObject, webcrypto } from "node:crypto";
import { Agent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketPolicyCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import * as px509 from "@peculiar/x509";
import { toolPath } from "../../toolchain";

/** An access key pair. */
export interface S3Credentials {
  readonly accessKey: string;
  readonly secretKey: string;
}

/** The S3 operations the harness sends, with what each needs. */
export type S3Operation =
  | { readonly op: "PutObject"; readonly bucket: string; readonly key: string; readonly body: string | Uint8Array }
  | { readonly op: "GetObject"; readonly bucket: string; readonly key: string }
  | { readonly op: "DeleteObject"; readonly bucket: string; readonly key: string }
  | { readonly op: "ListObjectsV2"; readonly bucket: string; readonly prefix?: string }
  | { readonly op: "GetBucketPolicy"; readonly bucket: string }
  | { readonly op: "PutBucketPolicy"; readonly bucket: string; readonly policy: string };

/** Who sends a request and from where. */
export interface S3Caller {
  /** Signing credentials, or `"anonymous"` for an unsigned request (no Authorization header). */
  readonly as: S3Credentials | "anonymous";
  /** Local address the client binds (any 127.0.0.0/8 address on Linux); default: the kernel's choice. */
  readonly from?: string;
}

/** One S3 request: the operation, its caller and source address. */
export type S3Request = S3Operation & S3Caller;

/** What the server answered. */
export interface S3Response {
  /** HTTP status. */
  readonly status: number;
  /** S3 error code (`AccessDenied`, `NoSuchKey`, `MalformedPolicy`...), undefined on success. */
  readonly code: string | undefined;
  /** The S3 error message (versitygw names an explicit Deny in it), undefined on success. */
  readonly message?: string;
  /** GetObject: the object's content; GetBucketPolicy: the policy document. */
  readonly body?: string;
  /** ListObjectsV2: the keys listed. */
  readonly keys?: readonly string[];
}

/** A running versitygw. */
export interface S3Server {
  /** `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` with `tls`: the S3 endpoint (path-style). */
  readonly endpoint: string;
  /** The region the server serves and signatures must name (`--region`). */
  readonly region: string;
  /** With `tls`: path of the PEM of the CA that issued the server's certificate (removed by `stop()`). */
  readonly caPath: string | undefined;
  /** With `tls`: that CA's PEM. */
  readonly caPem: string | undefined;
  /** `http://127.0.0.1:PORT` of the admin API (`versitygw admin --er`). */
  readonly adminEndpoint: string;
  /** The root account: bypasses every bucket policy and ACL (auth/access-control.go, authorizationApplies). */
  readonly root: S3Credentials;
  /** Creates an IAM user with role `user` (no rights beyond what ACLs and bucket policies grant). */
  createUser(accessKey: string, secretKey: string): Promise<void>;
  /** Creates a bucket owned by root; throws when the server refuses. */
  createBucket(bucket: string): Promise<void>;
  /** Sets a bucket policy as root; throws with the S3 error code when the server refuses it. */
  putBucketPolicy(bucket: string, policy: string | object): Promise<void>;
  /** Sends one request to this server; see {@link s3Request}. */
  request(req: S3Request): Promise<S3Response>;
  /** Stops the server (SIGTERM, then SIGKILL), waits for its exit and removes its directories. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startS3Server}. */
export interface S3ServerOptions {
  /** Root credentials (default ROOTACCESS / ROOTSECRET1234). */
  readonly root?: S3Credentials;
  /** How long to wait for both ports to answer (default 30 s). */
  readonly startTimeoutMs?: number;
  /** Serve the S3 API over HTTPS with a fresh CA and a certificate for IP 127.0.0.1 (default false: plain HTTP). */
  readonly tls?: boolean;
}

/** Client options of {@link s3Request}. */
export interface S3ClientOptions {
  /** PEM of the CAs an `https://` endpoint is verified against (instead of Node's bundled roots). */
  readonly ca?: string;
}

/** PEM files of a server certificate and the CA that issued it. */
interface TlsFiles {
  readonly caPath: string;
  readonly caPem: string;
  readonly certPath: string;
  readonly keyPath: string;
}

/** The Web Crypto provider @peculiar/x509 signs with: Node's own. */
const x509Crypto = webcrypto as unknown as NonNullable<Parameters<typeof px509.X509CertificateGenerator.create>[1]>;

/**
 * A CA (self-signed, CA:true, keyCertSign) and a server certificate it issues for the IP SAN
 * 127.0.0.1 (serverAuth), both ECDSA P-256 / SHA-256, valid from an hour ago for a day, written
 * into `dir`. The CA's key is never written: nothing else can be issued under it.
 */
async function issueServerCertificate(dir: string): Promise<TlsFiles> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
  const notBefore = new Date(Date.now() - 3600_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const caKeys = await x509Crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const ca = await px509.X509CertificateGenerator.createSelfSigned(
    {
      name: "CN=versitygw test CA",
      keys: caKeys,
      signingAlgorithm: alg,
      notBefore,
      notAfter,
      extensions: [
        new px509.BasicConstraintsExtension(true, 0, true),
        new px509.KeyUsagesExtension(px509.KeyUsageFlags.keyCertSign | px509.KeyUsageFlags.cRLSign, true),
        await px509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, x509Crypto),
      ],
    },
    x509Crypto,
  );
  const keys = await x509Crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const cert = await px509.X509CertificateGenerator.create(
    {
      subject: "CN=127.0.0.1",
      issuer: ca.subject,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: alg,
      notBefore,
      notAfter,
      extensions: [
        new px509.BasicConstraintsExtension(false, undefined, true),
        new px509.KeyUsagesExtension(px509.KeyUsageFlags.digitalSignature, true),
        new px509.ExtendedKeyUsageExtension([px509.ExtendedKeyUsage.serverAuth]),
        new px509.SubjectAlternativeNameExtension([{ type: "ip", value: "127.0.0.1" }]),
        await px509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, x509Crypto),
      ],
    },
    x509Crypto,
  );
  const caPem = ca.toString("pem");
  const files: TlsFiles = { caPath: join(dir, "ca.pem"), caPem, certPath: join(dir, "server.crt"), keyPath: join(dir, "server.key") };
  writeFileSync(files.caPath, `${caPem}\n`);
  writeFileSync(files.certPath, `${cert.toString("pem")}\n`);
  writeFileSync(files.keyPath, KeyObject.from(keys.privateKey).export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  return files;
}

/** The region versitygw serves and the SDK signs for (versitygw's default `--region`). */
const REGION = "us-east-1";

/** A free TCP port on 127.0.0.1 (the kernel's choice; released before versitygw binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr !== null && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Resolves once `url` answers any HTTP status (an unsigned GET / is refused, which is an answer); https verified against `ca`. */
function answers(url: string, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const onAnswer = (res: IncomingMessage): void => {
      res.resume();
      resolve(true);
    };
    const req = url.startsWith("https:") ? httpsRequest(url, { method: "GET", timeout: 1000, agent: false, ca }, onAnswer) : httpRequest(url, { method: "GET", timeout: 1000, agent: false }, onAnswer);
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** The parent's environment minus versitygw's own variables, so a developer's VGW_* or ROOT_* cannot change the server. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(VGW_|ROOT_|ADMIN_)/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

/**
 * Starts versitygw on free loopback ports with a fresh data and IAM directory and waits until
 * its S3 and admin ports answer. Call `stop()` in the test's `after`: a server still running
 * when the process exits is killed and its directories removed by an exit hook, as a backstop.
 *
 * The server listens on 127.0.0.1 only: clients of any 127.0.0.0/8 source address reach it
 * (Linux routes the whole block to `lo`), and nothing off the machine does.
 */
export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const bin = toolPath("versitygw");
  const root = opts.root ?? { accessKey: "ROOTACCESS", secretKey: "ROOTSECRET1234" };
  const dir = mkdtempSync(join(tmpdir(), "versitygw-"));
  const dataDir = join(dir, "data");
  const iamDir = join(dir, "iam");
  mkdirSync(dataDir);
  mkdirSync(iamDir);
  const [port, adminPort] = [await freePort(), await freePort()];
  let tls: TlsFiles | undefined;
  try {
    tls = opts.tls === true ? await issueServerCertificate(dir) : undefined;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const endpoint = `${tls === undefined ? "http" : "https"}://127.0.0.1:${port}`;
  const adminEndpoint = `http://127.0.0.1:${adminPort}`;
  const clientOpts: S3ClientOptions = tls === undefined ? {} : { ca: tls.caPem };

  // Flags as `versitygw --help` and `versitygw posix --help` v1.8.0 name them
  // (cmd/versitygw/main.go, cmd/internal/gwcli/posix.go); the posix backend keeps object and bucket
  // metadata, the bucket policy included, in extended attributes of dataDir.
  const args = [
    "--access", root.accessKey, "--secret", root.secretKey, "--region", REGION,
    "--port", `127.0.0.1:${port}`, "--admin-port", `127.0.0.1:${adminPort}`, "--iam-dir", iamDir,
    ...(tls === undefined ? [] : ["--cert", tls.certPath, "--key", tls.keyPath]),
    "posix", dataDir,
  ];
  const child: ChildProcess = spawn(bin, args, { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  // Keep the tail of its output for error messages; reading the pipes also keeps it from blocking.
  let output = "";
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString("utf8")).slice(-16_384);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  const onProcessExit = (): void => {
    if (exited === undefined) child.kill("SIGKILL");
    removeDir();
  };
  process.once("exit", onProcessExit);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (exited === undefined) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exit;
        clearTimeout(timer);
      }
      process.removeListener("exit", onProcessExit);
      removeDir();
    })();
    return stopped;
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`versitygw exited while starting (code ${String(exited.code)}, signal ${String(exited.signal)}):\n${output}`);
    }
    if ((await answers(endpoint, clientOpts.ca)) && (await answers(adminEndpoint))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`versitygw did not answer on ${endpoint} and ${adminEndpoint} within ${opts.startTimeoutMs ?? 30_000} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const admin = (args: readonly string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      execFile(bin, ["admin", "--access", root.accessKey, "--secret", root.secretKey, "--region", REGION, "--endpoint-url", adminEndpoint, ...args], { env: cleanEnv(), timeout: 30_000 }, (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`versitygw admin ${args.join(" ")}: ${err.message}\n${stdout}${stderr}`));
        else resolve();
      });
    });

  const asRoot = async (op: S3Operation): Promise<void> => {
    const r = await s3Request(endpoint, { ...op, as: root }, clientOpts);
    if (r.status >= 300) throw new Error(`${op.op} ${op.bucket} as root: HTTP ${r.status} ${r.code ?? ""}`);
  };

  return {
    endpoint,
    region: REGION,
    caPath: tls?.caPath,
    caPem: tls?.caPem,
    adminEndpoint,
    root,
    createUser: (accessKey, secretKey) => admin(["create-user", "--access", accessKey, "--secret", secretKey, "--role", "user"]),
    createBucket: async (bucket) => {
      const client = s3Client(endpoint, root, undefined, clientOpts);
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
      } finally {
        client.destroy();
      }
    },
    putBucketPolicy: (bucket, policy) => asRoot({ op: "PutBucketPolicy", bucket, policy: typeof policy === "string" ? policy : JSON.stringify(policy) }),
    request: (req) => s3Request(endpoint, req, clientOpts),
    stop,
  };
}

/**
 * An S3 client for one caller: path-style (buckets are not DNS names on 127.0.0.1), one attempt
 * (a refusal must surface, not be retried), and its own HTTP(S) agent bound to `from`, without
 * keep-alive, so each request opens a connection from exactly that address. Over https the
 * server is verified against `opts.ca` when given.
 */
function s3Client(endpoint: string, as: S3Credentials | "anonymous", from: string | undefined, opts: S3ClientOptions = {}): S3Client {
  const bind = from === undefined ? {} : { localAddress: from };
  const httpAgent = new Agent({ keepAlive: false, ...bind });
  const httpsAgent = new HttpsAgent({ keepAlive: false, ...bind, ...(opts.ca === undefined ? {} : { ca: opts.ca }) });
  return new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: true,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent, httpsAgent, connectionTimeout: 5000, requestTimeout: 30_000 }),
    ...(as === "anonymous"
      ? {
          // An unsigned request: the SDK's signer is replaced by one that leaves the request as
          // it is (no Authorization header), which is how versitygw tells an anonymous caller
          // (s3api/middlewares/public-bucket.go). Credentials are still resolved before signing,
          // so empty ones stop the SDK from searching the environment.
          credentials: { accessKeyId: "", secretAccessKey: "" },
          signer: { sign: (request) => Promise.resolve(request) },
        }
      : { credentials: { accessKeyId: as.accessKey, secretAccessKey: as.secretKey } }),
  });
}

/**
 * Sends one S3 request to `endpoint` as `req.as`, from `req.from`, and returns the HTTP status
 * and S3 error code rather than throwing on a refusal (only a transport failure throws, a TLS
 * verification failure included).
 */
export async function s3Request(endpoint: string, req: S3Request, opts: S3ClientOptions = {}): Promise<S3Response> {
  const client = s3Client(endpoint, req.as, req.from, opts);
  try {
    switch (req.op) {
      case "PutObject": {
        const r = await client.send(new PutObjectCommand({ Bucket: req.bucket, Key: req.key, Body: req.body }));
        return { status: r.$metadata.httpStatusCode ?? 0, code: undefined };
      }
      case "GetObject": {
        const r = await client.send(new GetObjectCommand({ Bucket: req.bucket, Key: req.key }));
        return { status: r.$metadata.httpStatusCode ?? 0, code: undefined, body: (await r.Body?.transformToString("utf8")) ?? "" };
      }
      case "DeleteObject": {
        const r = await client.send(new DeleteObjectCommand({ Bucket: req.bucket, Key: req.key }));
        return { status: r.$metadata.httpStatusCode ?? 0, code: undefined };
      }
      case "ListObjectsV2": {
        const r = await client.send(new ListObjectsV2Command({ Bucket: req.bucket, Prefix: req.prefix }));
        return { status: r.$metadata.httpStatusCode ?? 0, code: undefined, keys: (r.Contents ?? []).map((o) => o.Key ?? "") };
      }
      case "GetBucketPolicy": {
        const r = await client.send(new GetBucketPolicyCommand({ Bucket: req.bucket }));
        return { status: r.$metadata.httpStatusCode ?? 0, code: undefined, body: r.Policy ?? "" };
      }
      case "PutBucketPolicy": {
        const r = await client.send(new PutBucketPolicyCommand({ Bucket: req.bucket, Policy: req.policy }));
        return { status: r.$metadata.httpStatusCode ?? 0, code: undefined };
      }
    }
  } catch (e) {
    // The server answered with an S3 error: its code is the exception's name (the SDK parses
    // the XML <Code>), its status is in $metadata. Anything else (no answer) is a test failure.
    if (e instanceof S3ServiceException) return { status: e.$metadata.httpStatusCode ?? 0, code: e.name, message: e.message };
    throw e;
  } finally {
    client.destroy();
  }
}
