/**
 * Onboarding a region: the new spoke's `Pulumi.<stack>.yaml` and its entry in the hub's
 * `observability:spokes`. Everything here is computed before anything is written: the new
 * stack is validated with the project's schema, secrets are split off (they are set through
 * the Automation API so the stack's secrets provider encrypts them), and the hub file is
 * edited as a YAML document so its comments survive.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { isDeepStrictEqual } from "node:util";
import { type Document, isMap, isSeq, parse, parseDocument, stringify } from "yaml";
import { s3Profile } from "../components/clouds/s3/profiles";
import { CLOUDS, type Cloud, PUBLIC_S3_PROFILES, S3_DEFAULT_ENDPOINTS, S3_PROFILES, S3_PUBLIC_REGIONS, isRegionOf, onPremCountry, zonesOf, REGIONS } from "../components/config/regions";
import { ENVIRONMENTS, SECRET_KEYS, cloudName, neededSecretLeaves, secretLeaves, validateStackConfig } from "../components/config/schema";
import { knownStacks, knownZones, readStackFile, secretPlaceholder, stackFilePath } from "../components/config/stackfile";
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
  /** `--cluster-name`: `cluster.name` (every cloud; required on s3 unless --values/--set give it). */
  clusterName?: string;
  /** `--cidrs`: `network.cidrs`, the nodes' and pods' CIDR blocks (every cloud; required on s3 likewise). */
  cidrs?: readonly string[];
  /** `--profile` (cloud s3 only, required there): the S3-compatible service, one of {@link S3_PROFILES}. */
  s3Profile?: string;
  /** `--endpoint` (cloud s3 only): the service's https origin; default for a public profile's region: {@link S3_DEFAULT_ENDPOINTS}. */
  endpoint?: string;
  /** `--egress-ips` (cloud s3 only, required there): the adopted egress addresses. */
  egressIps?: readonly string[];
  /** `--principal identity=principal` (cloud s3 only), repeatable: `objectStorage.principals`. */
  principals?: readonly string[];
  /** `--lb-annotation key=value` (cloud s3 only), repeatable: `network.loadBalancerAnnotations`. */
  lbAnnotations?: readonly string[];
  /** `--storage-source-cidrs` (cloud s3 only): `network.storageSourceCidrs`. */
  storageSourceCidrs?: readonly string[];
  /** `--role`: a `spoke` (default) or an `edge`, which writes only to the receiver of `spoke`. */
  role?: "spoke" | "edge";
  /** `--spoke` (edges only, required there): the spoke of the edge's sovereignty zone whose receiver it writes to. */
  spoke?: string;
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
  /** The role of the new stack. */
  role: "spoke" | "edge";
  /**
   * The stack whose file lists the new one: the hub (`observability:spokes`) for a spoke, the
   * receiving spoke (`observability:receive.edges`) for an edge. `hubPath`, `hubTextBefore`,
   * `hubTextAfter` and `hubCurrent` are about that file.
   */
  hub: string;
  stackPath: string;
  hubPath: string;
  /** Text of the new stack file (no secrets in it). */
  stackText: string;
  /** True when `Pulumi.<stack>.yaml` already says what it should. */
  stackFileCurrent: boolean;
  /** Secret values to set; empty when the stack file already holds them. */
  secrets: SecretSetting[];
  /**
   * Secrets the stack needs that neither the request nor the stack file holds (full keys): the
   * object storage keys of a cloud s3 spoke, set later with `fleet secrets`. Listed in the stack
   * file's header; the spoke is not deployed while any is missing.
   */
  missingSecrets: string[];
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
  "cluster", "network", "egress", "objectStorage", "endpoints", "retention", "encryption", "versions", "loki", "pki", "tags", "alerting",
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
    // On s3 the egress is adopted (--egress-ips), never created.
    ...(cloud === "s3" ? {} : { egress: { mode: "create", count: 2 } }),
    retention: prod
      ? { raw: "30d", fiveMinutes: "180d", oneHour: "2y", logs: "90d", local: "24h", noncurrentVersions: "7d" }
      : { raw: "15d", fiveMinutes: "90d", oneHour: "1y", logs: "14d", local: "12h", noncurrentVersions: "3d" },
    // An S3-compatible service gets no customer-managed key from this program: the schema's default (provider) says so.
    ...(cloud === "s3" ? {} : { encryption: { mode: prod ? "customer" : "provider" } }),
    loki: { mode: prod ? "simple-scalable" : "single-binary" },
    alerting: { forwardToHub: true },
  };
  if (isRecord(hubValues.versions)) template.versions = hubValues.versions;
  if (domain !== undefined) template.endpoints = { thanos: `thanos.${req.stack}.${domain}`, loki: `loki.${req.stack}.${domain}` };
  if (cloud === "gcp") template.network = { bucketIpFilter: true };
  return template;
}

