/**
 * Onboarding a region: the new spoke's `Pulumi.<stack>.yaml` and its entry in the hub's
 * `observability:spokes`. Everything here is computed before anything is written: the new
 * stack is validated with the project's schema, secrets are split off (they are set through
 * the Automation API so the stack's secrets provider encrypts them), and the hub file is
 * edited as a YAML document so its comments survive.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { type Document, isMap, isSeq, parse, parseDocument, stringify } from "yaml";
import { CLOUDS, type Cloud, isRegionOf, zonesOf, REGIONS } from "../components/config/regions";
import { ENVIRONMENTS, SECRET_KEYS, cloudName, validateStackConfig } from "../components/config/schema";
import { knownStacks, readStackFile, stackFilePath } from "../components/config/stackfile";
import { EXIT, FleetError } from "./exit-codes";
import { CONTRACT_OUTPUT, type FleetOptions, type FleetResult, type RunHooks, loadFleet, runFleet } from "./orchestrator";
import type { StackRunner } from "./runner";

const NS = "observability";

/** What `fleet onboard` was asked to do. */
export interface OnboardRequest {
  stack: string;
  cloud: string;
  region: string;
  /** Default: the stack name's prefix when it is a known environment (`dev-02` is `dev`). */
  environment?: string;
  /** The hub stack; defaults to the project's only hub. */
  hub?: string;
  /** Parsed `--values` file: `observability:*` keys with or without the namespace, or a `config:` map. */
  values?: Record<string, unknown>;
  /** `--set key.path=value` assignments, in order (later wins). */
  sets?: readonly string[];
  /** Contents of `--kubeconfig-file`. */
  kubeconfig?: string;
}

/** A secret config value to set through the Automation API. */
export interface SecretSetting {
  /** Full config key with path: `observability:alerting.receiver.url`. */
  key: string;
  value: string;
}

/** The complete, validated onboarding change. */
export interface OnboardPlan {
  stack: string;
  hub: string;
  stackPath: string;
  hubPath: string;
  /** Text of the new stack file (no secrets in it). */
  stackText: string;
  /** True when `Pulumi.<stack>.yaml` already says what it should. */
  stackFileCurrent: boolean;
  /** Secret values to set; empty when the stack file already holds them. */
  secrets: SecretSetting[];
  hubTextBefore: string;
  hubTextAfter: string;
  /** True when the hub already lists the stack. */
  hubCurrent: boolean;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Deep merge where `b` wins; arrays are replaced, not concatenated (a subnet list is one value). */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isRecord(v) && isRecord(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** `--values` content, accepted as a stack file (`config:`), namespaced keys or bare keys. */
export function normalizeValues(doc: unknown): Record<string, unknown> {
  if (doc === null || doc === undefined) return {};
  if (!isRecord(doc)) throw new FleetError("--values: expected a YAML map of configuration keys", EXIT.USAGE);
  const map = isRecord(doc.config) ? doc.config : doc;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(map)) {
    if (k.includes(":") && !k.startsWith(`${NS}:`)) throw new FleetError(`--values: key '${k}' is outside the ${NS} namespace`, EXIT.USAGE);
    out[k.startsWith(`${NS}:`) ? k.slice(NS.length + 1) : k] = v;
  }
  return out;
}

/**
 * Applies one `--set a.b.c=value`. The value is read as YAML so numbers, booleans and
 * `[a, b]` lists work; quote it to force a string (`--set cluster.accountId='"1234"'`).
 */
export function applySet(values: Record<string, unknown>, assignment: string): Record<string, unknown> {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new FleetError(`--set ${assignment}: expected key.path=value`, EXIT.USAGE);
  const path = assignment.slice(0, eq).replace(new RegExp(`^${NS}:`), "").split(".");
  if (path.some((p) => p === "")) throw new FleetError(`--set ${assignment}: empty key segment`, EXIT.USAGE);
  const raw = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = parse(raw);
  } catch {
    value = raw;
  }
  // Account ids and similar digit strings must stay strings; YAML would make them numbers.
  if (typeof value === "number" && /^(0[0-9]+|[0-9]{7,})$/.test(raw)) value = raw;
  const patch: Record<string, unknown> = {};
  let cursor = patch;
  path.slice(0, -1).forEach((p) => {
    const next: Record<string, unknown> = {};
    cursor[p] = next;
    cursor = next;
  });
  cursor[path[path.length - 1]] = value;
  return merge(values, patch);
}

