/**
 * `fleet doctor`: the prerequisites of a real deployment, each failure with its fix. Every
 * check that leaves the process (the pulumi CLI, the backend, API servers, OIDC issuers) goes
 * through {@link DoctorProbes}, so tests run it against fakes and loopback servers only.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { request } from "node:https";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { PulumiCommand } from "@pulumi/pulumi/automation";
import { type Cloud, CLOUDS } from "../components/config/regions";
import { neededSecretLeaves } from "../components/config/schema";
import { readStackFile } from "../components/config/stackfile";
import { type BackendInput, PULUMI_INSTALL, backendUrlOf, resolveBackend } from "./automation";
import { EXIT, type ExitCode, FleetError } from "./exit-codes";
import { fleetStacks, type Fleet, type FleetStack } from "./orchestrator";
import type { StackRunner } from "./runner";
import { type StackSecrets, secretStatus, setCommand } from "./secrets";

/** One finding. */
export interface Check {
  /** What was checked: `node`, `pulumi`, `backend`, `passphrase`, `secrets`, `cluster`, `oidc`, `credentials`. */
  check: string;
  stack?: string;
  ok: boolean;
  detail: string;
  /** What to do when it is not ok. */
  fix?: string;
}

/** An HTTP answer (any status: a 401 from an API server still proves it is reachable). */
export interface HttpAnswer {
  status: number;
  body: string;
}

/** Everything doctor asks of the outside world. */
export interface DoctorProbes {
  env: NodeJS.ProcessEnv;
  /** `process.versions.node`. */
  nodeVersion: string;
  homeDir: string;
  exists(path: string): boolean;
  /** The version of the pulumi CLI on PATH; rejects when there is none. */
  pulumiVersion(): Promise<string>;
  /** Logs in to a non-file backend (`pulumi whoami`); resolves to who is logged in. */
  backendWhoami(env: Readonly<Record<string, string>>): Promise<string>;
  /** HTTPS GET with an optional CA bundle (PEM); rejects on connection or TLS failure. */
  httpsGet(url: string, opts: { ca?: string; insecure?: boolean }): Promise<HttpAnswer>;
}

/**
 * The oldest pulumi CLI the pinned Automation API accepts: `PulumiCommand.get()` refuses an
 * older one (@pulumi/pulumi automation/cmd.js, `parseAndValidatePulumiVersion` against
 * automation/minimumVersion.js).
 */
export function minimumPulumiVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const m = require("@pulumi/pulumi/automation/minimumVersion") as { minimumVersion: { version: string } };
  return m.minimumVersion.version;
}

/** The Node.js major the pinned `@pulumi/pulumi` declares in its `engines` field (`>=22`). */
export function requiredNodeMajor(): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg = require("@pulumi/pulumi/package.json") as { engines?: { node?: string } };
  const m = /^>=\s*(\d+)/.exec(pkg.engines?.node ?? "");
  return m ? Number(m[1]) : 0;
}