/** The value at a dotted path of nested maps, or undefined. */
function valueAt(root: Record<string, unknown>, path: string): unknown {
  let v: unknown = root;
  for (const seg of path.split(".")) {
    if (!isRecord(v)) return undefined;
    v = v[seg];
  }
  return v;
}

/** Sets the value at a dotted path, creating maps on the way (an existing non-map is replaced). */
function setAt(root: Record<string, unknown>, path: string, value: unknown): void {
  const segs = path.split(".");
  let holder = root;
  for (const seg of segs.slice(0, -1)) {
    const next = holder[seg];
    holder[seg] = isRecord(next) ? { ...next } : {};
    holder = holder[seg] as Record<string, unknown>;
  }
  holder[segs[segs.length - 1]] = value;
}

/**
 * Splits off the secret leaves of a spoke on `cloud` (`secretLeaves`: the kubeconfig, the alerting
 * URLs and, on s3, the object storage keys); maps left empty by it are dropped.
 */
function splitSecrets(values: Record<string, unknown>, cloud: Cloud, role: "spoke" | "edge" = "spoke"): { plain: Record<string, unknown>; secrets: SecretSetting[] } {
  const secrets: SecretSetting[] = [];
  const plain = structuredClone(values);
  for (const leaf of secretLeaves(role, cloud)) {
    const segs = leaf.split(".");
    const chain: Record<string, unknown>[] = [plain];
    for (const seg of segs.slice(0, -1)) {
      const next = chain[chain.length - 1][seg];
      if (!isRecord(next)) break;
      chain.push(next);
    }
    if (chain.length !== segs.length) continue;
    const last = segs[segs.length - 1];
    const v = chain[chain.length - 1][last];
    if (v === undefined) continue;
    secrets.push({ key: `${NS}:${leaf}`, value: String(v) });
    delete chain[chain.length - 1][last];
    for (let i = chain.length - 1; i > 0 && Object.keys(chain[i]).length === 0; i--) delete chain[i - 1][segs[i - 1]];
  }
  return { plain, secrets };
}

// ---- cloud s3: the S3-compatible service, from flags ------------------------------------------


/** The identities of `objectStorage.principals`. */
const S3_IDENTITIES = ["sidecar", "compactor", "loki", "reader", "store"] as const;

/** Flags that only describe a cloud s3 spoke, by request field. */
const S3_ONLY_FLAGS = [
  ["s3Profile", "--profile"],
  ["endpoint", "--endpoint"],
  ["egressIps", "--egress-ips"],
  ["principals", "--principal"],
  ["lbAnnotations", "--lb-annotation"],
  ["storageSourceCidrs", "--storage-source-cidrs"],
] as const satisfies readonly (readonly [keyof OnboardRequest, string])[];

/** Refuses the s3 flags on another cloud, naming the flag and what to do instead. */
function refuseS3Flags(req: OnboardRequest, cloud: Cloud): void {
  if (cloud === "s3") return;
  for (const [field, flag] of S3_ONLY_FLAGS) {
    const v = req[field];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    const hint =
      field === "s3Profile"
        ? ` (it names the S3-compatible service: ${S3_PROFILES.join(", ")}); the sizing of a stack is --set profile=small|medium|large`
        : `; a ${cloud} spoke takes these settings through --values <file.yaml> or --set key.path=value`;
    throw new FleetError(`${flag} is only used with --cloud s3${hint}`, EXIT.USAGE);
  }
}

/** `key=value` flags into a map; an empty key, a missing '=' or a key given twice is refused. */
function keyValues(flag: string, example: string, list: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new FleetError(`${flag} ${item}: expected key=value, like ${flag} ${example}`, EXIT.USAGE);
    const k = item.slice(0, eq);
    if (out.has(k)) throw new FleetError(`${flag} ${k}=...: given twice; pass each key once`, EXIT.USAGE);
    out.set(k, item.slice(eq + 1));
  }
  return out;
}