/** Key order of the example stacks, so generated files read like hand-written ones. */
const KEY_ORDER = [
  "role", "cloud", "region", "environment", "sovereigntyZone", "profile", "namespace", "kubeconfig", "hub", "queryPath",
  "cluster", "network", "egress", "endpoints", "retention", "encryption", "versions", "loki", "pki", "tags", "alerting",
];

/** The domain the existing spokes use for endpoints (`obs.example.eu` in `thanos.dev-01.obs.example.eu`). */
function endpointDomain(projectDir: string, spokes: readonly string[]): string | undefined {
  for (const s of spokes) {
    if (!existsSync(stackFilePath(projectDir, s))) continue;
    const endpoints = readStackFile(projectDir, s).values.endpoints;
    const thanos = isRecord(endpoints) ? endpoints.thanos : undefined;
    const prefix = `thanos.${s}.`;
    if (typeof thanos === "string" && thanos.startsWith(prefix)) return thanos.slice(prefix.length);
  }
  return undefined;
}

/**
 * The template of a new spoke: defaults per environment, the sovereignty zone of the region,
 * the fleet's chart versions (the hub's) and endpoint names `<thanos|loki>.<stack>.<domain>`
 * on the domain the other spokes use. Nothing that belongs to another stack (tags, its
 * endpoints) and never the cloud-specific `cluster`/`network` references, which only the
 * user can know.
 */
export function spokeTemplate(projectDir: string, req: OnboardRequest & { environment: string }, cloud: Cloud, hub: string): Record<string, unknown> {
  const hubValues = readStackFile(projectDir, hub).values;
  const hubSpokes = Array.isArray(hubValues.spokes) ? hubValues.spokes.filter((s): s is string => typeof s === "string") : [];
  const domain = endpointDomain(projectDir, hubSpokes);
  const prod = req.environment === "prod";
  // No tags: cost centre and owner belong to the team of each stack; another stack's tags
  // would bill and attribute the new spoke's resources to the wrong team.
  const template: Record<string, unknown> = {
    role: "spoke",
    cloud,
    region: req.region,
    environment: req.environment,
    sovereigntyZone: zonesOf(cloud, req.region)[0],
    profile: prod ? "large" : "small",
    hub: { stack: hub },
    queryPath: "hub-store",
    egress: { mode: "create", count: 2 },
    retention: prod
      ? { raw: "30d", fiveMinutes: "180d", oneHour: "2y", logs: "90d", local: "24h", noncurrentVersions: "7d" }
      : { raw: "15d", fiveMinutes: "90d", oneHour: "1y", logs: "14d", local: "12h", noncurrentVersions: "3d" },
    encryption: { mode: prod ? "customer" : "provider" },
    loki: { mode: prod ? "simple-scalable" : "single-binary" },
    alerting: { forwardToHub: true },
  };
  if (isRecord(hubValues.versions)) template.versions = hubValues.versions;
  if (domain !== undefined) template.endpoints = { thanos: `thanos.${req.stack}.${domain}`, loki: `loki.${req.stack}.${domain}` };
  if (cloud === "gcp") template.network = { bucketIpFilter: true };
  return template;
}