function compareVersions(a: string, b: string): number {
  const parts = (v: string): number[] => v.replace(/^v/, "").split(/[.-]/).slice(0, 3).map((x) => Number.parseInt(x, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/**
 * Where each cloud's Pulumi provider finds credentials, as documented on its registry page
 * (https://www.pulumi.com/registry/packages/aws/installation-configuration/,
 * .../gcp/installation-configuration/, .../azure-native/installation-configuration/): the
 * environment variables and files below, or provider config (`aws:profile`, `gcp:credentials`,
 * `azure-native:clientId`) in the stack file. Instance metadata (EC2, GCE, Azure MSI) cannot
 * be told apart from no credentials without a network call, so it must be declared with
 * the variables the providers read for it (AWS_CONTAINER_CREDENTIALS_*, ARM_USE_MSI).
 */
export function cloudCredentials(cloud: Cloud, env: NodeJS.ProcessEnv, home: string, exists: (p: string) => boolean, stackConfig: Record<string, unknown>): string | undefined {
  const set = (k: string): boolean => env[k] !== undefined && env[k] !== "";
  const configured = (ns: string, keys: string[]): string | undefined => keys.map((k) => `${ns}:${k}`).find((k) => stackConfig[k] !== undefined);
  if (cloud === "aws") {
    if (set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY")) return "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";
    if (set("AWS_WEB_IDENTITY_TOKEN_FILE") && set("AWS_ROLE_ARN")) return "AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN";
    if (set("AWS_CONTAINER_CREDENTIALS_FULL_URI") || set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) return "container credentials";
    const c = configured("aws", ["accessKey", "profile", "assumeRole", "assumeRoleWithWebIdentity"]);
    if (c !== undefined) return c;
    const files = [env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, ".aws", "credentials"), env.AWS_CONFIG_FILE ?? join(home, ".aws", "config")];
    const file = files.find((f) => exists(f));
    if (file !== undefined) return `${set("AWS_PROFILE") ? `profile ${env.AWS_PROFILE} in ` : ""}${file}`;
    return undefined;
  }
  if (cloud === "s3") {
    // The AWS provider pointed at an S3-compatible service signs with the stack's provisioner key
    // (components/clouds/s3), never with the environment's AWS credentials.
    return stackConfig["observability:objectStorage"] !== undefined ? "observability:objectStorage.credentials.provisioner (stack config)" : undefined;
  }
  if (cloud === "gcp") {
    for (const k of ["GOOGLE_CREDENTIALS", "GOOGLE_CLOUD_KEYFILE_JSON", "GCLOUD_KEYFILE_JSON", "GOOGLE_OAUTH_ACCESS_TOKEN"]) if (set(k)) return k;
    if (set("GOOGLE_APPLICATION_CREDENTIALS")) return exists(String(env.GOOGLE_APPLICATION_CREDENTIALS)) ? `GOOGLE_APPLICATION_CREDENTIALS (${env.GOOGLE_APPLICATION_CREDENTIALS})` : undefined;
    const c = configured("gcp", ["credentials", "accessToken"]);
    if (c !== undefined) return c;
    const adc = join(env.CLOUDSDK_CONFIG ?? join(home, ".config", "gcloud"), "application_default_credentials.json");
    return exists(adc) ? adc : undefined;
  }
  if (set("ARM_CLIENT_ID") && (set("ARM_CLIENT_SECRET") || set("ARM_CLIENT_CERTIFICATE_PATH") || set("ARM_OIDC_TOKEN") || env.ARM_USE_OIDC === "true")) return "ARM_CLIENT_ID with a secret, certificate or OIDC token";
  if (env.ARM_USE_MSI === "true") return "ARM_USE_MSI";
  const c = configured("azure-native", ["clientId", "useMsi", "useOidc"]);
  if (c !== undefined) return c;
  const profile = join(env.AZURE_CONFIG_DIR ?? join(home, ".azure"), "azureProfile.json");
  return exists(profile) ? `az login (${profile})` : undefined;
}

const CREDENTIAL_FIX: Record<Cloud, string> = {
  aws: "export AWS_PROFILE=<profile> (aws configure sso / aws sso login), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pulumi config set aws:profile <profile> -s <stack>",
  gcp: "gcloud auth application-default login, or export GOOGLE_APPLICATION_CREDENTIALS=<service-account key file>",
  azure: "az login, or export ARM_CLIENT_ID, ARM_TENANT_ID and ARM_CLIENT_SECRET (or ARM_USE_OIDC=true / ARM_USE_MSI=true)",
  s3: "set the service's keys in the stack: npm run fleet -- secrets --stacks <stack> (observability:objectStorage.credentials.provisioner and one key per identity)",
};

interface KubeCluster {
  server: string;
  ca?: string;
  insecure: boolean;
}

/** The API server of a kubeconfig's current context (kubeconfig format: https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/). */
export function kubeconfigCluster(text: string, readFile: (p: string) => string = (p) => readFileSync(p, "utf8")): KubeCluster {
  const doc = parse(text) as { "current-context"?: string; contexts?: { name: string; context?: { cluster?: string } }[]; clusters?: { name: string; cluster?: Record<string, unknown> }[] } | null;
  if (doc === null || typeof doc !== "object") throw new Error("not a kubeconfig (not a YAML map)");
  const clusters = doc.clusters ?? [];
  const contextName = doc["current-context"];
  const clusterName = contextName !== undefined ? doc.contexts?.find((c) => c.name === contextName)?.context?.cluster : clusters.length === 1 ? clusters[0].name : undefined;
  if (clusterName === undefined) throw new Error(contextName === undefined ? "no current-context" : `current-context ${contextName} is not among its contexts`);
  const cluster = clusters.find((c) => c.name === clusterName)?.cluster;
  if (cluster === undefined || typeof cluster.server !== "string") throw new Error(`cluster ${clusterName} has no server`);
  const caData = cluster["certificate-authority-data"];
  const caFile = cluster["certificate-authority"];
  const ca = typeof caData === "string" ? Buffer.from(caData, "base64").toString("utf8") : typeof caFile === "string" ? readFile(caFile) : undefined;
  return { server: cluster.server.replace(/\/$/, ""), ca, insecure: cluster["insecure-skip-tls-verify"] === true };
}

/**
 * The OIDC issuer a stack's federation depends on, if any: IRSA trusts the EKS cluster's
 * issuer (https://docs.aws.amazon.com/eks/latest/userguide/enable-iam-roles-for-service-accounts.html);
 * Azure workload identity's federated credentials trust the AKS issuer
 * (https://learn.microsoft.com/azure/aks/workload-identity-overview). EKS Pod Identity and
 * GKE Workload Identity need none.
 */
export function federationIssuer(values: Record<string, unknown>): { issuer: string; fix: string } | undefined {
  const cluster = values.cluster !== null && typeof values.cluster === "object" ? (values.cluster as Record<string, unknown>) : {};
  const issuer = cluster.oidcIssuerUrl;
  if (typeof issuer !== "string") return undefined;
  if (values.cloud === "aws" && cluster.identity === "irsa") {
    return { issuer, fix: `compare with aws eks describe-cluster --name ${String(cluster.name)} --query cluster.identity.oidc.issuer and set observability:cluster.oidcIssuerUrl to it` };
  }
  if (values.cloud === "azure") {
    return { issuer, fix: `az aks update -g ${String(cluster.resourceGroup)} -n ${String(cluster.name)} --enable-oidc-issuer, then set observability:cluster.oidcIssuerUrl to az aks show -g ${String(cluster.resourceGroup)} -n ${String(cluster.name)} --query oidcIssuerProfile.issuerUrl` };
  }
  return undefined;
}

/** The production probes: the real CLI, the real network (HTTPS only, 10 s per request). */
export function realProbes(env: NodeJS.ProcessEnv = process.env): DoctorProbes {
  return {
    env,
    nodeVersion: process.versions.node,
    homeDir: homedir(),
    exists: (p) => existsSync(p),
    pulumiVersion: async () => {
      const cmd = await PulumiCommand.get({ skipVersionCheck: true });
      return cmd.version?.toString() ?? "unknown";
    },
    backendWhoami: (vars) =>
      new Promise((resolvePromise, reject) => {
        execFile("pulumi", ["whoami", "--non-interactive"], { env: { ...env, ...vars }, timeout: 60_000 }, (err, stdout, stderr) => {
          if (err) reject(new Error((stderr || err.message).trim().split("\n").slice(-2).join(" ")));
          else resolvePromise(stdout.trim());
        });
      }),
    httpsGet: (url, opts) =>
      new Promise((resolvePromise, reject) => {
        const req = request(url, { method: "GET", ca: opts.ca, rejectUnauthorized: !opts.insecure, timeout: 10_000 }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => {
            if (body.length < 65536) body += d;
          });
          res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error("timed out after 10s")));
        req.on("error", reject);
        req.end();
      }),
  };
}

const why = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0];