/** An https origin (no path, query or credentials), as `objectStorage.endpoint` must be. */
function isHttpsOrigin(v: string): boolean {
  if (!URL.canParse(v)) return false;
  const u = new URL(v);
  return u.protocol === "https:" && u.pathname === "/" && u.search === "" && u.hash === "" && u.username === "" && u.password === "";
}

/**
 * The settings of a cloud s3 spoke from its flags, over what `--values`/`--set` gave (flags win):
 * profile, endpoint, principals, adopted egress, cluster name and network. Each flag is checked
 * here, so a mistake is reported with the flag that made it and its fix.
 */
function applyS3Flags(values: Record<string, unknown>, req: OnboardRequest, region: string): Record<string, unknown> {
  const storage = isRecord(values.objectStorage) ? values.objectStorage : {};
  const publicList = `${PUBLIC_S3_PROFILES.join(", ")} (public; --region ${PUBLIC_S3_PROFILES.map((p) => Object.keys(S3_PUBLIC_REGIONS[p]).join("|")).join(", ")})`;
  const onPremList = `${S3_PROFILES.filter((p) => !PUBLIC_S3_PROFILES.some((q) => q === p)).join(", ")} (on premises; --region <country>-<site>, like de-fra1)`;
  const profileName = req.s3Profile ?? storage.profile;
  if (profileName === undefined) throw new FleetError(`--profile is required with --cloud s3: the S3-compatible service, one of ${publicList} or ${onPremList}`, EXIT.USAGE);
  const profile = S3_PROFILES.find((p) => p === profileName);
  if (profile === undefined) throw new FleetError(`--profile ${String(profileName)}: expected one of ${publicList} or ${onPremList}`, EXIT.USAGE);
  const spec = s3Profile(profile);

  const publicProfile = PUBLIC_S3_PROFILES.find((p) => p === profile);
  const owner = PUBLIC_S3_PROFILES.find((p) => Object.prototype.hasOwnProperty.call(S3_PUBLIC_REGIONS[p], region));
  if (publicProfile !== undefined && !Object.prototype.hasOwnProperty.call(S3_PUBLIC_REGIONS[publicProfile], region)) {
    const fix = owner !== undefined ? `; ${region} is a region of --profile ${owner}` : onPremCountry(region) !== undefined ? `; an on-premises location takes --profile ${onPremList}` : "";
    throw new FleetError(`--region ${region}: not a region of --profile ${profile} (${spec.title}); use --region ${Object.keys(S3_PUBLIC_REGIONS[publicProfile]).join(" or ")}${fix}`, EXIT.USAGE);
  }
  if (publicProfile === undefined && onPremCountry(region) === undefined) {
    const fix = owner !== undefined ? `; ${region} is the region of the public --profile ${owner}` : "";
    throw new FleetError(`--region ${region}: an on-premises ${profile} service is located by <country>-<site>, like --region de-fra1 (the country decides the sovereignty zone)${fix}`, EXIT.USAGE);
  }

  let endpoint = req.endpoint ?? storage.endpoint;
  if (req.endpoint !== undefined && !isHttpsOrigin(req.endpoint)) {
    throw new FleetError(`--endpoint ${req.endpoint}: expected the https origin of the service's S3 API, like https://rgw.example.eu (https only, no path, query or credentials)`, EXIT.USAGE);
  }
  if (endpoint === undefined && publicProfile !== undefined) endpoint = S3_DEFAULT_ENDPOINTS[publicProfile][region];
  if (endpoint === undefined) {
    throw new FleetError(`--endpoint is required with --profile ${profile}: the https origin of the ${spec.title} S3 API the cluster reaches, like --endpoint https://rgw.example.eu`, EXIT.USAGE);
  }

  // Principals: --values/--set, then the flags; each in the profile's format.
  const given = keyValues("--principal", `sidecar=${spec.principalFormat.example}`, req.principals ?? []);
  const fromValues = isRecord(storage.principals) ? storage.principals : {};
  const principals: Record<string, unknown> = { ...fromValues };
  for (const [identity, principal] of given) {
    if (!S3_IDENTITIES.some((i) => i === identity)) {
      throw new FleetError(`--principal ${identity}=...: unknown identity; expected sidecar, compactor, loki, and reader (queryPath hub-store) or store (queryPath spoke-query)`, EXIT.USAGE);
    }
    principals[identity] = principal;
  }
  for (const [identity, principal] of Object.entries(principals)) {
    if (typeof principal !== "string" || spec.principalFormat.pattern.test(principal)) continue;
    const where = given.has(identity) ? `--principal ${identity}=${principal}` : `${NS}:objectStorage.principals.${identity} (from --values/--set)`;
    throw new FleetError(`${where}: not a principal of --profile ${profile}; its bucket policies name an identity like ${spec.principalFormat.example} (${spec.principalFormat.source})`, EXIT.USAGE);
  }
  const read = (values.queryPath ?? "hub-store") === "spoke-query" ? "store" : "reader";
  const missing = ["sidecar", "compactor", "loki", read].filter((i) => principals[i] === undefined);
  if (missing.length > 0) {
    throw new FleetError(
      `--principal is required for ${missing.join(", ")}: how ${spec.title}'s bucket policies name each identity, like ${missing.map((i) => `--principal ${i}=${spec.principalFormat.example}`).join(" ")}`,
      EXIT.USAGE,
    );
  }

  const egress = isRecord(values.egress) ? values.egress : {};
  const adopted = req.egressIps ?? (egress.mode === "existing" && Array.isArray(egress.addresses) && egress.addresses.length > 0 ? undefined : []);
  if (adopted !== undefined && adopted.length === 0) {
    throw new FleetError(`--egress-ips is required with --cloud s3: the addresses the cluster's traffic leaves from (adopted, never created; the bucket policies and the hub admit them), comma-separated, like --egress-ips 80.158.10.21,80.158.10.22`, EXIT.USAGE);
  }
  for (const ip of adopted ?? []) {
    if (isIP(ip) === 0) throw new FleetError(`--egress-ips: ${ip} is not an IP address; give the cluster's egress addresses, comma-separated, like --egress-ips 80.158.10.21,80.158.10.22`, EXIT.USAGE);
  }
  if (adopted !== undefined && new Set(adopted).size !== adopted.length) throw new FleetError(`--egress-ips: an address is given twice (${adopted.join(", ")})`, EXIT.USAGE);

  const clusterName = req.clusterName ?? (isRecord(values.cluster) ? values.cluster.name : undefined);
  if (clusterName === undefined) throw new FleetError(`--cluster-name is required with --cloud s3: the name of the Kubernetes cluster the spoke deploys into, like --cluster-name ${req.stack}-cce`, EXIT.USAGE);
  const network = isRecord(values.network) ? values.network : {};
  if (req.cidrs === undefined && network.cidrs === undefined) {
    throw new FleetError(`--cidrs is required with --cloud s3: the CIDR blocks of the cluster's nodes and pods, comma-separated, like --cidrs 10.60.0.0/16`, EXIT.USAGE);
  }
  const annotations = keyValues("--lb-annotation", "kubernetes.io/elb.id=<id>", req.lbAnnotations ?? []);

  const out = merge(values, {
    cluster: { name: clusterName },
    network: {
      ...(req.cidrs !== undefined ? { cidrs: [...req.cidrs] } : {}),
      ...(annotations.size > 0 ? { loadBalancerAnnotations: Object.fromEntries(annotations) } : {}),
      ...(req.storageSourceCidrs !== undefined ? { storageSourceCidrs: [...req.storageSourceCidrs] } : {}),
    },
    objectStorage: { profile, endpoint, principals },
  });
  if (adopted !== undefined) out.egress = { mode: "existing", count: adopted.length, addresses: [...adopted] };
  return out;
}