/** Secret leaves: the kubeconfig and every alerting webhook URL. */
function splitSecrets(values: Record<string, unknown>): { plain: Record<string, unknown>; secrets: SecretSetting[] } {
  const secrets: SecretSetting[] = [];
  const plain = { ...values };
  if (values.kubeconfig !== undefined) {
    secrets.push({ key: `${NS}:kubeconfig`, value: String(values.kubeconfig) });
    delete plain.kubeconfig;
  }
  const strip = (v: unknown, path: string): unknown => {
    if (!isRecord(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const p = `${path}.${k}`;
      if (/url$/i.test(k) && typeof x === "string") secrets.push({ key: `${NS}:${p}`, value: x });
      else {
        const y = strip(x, p);
        if (!isRecord(y) || Object.keys(y).length > 0) out[k] = y;
      }
    }
    return out;
  };
  if (values.alerting !== undefined) plain.alerting = strip(values.alerting, "alerting");
  return { plain, secrets };
}

/** The stack file text for plain values, keys in the examples' order. */
export function renderStackFile(stack: string, cloud: string, region: string, plain: Record<string, unknown>): string {
  const keys = [...KEY_ORDER.filter((k) => k in plain), ...Object.keys(plain).filter((k) => !KEY_ORDER.includes(k)).sort()];
  const config = Object.fromEntries(keys.map((k) => [`${NS}:${k}`, plain[k]]));
  const header = [
    `# Spoke ${stack}: ${cloud} ${region}. Written by 'fleet onboard'.`,
    "# Secrets (kubeconfig, alerting URLs) are set with the stack's secrets provider:",
    `#   pulumi config set --secret ${NS}:kubeconfig -s ${stack} < kubeconfig.yaml`,
  ].join("\n");
  return `${header}\n${stringify({ config }, { lineWidth: 0 })}`;
}

/** Adds `stack` to the hub document's `observability:spokes` (creating the list if needed). */
export function addSpokeToHub(hubText: string, stack: string): { text: string; changed: boolean } {
  const doc: Document = parseDocument(hubText);
  const key = `${NS}:spokes`;
  const config = doc.get("config");
  if (!isMap(config)) throw new FleetError("hub stack file has no config: map", EXIT.USAGE);
  const spokes = config.get(key);
  if (spokes === undefined || spokes === null) {
    config.set(key, doc.createNode([stack]));
    return { text: doc.toString({ lineWidth: 0 }), changed: true };
  }
  if (!isSeq(spokes)) throw new FleetError(`hub stack file: ${key} is not a list`, EXIT.USAGE);
  const current: unknown = spokes.toJSON();
  if (Array.isArray(current) && current.includes(stack)) return { text: hubText, changed: false };
  spokes.add(doc.createNode(stack));
  return { text: doc.toString({ lineWidth: 0 }), changed: true };
}

/** The environment a stack name starts with (`dev-02` is `dev`), when it is one the schema knows. */
export function inferEnvironment(stack: string): string | undefined {
  const prefix = stack.split("-")[0];
  return ENVIRONMENTS.find((e) => e === prefix);
}

/** The project's hub: the named one, or the only one. */
function findHub(projectDir: string, requested: string | undefined): string {
  const roles = knownStacks(projectDir);
  if (requested !== undefined) {
    if (!roles.has(requested)) throw new FleetError(`--hub ${requested}: no Pulumi.${requested}.yaml in ${projectDir}`, EXIT.USAGE);
    if (roles.get(requested) !== "hub") throw new FleetError(`--hub ${requested}: stack is not a hub (observability:role is ${JSON.stringify(roles.get(requested))})`, EXIT.USAGE);
    return requested;
  }
  const hubs = [...roles].filter(([, r]) => r === "hub").map(([s]) => s);
  if (hubs.length !== 1) throw new FleetError(`pass --hub: the project has ${hubs.length === 0 ? "no hub" : `several hubs (${hubs.join(", ")})`}`, EXIT.USAGE);
  return hubs[0];
}

/**
 * Computes and validates the onboarding of one spoke without writing anything. Throws a
 * {@link FleetError} (exit 3) for a bad cloud or region, an invalid configuration, or an
 * existing stack file that says something else.
 */
export function planOnboard(projectDir: string, req: OnboardRequest): OnboardPlan {
  const cloud = CLOUDS.find((c) => c === req.cloud);
  if (cloud === undefined) throw new FleetError(`--cloud ${req.cloud}: expected one of ${CLOUDS.join(", ")}`, EXIT.USAGE);
  if (!isRegionOf(cloud, req.region)) {
    throw new FleetError(`--region ${req.region}: not ${cloudName(cloud)} region known to this project; use one of: ${Object.keys(REGIONS[cloud]).join(", ")}`, EXIT.USAGE);
  }
  const environment = req.environment ?? inferEnvironment(req.stack);
  if (environment === undefined) {
    throw new FleetError(`--environment is needed: the stack name ${req.stack} does not start with a known environment (${ENVIRONMENTS.map((e) => `${e}-`).join(", ")}); pass --environment <${ENVIRONMENTS.join("|")}>`, EXIT.USAGE);
  }
  const roles = knownStacks(projectDir);
  if (roles.has(req.stack) && roles.get(req.stack) !== "spoke") {
    throw new FleetError(`stack ${req.stack} already exists and is not a spoke (observability:role is ${JSON.stringify(roles.get(req.stack))})`, EXIT.USAGE);
  }
  const hub = findHub(projectDir, req.hub);
  if (hub === req.stack) throw new FleetError(`a spoke cannot be its own hub (${hub})`, EXIT.USAGE);

  let values = merge(spokeTemplate(projectDir, { ...req, environment }, cloud, hub), normalizeValues(req.values));
  for (const s of req.sets ?? []) values = applySet(values, s);
  if (req.kubeconfig !== undefined) values.kubeconfig = req.kubeconfig;
  // The request's identity flags win over anything in --values/--set.
  Object.assign(values, { role: "spoke", cloud, region: req.region, environment, hub: { stack: hub } });

  const stackPath = stackFilePath(projectDir, req.stack);
  const existing = existsSync(stackPath) ? readStackFile(projectDir, req.stack) : undefined;
  const { plain, secrets } = splitSecrets(values);
  // An existing file holds its secrets already (encrypted): validate with them, never re-set them.
  const secretKeys = new Set<string>(existing?.secretKeys ?? []);
  // Both are set as secrets by this command whatever their source, so validate them as such.
  for (const k of SECRET_KEYS) secretKeys.add(`${NS}:${k}`);
  const toValidate = { ...values };
  if (existing !== undefined) {
    if (toValidate.kubeconfig === undefined) toValidate.kubeconfig = existing.values.kubeconfig;
    if (isRecord(existing.values.alerting)) toValidate.alerting = merge(existing.values.alerting, isRecord(values.alerting) ? values.alerting : {});
  }
  const known = new Map(roles);
  known.set(req.stack, "spoke");
  const result = validateStackConfig(toValidate, { stack: req.stack, secretKeys, knownStacks: known });
  if (!result.ok) {
    const lines = result.issues.map((i) => `  - ${i.key}: ${i.message}`);
    throw new FleetError(`Pulumi.${req.stack}.yaml would be invalid, nothing was written:\n${lines.join("\n")}\nProvide the missing values with --values <file.yaml> or --set key.path=value (and --kubeconfig-file).`, EXIT.USAGE);
  }

  const stackText = renderStackFile(req.stack, cloud, req.region, plain);
  let stackFileCurrent = false;
  let pendingSecrets = secrets;
  if (existing) {
    const wanted = normalizeValues(parse(stackText));
    const differing = Object.keys({ ...wanted, ...existing.values }).filter(
      (k) => !SECRET_KEYS.some((s) => s === k) && !isDeepStrictEqual(wanted[k], existing.values[k]),
    );
    const plainAlerting = isRecord(wanted.alerting) ? wanted.alerting : {};
    const haveAlerting = isRecord(existing.values.alerting) ? existing.values.alerting : {};
    differing.push(...Object.keys(plainAlerting).filter((k) => !isDeepStrictEqual(plainAlerting[k], haveAlerting[k])).map((k) => `alerting.${k}`));
    if (differing.length > 0) {
      throw new FleetError(
        `Pulumi.${req.stack}.yaml exists and differs from the request in ${differing.map((k) => `${NS}:${k}`).join(", ")}; edit it and run 'fleet up --stacks ${req.stack},${hub}' instead`,
        EXIT.USAGE,
      );
    }
    stackFileCurrent = true;
    pendingSecrets = secrets.filter((s) => !existing.setSecrets.includes(s.key));
  }

  const hubPath = stackFilePath(projectDir, hub);
  const hubTextBefore = readFileSync(hubPath, "utf8");
  const { text: hubTextAfter, changed } = addSpokeToHub(hubTextBefore, req.stack);
  return { stack: req.stack, hub, stackPath, hubPath, stackText, stackFileCurrent, secrets: pendingSecrets, hubTextBefore, hubTextAfter, hubCurrent: !changed };
}

/** A minimal unified-style line diff (longest common subsequence, 3 lines of context), for dry-run output. */
export function lineDiff(before: string, after: string, label: string): string {
  const a = before.split("\n");
  const b = after.split("\n");
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (j < b.length && (i >= a.length || lcs[i][j + 1] >= lcs[i + 1][j])) ops.push(`+ ${b[j++]}`);
    else ops.push(`- ${a[i++]}`);
  }
  const near = (k: number): boolean => ops.slice(Math.max(0, k - 3), k + 4).some((o) => !o.startsWith("  "));
  const out = [`--- ${label}`, `+++ ${label}`];
  ops.forEach((o, k) => {
    if (near(k)) out.push(o);
    else if (k > 0 && near(k - 1)) out.push("@@");
  });
  return out.join("\n");
}