/** Runs every check; never throws for a failed prerequisite (that is a failed check). */
export async function runDoctor(
  projectDir: string,
  fleet: Fleet,
  backend: BackendInput,
  probes: DoctorProbes,
  createRunner: () => Promise<StackRunner>,
): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (c: Check): void => void checks.push(c);

  const nodeMajor = Number(probes.nodeVersion.split(".")[0]);
  const needNode = requiredNodeMajor();
  add(nodeMajor >= needNode
    ? { check: "node", ok: true, detail: `Node.js ${probes.nodeVersion} (the pinned @pulumi/pulumi needs >= ${needNode})` }
    : { check: "node", ok: false, detail: `Node.js ${probes.nodeVersion}, the pinned @pulumi/pulumi declares engines.node >= ${needNode}`, fix: `install Node.js ${needNode} or later (nvm install ${needNode})` });

  let pulumiOk = false;
  try {
    const version = await probes.pulumiVersion();
    const min = minimumPulumiVersion();
    pulumiOk = version === "unknown" || compareVersions(version, min) >= 0;
    add(pulumiOk
      ? { check: "pulumi", ok: true, detail: `pulumi CLI ${version} (the Automation API needs >= ${min})` }
      : { check: "pulumi", ok: false, detail: `pulumi CLI ${version} is older than ${min}, the oldest the pinned Automation API accepts`, fix: `upgrade it: ${PULUMI_INSTALL}` });
  } catch (e) {
    const reason = why(e);
    add({ check: "pulumi", ok: false, detail: /ENOENT|code: -2\b|not found/.test(reason) ? "no pulumi CLI on PATH" : `the pulumi CLI on PATH does not run (${reason})`, fix: `${PULUMI_INSTALL}, then open a new shell (or add ~/.pulumi/bin to PATH)` });
  }

  const url = backendUrlOf(backend);
  let backendOk = false;
  if (url.startsWith("file://")) {
    const path = url.slice("file://".length);
    const dir = path.startsWith("~") ? join(probes.homeDir, path.slice(1)) : path;
    let existing = dir;
    while (!probes.exists(existing) && dirname(existing) !== existing) existing = dirname(existing);
    let writable = true;
    try {
      accessSync(existing, constants.W_OK);
      writable = statSync(existing).isDirectory();
    } catch {
      writable = false;
    }
    backendOk = writable;
    add(writable
      ? { check: "backend", ok: true, detail: `${url}: ${existing === dir ? "the state directory exists and is writable" : `will be created in ${existing} (writable)`}` }
      : { check: "backend", ok: false, detail: `${url}: ${existing} is not a writable directory`, fix: `mkdir -p ${dir} && pulumi login ${url}, or pass --backend <url>` });
  } else if (pulumiOk) {
    try {
      const who = await probes.backendWhoami({ PULUMI_BACKEND_URL: url });
      backendOk = true;
      add({ check: "backend", ok: true, detail: `${url}: reachable, logged in as ${who}` });
    } catch (e) {
      add({ check: "backend", ok: false, detail: `${url}: not reachable or not logged in (${why(e)})`, fix: `pulumi login ${url} (and the cloud credentials of the state bucket)` });
    }
  } else {
    add({ check: "backend", ok: false, detail: `${url}: not checked without a pulumi CLI`, fix: "install the pulumi CLI first" });
  }

  let secretsProviderOk = false;
  try {
    const settings = resolveBackend(backend);
    const file = settings.envVars.PULUMI_CONFIG_PASSPHRASE_FILE;
    if (file !== undefined && !probes.exists(file)) {
      add({ check: "passphrase", ok: false, detail: `PULUMI_CONFIG_PASSPHRASE_FILE ${file} does not exist`, fix: `write the fleet's passphrase to ${file} (chmod 600), or export PULUMI_CONFIG_PASSPHRASE` });
    } else {
      secretsProviderOk = true;
      add({ check: "passphrase", ok: true, detail: settings.secretsProvider === "passphrase" ? `passphrase from ${file !== undefined ? file : "PULUMI_CONFIG_PASSPHRASE"}` : `secrets provider ${settings.secretsProvider ?? "of Pulumi Cloud"}, no passphrase needed` });
    }
  } catch (e) {
    add({ check: "passphrase", ok: false, detail: e instanceof FleetError ? e.message.split(":")[0] : why(e), fix: "export PULUMI_CONFIG_PASSPHRASE_FILE=<file holding the passphrase> (or PULUMI_CONFIG_PASSPHRASE), or pass --passphrase-file <file>" });
  }

  const stacks: FleetStack[] = fleetStacks(fleet);
  const runner = pulumiOk && backendOk && secretsProviderOk ? await createRunner().catch(() => undefined) : undefined;
  if (runner === undefined) {
    // Without a stack to open, the stack files still say which secrets are set (Pulumi keeps
    // a stack's config, secure values included, in Pulumi.<stack>.yaml).
    for (const s of stacks) {
      const file = readStackFile(projectDir, s.name);
      const needed = neededSecretLeaves(file.values).map((l) => `observability:${l}`);
      const missing = needed.filter((k) => !file.setSecrets.includes(k));
      if (missing.length === 0) add({ check: "secrets", stack: s.name, ok: true, detail: `all ${needed.length} secrets set in Pulumi.${s.name}.yaml (not decrypted: needs the checks above)` });
      for (const m of missing) add({ check: "secrets", stack: s.name, ok: false, detail: `${m} is not set in Pulumi.${s.name}.yaml`, fix: setCommand(s.name, m) });
    }
  } else {
    const status: StackSecrets[] | Error = await secretStatus(projectDir, runner, fleet).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    if (status instanceof Error) {
      for (const s of stacks) add({ check: "secrets", stack: s.name, ok: false, detail: `could not read the stack's config (${why(status)})`, fix: "check the passphrase: it must be the one the stack was created with" });
    } else {
      for (const st of status) {
        const missing = st.secrets.filter((x) => !x.set);
        if (missing.length === 0) add({ check: "secrets", stack: st.stack, ok: true, detail: `all ${st.secrets.length} secrets set` });
        for (const m of missing) add({ check: "secrets", stack: st.stack, ok: false, detail: `${m.key} is not set`, fix: setCommand(st.stack, m.key) });
        if (st.secrets.some((x) => x.key === "observability:kubeconfig" && x.set)) {
          try {
            const text = await runner.configValue(st.stack, "observability:kubeconfig");
            if (text === undefined) throw new Error("observability:kubeconfig could not be read");
            const k = kubeconfigCluster(text);
            const answer = await probes.httpsGet(`${k.server}/version`, { ca: k.ca, insecure: k.insecure });
            // /version is readable without credentials by default (system:public-info-viewer,
            // https://www.kubernetes.dev/resources/keps/789/); any answer over verified TLS proves the server is reachable.
            add({ check: "cluster", stack: st.stack, ok: true, detail: `${k.server} answers (HTTP ${answer.status}${k.insecure ? ", TLS NOT verified: insecure-skip-tls-verify" : ""})` });
          } catch (e) {
            add({ check: "cluster", stack: st.stack, ok: false, detail: `the kubeconfig's cluster is not reachable (${why(e)})`, fix: `check the kubeconfig's server and certificate-authority-data, and that this machine reaches the API server (private endpoint, VPN, authorized networks); then npm run fleet -- secrets --stacks ${st.stack} --from-file kubeconfig=<file>` });
          }
        }
      }
    }
  }

  for (const s of stacks) {
    const file = readStackFile(projectDir, s.name);
    const fed = federationIssuer(file.values);
    if (fed !== undefined) {
      // OpenID Connect Discovery 1.0, section 4: the configuration is at <issuer>/.well-known/openid-configuration
      // and its `issuer` MUST be identical to the issuer URL (https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig).
      const discovery = `${fed.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
      try {
        const answer = await probes.httpsGet(discovery, {});
        if (answer.status !== 200) throw new Error(`HTTP ${answer.status} from ${discovery}`);
        const doc = JSON.parse(answer.body) as { issuer?: unknown; jwks_uri?: unknown };
        if (doc.issuer !== fed.issuer) throw new Error(`the discovery document names issuer ${JSON.stringify(doc.issuer)}, not ${fed.issuer}`);
        if (typeof doc.jwks_uri !== "string") throw new Error("the discovery document has no jwks_uri");
        add({ check: "oidc", stack: s.name, ok: true, detail: `${fed.issuer} is discoverable` });
      } catch (e) {
        add({ check: "oidc", stack: s.name, ok: false, detail: `observability:cluster.oidcIssuerUrl ${fed.issuer} is not discoverable (${why(e)})`, fix: fed.fix });
      }
    }
    const cloud = CLOUDS.find((c) => c === s.cloud);
    if (cloud === undefined) continue;
    const found = cloudCredentials(cloud, probes.env, probes.homeDir, probes.exists, file.raw);
    add(found !== undefined
      ? { check: "credentials", stack: s.name, ok: true, detail: `${cloud} credentials: ${found} (present; their permissions are checked by pulumi preview)` }
      : { check: "credentials", stack: s.name, ok: false, detail: `no ${cloud} credentials found for the ${cloud} provider`, fix: CREDENTIAL_FIX[cloud] });
  }
  return checks;
}

/** The report people read: one line per check, the fix indented under each failure. */
export function renderDoctor(checks: readonly Check[]): string {
  const lines = checks.map((c) => `${c.ok ? "ok  " : "FAIL"}  ${c.check}${c.stack ? ` ${c.stack}` : ""}: ${c.detail}${!c.ok && c.fix ? `\n        fix: ${c.fix}` : ""}`);
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(failed === 0 ? "every prerequisite is met" : `${failed} problem(s): fix them and run npm run fleet -- doctor again`);
  return lines.join("\n");
}

/** 0 when every check passed; 4 when only the pulumi CLI is the problem's root; 3 otherwise. */
export function doctorExitCode(checks: readonly Check[]): ExitCode {
  if (checks.every((c) => c.ok)) return EXIT.OK;
  return checks.some((c) => c.check === "pulumi" && !c.ok) ? EXIT.PULUMI_MISSING : EXIT.USAGE;
}