/** Secrets onboarding may leave for `fleet secrets`: the object storage keys (the kubeconfig and alerting URLs it sets itself). */
function deferrable(leaf: string): boolean {
  return leaf.startsWith("objectStorage.credentials.");
}

/** Flags behind config keys, for validation messages: `[key prefix, flag, clouds it applies to]`. */
const FLAG_OF_KEY: readonly (readonly [string, string, "s3" | "all"])[] = [
  ["cluster.name", "--cluster-name", "all"],
  ["network.cidrs", "--cidrs", "all"],
  ["network.storageSourceCidrs", "--storage-source-cidrs", "s3"],
  ["network.loadBalancerAnnotations", "--lb-annotation", "s3"],
  ["egress", "--egress-ips", "s3"],
  ["objectStorage.profile", "--profile", "s3"],
  ["objectStorage.endpoint", "--endpoint", "s3"],
  ["objectStorage.principals", "--principal", "s3"],
];

function flagHint(key: string, cloud: Cloud): string {
  const bare = key.startsWith(`${NS}:`) ? key.slice(NS.length + 1) : key;
  const hit = FLAG_OF_KEY.find(([k, , c]) => (c === "all" || c === cloud) && (bare === k || bare.startsWith(`${k}.`) || bare.startsWith(`${k}[`)));
  return hit === undefined ? "" : ` (flag ${hit[1]})`;
}