/** Outcome of `fleet onboard`. */
export interface OnboardOutcome {
  /** Nothing to do: files in place, secrets set, spoke deployed. */
  alreadyOnboarded: boolean;
  /** What was written, in order. */
  written: string[];
  /** The `up` of the new spoke and the hub, when it ran. */
  result?: FleetResult;
}

/**
 * Carries out a validated {@link OnboardPlan}: stack file, secrets, hub spoke list, then
 * `up` of the spoke (wave 2) and the hub (wave 3) with the fleet's failure policy. A second
 * run finds everything in place and the spoke deployed, and does nothing.
 */
export async function executeOnboard(
  projectDir: string,
  runner: StackRunner,
  plan: OnboardPlan,
  opts: FleetOptions,
  hooks: RunHooks = {},
  write: (path: string, text: string) => void = (p, t) => writeFileSync(p, t),
): Promise<OnboardOutcome> {
  if (plan.stackFileCurrent && plan.hubCurrent && plan.secrets.length === 0) {
    const outputs = await runner.outputs(plan.stack).catch((): Record<string, unknown> => ({}));
    if (outputs[CONTRACT_OUTPUT] !== undefined) return { alreadyOnboarded: true, written: [] };
  }
  const written: string[] = [];
  if (!plan.stackFileCurrent) {
    write(plan.stackPath, plan.stackText);
    written.push(plan.stackPath);
  }
  for (const s of plan.secrets) await runner.setSecret(plan.stack, s.key, s.value);
  if (!plan.hubCurrent) {
    write(plan.hubPath, plan.hubTextAfter);
    written.push(plan.hubPath);
  }
  const result = await runFleet(runner, "up", loadFleet(projectDir, [plan.stack, plan.hub]), opts, hooks);
  return { alreadyOnboarded: false, written, result };
}