/**
 * The stack file text for plain values, keys in the examples' order. `missing`: secrets (full
 * keys) still to set before the first deployment, listed in the header with the command.
 */
export function renderStackFile(stack: string, cloud: string, region: string, plain: Record<string, unknown>, missing: readonly string[] = []): string {
  const keys = [...KEY_ORDER.filter((k) => k in plain), ...Object.keys(plain).filter((k) => !KEY_ORDER.includes(k)).sort()];
  const config = Object.fromEntries(keys.map((k) => [`${NS}:${k}`, plain[k]]));
  const header = [
    `# Spoke ${stack}: ${cloud} ${region}. Written by 'fleet onboard'.`,
    `# Secrets (kubeconfig, alerting URLs${cloud === "s3" ? ", object storage keys" : ""}) are set with the stack's secrets provider:`,
    `#   pulumi config set --secret ${NS}:kubeconfig -s ${stack} < kubeconfig.yaml`,
    ...(missing.length > 0
      ? [
          `# Secrets to set before the first deployment (npm run fleet -- secrets --stacks ${stack} --prompt,`,
          `# or --from-file <key>=<file> each; npm run fleet -- secrets --stacks ${stack} lists those still missing):`,
          ...missing.map((k) => `#   ${k}`),
        ]
      : []),
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
  if (req.role === "edge") return planEdgeOnboard(projectDir, req);
  if (req.spoke !== undefined) throw new FleetError("--spoke names an edge's zone spoke: pass --role edge, or leave --spoke out for a spoke", EXIT.USAGE);
  const cloud = CLOUDS.find((c) => c === req.cloud);
  if (cloud === undefined) throw new FleetError(`--cloud ${req.cloud}: expected one of ${CLOUDS.join(", ")}`, EXIT.USAGE);
  refuseS3Flags(req, cloud);
  if (!isRegionOf(cloud, req.region)) {
    const known = Object.keys(REGIONS[cloud]).join(", ");
    throw new FleetError(
      cloud === "s3"
        ? `--region ${req.region}: neither a region of a public S3-compatible service (${known}) nor an on-premises location <country>-<site>, like de-fra1`
        : `--region ${req.region}: not ${cloudName(cloud)} region known to this project; use one of: ${known}`,
      EXIT.USAGE,
    );
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
  if (cloud === "s3") values = applyS3Flags(values, req, req.region);
  else {
    if (req.clusterName !== undefined) setAt(values, "cluster.name", req.clusterName);
    if (req.cidrs !== undefined) setAt(values, "network.cidrs", [...req.cidrs]);
  }
  // The request's identity flags win over anything in --values/--set.
  Object.assign(values, { role: "spoke", cloud, region: req.region, environment, hub: { stack: hub } });

  const stackPath = stackFilePath(projectDir, req.stack);
  const existing = existsSync(stackPath) ? readStackFile(projectDir, req.stack) : undefined;
  const { plain, secrets } = splitSecrets(values, cloud);
  // An existing file holds its secrets already (encrypted): validate with them, never re-set them.
  const secretKeys = new Set<string>(existing?.secretKeys ?? []);
  // All are set as secrets by this command whatever their source, so validate them as such.
  for (const k of SECRET_KEYS) secretKeys.add(`${NS}:${k}`);
  // Secrets neither given nor in an existing file: the object storage keys may follow (fleet secrets);
  // they are validated as the stand-ins a stack file without them is read with.
  const toValidate = structuredClone(values);
  const missingSecrets: string[] = [];
  for (const leaf of neededSecretLeaves({ ...values, role: "spoke", cloud })) {
    const key = `${NS}:${leaf}`;
    if (valueAt(values, leaf) !== undefined) continue;
    const inFile = existing?.setSecrets.includes(key) === true;
    // An existing file's secrets were set before (possibly outside this file's ciphertext): validated as set.
    if (inFile || existing !== undefined || deferrable(leaf)) setAt(toValidate, leaf, secretPlaceholder(req.stack, key));
    if (!inFile && deferrable(leaf)) missingSecrets.push(key);
  }
  const known = new Map(roles);
  known.set(req.stack, "spoke");
  const result = validateStackConfig(toValidate, { stack: req.stack, secretKeys, knownStacks: known });
  if (!result.ok) {
    const lines = result.issues.map((i) => `  - ${i.key}: ${i.message}${flagHint(i.key, cloud)}`);
    throw new FleetError(`Pulumi.${req.stack}.yaml would be invalid, nothing was written:\n${lines.join("\n")}\nProvide the missing values with --values <file.yaml> or --set key.path=value (and --kubeconfig-file).`, EXIT.USAGE);
  }

  const stackText = renderStackFile(req.stack, cloud, req.region, plain, missingSecrets);
  let stackFileCurrent = false;
  let pendingSecrets = secrets;
  if (existing) {
    const wanted = normalizeValues(parse(stackText));
    // Compared without the secret leaves (the file's are ciphertext or stand-ins).
    const have = splitSecrets(existing.values, cloud).plain;
    const differing = Object.keys({ ...wanted, ...have }).filter((k) => !isDeepStrictEqual(wanted[k], have[k]));
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
  return { stack: req.stack, role: "spoke", hub, stackPath, hubPath, stackText, stackFileCurrent, secrets: pendingSecrets, missingSecrets, hubTextBefore, hubTextAfter, hubCurrent: !changed };
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
  /**
   * Secrets the spoke still lacks (full keys), so nothing was deployed: set them with
   * `fleet secrets --stacks <stack>`, then `fleet up --stacks <stack>,<hub>`. Empty otherwise.
   */
  missingSecrets: string[];
}

/**
 * Carries out a validated {@link OnboardPlan}: stack file, secrets, hub spoke list, then
 * `up` of the spoke (wave 2) and the hub (wave 3) with the fleet's failure policy. A second
 * run finds everything in place and the spoke deployed, and does nothing. While the spoke
 * lacks a secret ({@link OnboardPlan.missingSecrets}, still unset in the backend) nothing is
 * deployed: the outcome lists them.
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
    if (outputs[CONTRACT_OUTPUT] !== undefined) return { alreadyOnboarded: true, written: [], missingSecrets: [] };
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
  if (plan.missingSecrets.length > 0) {
    // The backend knows what was set since the plan was made (fleet secrets); a spoke without its keys would only fail its up.
    const have = await runner.secretConfig(plan.stack);
    const missingSecrets = plan.missingSecrets.filter((k) => !have.set.includes(k));
    if (missingSecrets.length > 0) return { alreadyOnboarded: false, written, missingSecrets };
  }
  const result = await runFleet(runner, "up", loadFleet(projectDir, [plan.stack, plan.hub]), opts, hooks);
  return { alreadyOnboarded: false, written, result, missingSecrets: [] };
}

// ---- edges ------------------------------------------------------------------------------------

/**
 * Adds `edge` to the spoke document's `observability:receive.edges`, enabling the receiver at
 * `endpoint` when the spoke has none yet.
 */
export function addEdgeToSpoke(spokeText: string, edge: string, endpoint: string | undefined): { text: string; changed: boolean } {
  const doc: Document = parseDocument(spokeText);
  const key = `${NS}:receive`;
  const config = doc.get("config");
  if (!isMap(config)) throw new FleetError("spoke stack file has no config: map", EXIT.USAGE);
  const receive = config.get(key);
  if (receive === undefined || receive === null) {
    if (endpoint === undefined) throw new FleetError(`the spoke runs no zone receiver and its endpoint name cannot be derived: set ${key} (enabled: true, endpoint: receive.<spoke>.<domain>) in its stack file first`, EXIT.USAGE);
    config.set(key, doc.createNode({ enabled: true, endpoint, edges: [edge] }));
    return { text: doc.toString({ lineWidth: 0 }), changed: true };
  }
  if (!isMap(receive)) throw new FleetError(`spoke stack file: ${key} is not a map`, EXIT.USAGE);
  let changed = false;
  if (receive.get("enabled") !== true) {
    receive.set("enabled", true);
    changed = true;
  }
  if (receive.get("endpoint") === undefined) {
    if (endpoint === undefined) throw new FleetError(`the spoke's ${key}.endpoint is not set and cannot be derived: set it in its stack file first`, EXIT.USAGE);
    receive.set("endpoint", endpoint);
    changed = true;
  }
  const edges = receive.get("edges");
  if (edges === undefined || edges === null) {
    receive.set("edges", doc.createNode([edge]));
    return { text: doc.toString({ lineWidth: 0 }), changed: true };
  }
  if (!isSeq(edges)) throw new FleetError(`spoke stack file: ${key}.edges is not a list`, EXIT.USAGE);
  const current: unknown = edges.toJSON();
  if (Array.isArray(current) && current.includes(edge)) return { text: doc.toString({ lineWidth: 0 }), changed };
  edges.add(doc.createNode(edge));
  return { text: doc.toString({ lineWidth: 0 }), changed: true };
}

/**
 * The template of a new edge: the spoke's sovereignty zone and chart versions, the smallest
 * profile, one created egress address (the receiver's allowlist entry). No `cluster`/`network`
 * references (only the user knows them) and nothing of another stack's identity.
 */
export function edgeTemplate(projectDir: string, req: OnboardRequest & { environment: string }, cloud: Cloud, spoke: string): Record<string, unknown> {
  const spokeValues = readStackFile(projectDir, spoke).values;
  return {
    role: "edge",
    cloud,
    region: req.region,
    environment: req.environment,
    sovereigntyZone: spokeValues.sovereigntyZone,
    profile: "small",
    spoke: { stack: spoke },
    egress: { mode: "create", count: 1 },
    ...(isRecord(spokeValues.versions) ? { versions: spokeValues.versions } : {}),
  };
}

/**
 * Computes and validates the onboarding of one edge without writing anything: its stack file,
 * and its name in the receiving spoke's `receive.edges` (enabling the receiver at
 * `receive.<spoke>.<domain>` when the spoke has none). The spoke must be of the edge's
 * sovereignty zone, which the region decides. Throws a {@link FleetError} (exit 3).
 */
export function planEdgeOnboard(projectDir: string, req: OnboardRequest): OnboardPlan {
  const cloud = CLOUDS.find((c) => c === req.cloud);
  if (cloud === undefined || cloud === "s3") throw new FleetError(`--cloud ${req.cloud}: an edge runs on aws, gcp or azure (its egress addresses come from that cloud's network)`, EXIT.USAGE);
  refuseS3Flags(req, cloud);
  if (req.hub !== undefined) throw new FleetError("--hub: an edge has no hub; it writes to its zone spoke (--spoke)", EXIT.USAGE);
  if (!isRegionOf(cloud, req.region)) throw new FleetError(`--region ${req.region}: not ${cloudName(cloud)} region known to this project; use one of: ${Object.keys(REGIONS[cloud]).join(", ")}`, EXIT.USAGE);
  const environment = req.environment ?? inferEnvironment(req.stack);
  if (environment === undefined) {
    throw new FleetError(`--environment is needed: the stack name ${req.stack} does not start with a known environment (${ENVIRONMENTS.map((e) => `${e}-`).join(", ")}); pass --environment <${ENVIRONMENTS.join("|")}>`, EXIT.USAGE);
  }
  const roles = knownStacks(projectDir);
  if (roles.has(req.stack) && roles.get(req.stack) !== "edge") {
    throw new FleetError(`stack ${req.stack} already exists and is not an edge (observability:role is ${JSON.stringify(roles.get(req.stack))})`, EXIT.USAGE);
  }
  const spoke = req.spoke;
  if (spoke === undefined) throw new FleetError("--spoke <stack> is required with --role edge: the spoke of the edge's sovereignty zone whose receiver it writes to", EXIT.USAGE);
  if (!roles.has(spoke)) throw new FleetError(`--spoke ${spoke}: no Pulumi.${spoke}.yaml in ${projectDir}`, EXIT.USAGE);
  if (roles.get(spoke) !== "spoke") throw new FleetError(`--spoke ${spoke}: stack is not a spoke (observability:role is ${JSON.stringify(roles.get(spoke))})`, EXIT.USAGE);
  const spokeValues = readStackFile(projectDir, spoke).values;
  const spokeZone = String(spokeValues.sovereigntyZone);
  const regionZones = zonesOf(cloud, req.region);
  if (!regionZones.includes(spokeZone)) {
    throw new FleetError(
      `--spoke ${spoke} is of sovereignty zone '${spokeZone}', but ${cloud} ${req.region} is in ${regionZones.map((z) => `'${z}'`).join(", ")}: an edge writes only to a spoke of its own zone. Attach it to a spoke of zone ${regionZones.map((z) => `'${z}'`).join(" or ")}, or pick a region of zone '${spokeZone}'`,
      EXIT.USAGE,
    );
  }

  let values = merge(edgeTemplate(projectDir, { ...req, environment }, cloud, spoke), normalizeValues(req.values));
  for (const s of req.sets ?? []) values = applySet(values, s);
  if (req.kubeconfig !== undefined) values.kubeconfig = req.kubeconfig;
  if (req.clusterName !== undefined) setAt(values, "cluster.name", req.clusterName);
  if (req.cidrs !== undefined) setAt(values, "network.cidrs", [...req.cidrs]);
  Object.assign(values, { role: "edge", cloud, region: req.region, environment, spoke: { stack: spoke } });

  const stackPath = stackFilePath(projectDir, req.stack);
  const existing = existsSync(stackPath) ? readStackFile(projectDir, req.stack) : undefined;
  const { plain, secrets } = splitSecrets(values, cloud, "edge");
  const secretKeys = new Set<string>(existing?.secretKeys ?? []);
  for (const k of SECRET_KEYS) secretKeys.add(`${NS}:${k}`);
  const toValidate = structuredClone(values);
  for (const leaf of neededSecretLeaves({ ...values, role: "edge", cloud })) {
    const key = `${NS}:${leaf}`;
    if (valueAt(values, leaf) === undefined && existing !== undefined) setAt(toValidate, leaf, secretPlaceholder(req.stack, key));
  }
  const known = new Map(roles);
  known.set(req.stack, "edge");
  const zones = knownZones(projectDir);
  zones.set(req.stack, spokeZone);
  const result = validateStackConfig(toValidate, { stack: req.stack, secretKeys, knownStacks: known, knownZones: zones });
  if (!result.ok) {
    const lines = result.issues.map((i) => `  - ${i.key}: ${i.message}${flagHint(i.key, cloud)}`);
    throw new FleetError(`Pulumi.${req.stack}.yaml would be invalid, nothing was written:\n${lines.join("\n")}\nProvide the missing values with --values <file.yaml> or --set key.path=value (and --kubeconfig-file).`, EXIT.USAGE);
  }

  const stackText = renderStackFile(req.stack, cloud, req.region, plain).replace(/^# Spoke /, "# Edge ");
  let stackFileCurrent = false;
  let pendingSecrets = secrets;
  if (existing) {
    const wanted = normalizeValues(parse(stackText));
    const have = splitSecrets(existing.values, cloud, "edge").plain;
    const differing = Object.keys({ ...wanted, ...have }).filter((k) => !isDeepStrictEqual(wanted[k], have[k]));
    if (differing.length > 0) {
      throw new FleetError(`Pulumi.${req.stack}.yaml exists and differs from the request in ${differing.map((k) => `${NS}:${k}`).join(", ")}; edit it and run 'fleet up --stacks ${req.stack},${spoke}' instead`, EXIT.USAGE);
    }
    stackFileCurrent = true;
    pendingSecrets = secrets.filter((s) => !existing.setSecrets.includes(s.key));
  }

  // The receiver's name on the domain of the spoke's other endpoints (receive.<spoke>.<domain>).
  const endpoints = isRecord(spokeValues.endpoints) ? spokeValues.endpoints : {};
  const thanos = typeof endpoints.thanos === "string" ? endpoints.thanos : undefined;
  const endpoint = thanos !== undefined && thanos.startsWith(`thanos.${spoke}.`) ? `receive.${thanos.slice("thanos.".length)}` : undefined;
  const spokePath = stackFilePath(projectDir, spoke);
  const spokeTextBefore = readFileSync(spokePath, "utf8");
  const { text: spokeTextAfter, changed } = addEdgeToSpoke(spokeTextBefore, req.stack, endpoint);
  return { stack: req.stack, role: "edge", hub: spoke, stackPath, stackText, stackFileCurrent, secrets: pendingSecrets, missingSecrets: [], hubPath: spokePath, hubTextBefore: spokeTextBefore, hubTextAfter: spokeTextAfter, hubCurrent: !changed };
}
