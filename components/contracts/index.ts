/**
 * The contracts between stacks. Stack outputs are an API: the spoke publishes
 * {@link SpokeExports}, the hub publishes {@link HubExports}, and each side validates what
 * it reads from the other through a StackReference before it registers anything.
 */
import { X509Certificate } from "node:crypto";
import { isIPv4 } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

/**
 * The contract version this project writes. Bumped on every incompatible change of either
 * contract. v2: the hub reads spokes without a stored credential (workload identity federation):
 * the hub publishes its ServiceAccount issuer and how it reads each spoke, a spoke publishes how
 * the hub reads it (`reader`).
 */
export const CONTRACT_VERSION = 2;

/**
 * The versions a reader accepts: the current one and the one before it, so a fleet can be
 * migrated one stack at a time. A stack on any other version is refused, naming what to update.
 */
export const READABLE_CONTRACT_VERSIONS: readonly number[] = [1, CONTRACT_VERSION];

/** One or more PEM CA certificates. */
export const pem = z.string().refine(
  (v) => {
    const blocks = v.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
    if (blocks === null) return false;
    try {
      return blocks.every((b) => new X509Certificate(b).ca);
    } catch {
      return false;
    }
  },
  { error: "expected one or more PEM CA certificates" },
);
/** An IPv4 address. */
export const ipv4 = z.string().refine((v) => isIPv4(v), { error: "expected an IPv4 address" });
/** `host:port`. */
export const hostPort = z.string().regex(/^[a-z0-9.-]+:[0-9]{1,5}$/, { error: "expected host:port" });
/** An https:// URL. */
export const httpsUrl = z.string().refine((v) => URL.canParse(v) && new URL(v).protocol === "https:", { error: "expected an https:// URL" });
/** A non-empty string. */
export const nonEmpty = z.string().min(1);
const guid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, { error: "expected a GUID" });
/** The contract versions a reader accepts, as a schema. */
export const contractVersion = z.union([z.literal(1), z.literal(CONTRACT_VERSION)]);

/**
 * How the hub authenticates as a spoke's federated reader, per spoke cloud: what its store
 * gateway's projected token is exchanged for. None of it is a secret.
 */
export const federatedIdentitySchema = z.discriminatedUnion("cloud", [
  z.object({
    cloud: z.literal("aws"),
    /** The read-only role the hub assumes with AssumeRoleWithWebIdentity. */
    roleArn: z.string().regex(/^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role\/[\w+=,.@\/-]{1,64}$/, { error: "expected an IAM role ARN" }),
    /** The bucket's region: the regional STS endpoint the pod calls. */
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-[0-9]+$/, { error: "expected an AWS region" }),
  }),
  z.object({
    cloud: z.literal("gcp"),
    /** Full resource name of the Workload Identity pool provider: the STS audience and the token's. */
    audience: z.string().regex(/^\/\/iam\.googleapis\.com\/projects\/[0-9]+\/locations\/global\/workloadIdentityPools\/[a-z0-9-]{4,32}\/providers\/[a-z0-9-]{4,32}$/, {
      error: "expected //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>",
    }),
  }),
  z.object({
    cloud: z.literal("azure"),
    /** Client id of the reader's user-assigned identity, and its tenant. */
    clientId: guid,
    tenantId: guid,
  }),
]);
export type FederatedIdentity = z.output<typeof federatedIdentitySchema>;

/**
 * How the hub reads a `hub-store` spoke's bucket (contract v2). `federated`: the objstore file
 * carries no credential and `identity` says what the hub's token is exchanged for; the spoke trusts
 * exactly `issuerUrl` and `subject`. `key`: the secret `objstoreReadonly` carries a static credential.
 */
export const readerSchema = z.discriminatedUnion("auth", [
  z.object({ auth: z.literal("key") }),
  z.object({
    auth: z.literal("federated"),
    /** Thanos objstore YAML without any credential (not a secret). */
    objstore: nonEmpty,
    identity: federatedIdentitySchema,
    /** The hub issuer and ServiceAccount subject the spoke's trust is bound to. */
    issuerUrl: httpsUrl,
    subject: z.string().regex(/^system:serviceaccount:[a-z0-9-]+:[a-z0-9.-]+$/, { error: "expected system:serviceaccount:<namespace>:<name>" }),
  }),
]);
export type SpokeReader = z.output<typeof readerSchema>;

/** A PEM leaf (not CA) certificate. */
const leafPem = z.string().refine(
  (v) => {
    try {
      return !new X509Certificate(v).ca;
    } catch {
      return false;
    }
  },
  { error: "expected a PEM leaf certificate" },
);

/**
 * A spoke's zone receiver (optional in contract v2: older readers ignore it). The edges of the
 * spoke's sovereignty zone remote-write to `url` over mTLS, checking the server against `caPem`
 * and `serverName`; the receiver accepts exactly the edges in `edges` (one tenant each, the
 * tenant taken from the client certificate's common name). The spoke signs each edge's
 * certificate request itself (`certificates`, public), so only the spoke decides which tenant a
 * certificate names. Logs go to the spoke's Loki gateway (`loki` of the spoke contract) with
 * each edge's own basic-auth user and the same certificate.
 */
export const receiverSchema = z.object({
  /** `https://<name>:<port>/api/v1/receive`, Thanos Receive's remote-write handler. */
  url: httpsUrl,
  serverName: nonEmpty,
  caPem: pem,
  /** The edge stacks (tenants) this receiver accepts. */
  edges: z.array(nonEmpty),
  /** Each accepted edge's client certificate, signed by the spoke's edge CA from the edge's request. */
  certificates: z.record(nonEmpty, leafPem),
});
export type ReceiverExports = z.output<typeof receiverSchema>;

/** Schema of a spoke's stack outputs. */
export const spokeExportsSchema = z.object({
  contractVersion,
  role: z.literal("spoke"),
  name: nonEmpty,
  // A spoke on S3-compatible storage (cloud s3) publishes the same contract; its hub reader is a key.
  cloud: z.enum(["aws", "gcp", "azure", "s3"]),
  region: nonEmpty,
  sovereigntyZone: nonEmpty,
  environment: nonEmpty,
  queryPath: z.enum(["hub-store", "spoke-query"]),
  labels: z.object({ cluster: nonEmpty, environment: nonEmpty, region: nonEmpty, cloud: nonEmpty }),
  egressIps: z.array(ipv4).min(1),
  /** Whether the spoke could read the hub and exposes its endpoints (it fails closed). */
  exposed: z.boolean(),
  thanos: z.object({ endpoint: hostPort, serverName: nonEmpty, caPem: pem }),
  loki: z.object({ url: httpsUrl, serverName: nonEmpty, caPem: pem, username: nonEmpty }),
  buckets: z.object({ metrics: nonEmpty, logs: nonEmpty }),
  /** Basic-auth password of the spoke's Loki gateway (secret). */
  lokiPassword: nonEmpty,
  /**
   * Thanos objstore config (YAML) with the hub's static read-only credential (secret): v1
   * `hub-store` spokes, v2 spokes read with `reader.auth: key`, and federated v2 spokes while the
   * hub still reads them with the key (the migration keeps it until the hub has switched).
   */
  objstoreReadonly: nonEmpty.optional(),
  /** v2, `hub-store` spokes: how the hub reads the bucket (see {@link readerSchema}). */
  reader: readerSchema.optional(),
  /** The zone receiver, when the spoke runs one (`receive.enabled`): where its edges write (see {@link receiverSchema}). */
  receiver: receiverSchema.optional(),
  /** Requested CPU/memory of the spoke's workloads; informational (fleet reports), never wired. */
  footprint: z
    .object({ cluster: z.object({ cpuMillicores: z.number(), memoryMiB: z.number() }), perNode: z.object({ cpuMillicores: z.number(), memoryMiB: z.number() }) })
    .optional(),
}).superRefine((v, ctx) => {
  if (v.contractVersion === 1) {
    if (v.queryPath === "hub-store" && v.objstoreReadonly === undefined)
      ctx.addIssue({ code: "custom", path: ["objstoreReadonly"], message: "required when queryPath is hub-store: the hub reads this spoke's bucket" });
    return;
  }
  if (v.queryPath === "hub-store" && v.reader === undefined)
    ctx.addIssue({ code: "custom", path: ["reader"], message: "required when queryPath is hub-store: it says how the hub reads this spoke's bucket" });
  if (v.queryPath !== "hub-store" && (v.reader !== undefined || v.objstoreReadonly !== undefined))
    ctx.addIssue({ code: "custom", path: ["reader"], message: "only a hub-store spoke is read from its bucket" });
  if (v.reader?.auth === "key" && v.objstoreReadonly === undefined)
    ctx.addIssue({ code: "custom", path: ["objstoreReadonly"], message: "required when reader.auth is key: it carries the hub's read-only credential" });
  if (v.reader?.auth === "federated" && v.reader.identity.cloud !== v.cloud)
    ctx.addIssue({ code: "custom", path: ["reader", "identity", "cloud"], message: `is ${v.reader.identity.cloud}, but the spoke is on ${v.cloud}` });
});

/** Every output name of the spoke contract. */
export const SPOKE_KEYS = ["contractVersion", "role", "name", "cloud", "region", "sovereigntyZone", "environment", "queryPath", "labels", "egressIps", "exposed", "thanos", "loki", "buckets", "lokiPassword", "objstoreReadonly", "reader", "receiver", "footprint"] as const;

/**
 * The S3 gateway endpoint an AWS hub's VPC reaches S3 through. Spokes in the hub's region admit
 * the hub's reader through it: requests through a VPC endpoint carry `aws:SourceVpce` and no
 * `aws:SourceIp`, so the hub's addresses alone never match them (see hubReaderPath in
 * components/clouds/aws/render.ts).
 */
const s3GatewayEndpoint = z.object({
  id: z.string().regex(/^vpce-[0-9a-f]{8,17}$/, { error: "expected a VPC endpoint id (vpce-...)" }),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-[0-9]+$/, { error: "expected an AWS region" }),
  accountId: z.string().regex(/^[0-9]{12}$/, { error: "expected a 12-digit AWS account id" }),
});

/**
 * Schema of the hub's stack outputs. `s3GatewayEndpoint` was added without a version bump: it is
 * additive for every reader, and an AWS hub deployed before it existed is refused with the output
 * named (redeploy the hub), never silently read as if it had no endpoint.
 */
/**
 * The hub's federation (v2, `hubReader.auth: federated`): the issuer of its cluster's
 * ServiceAccount tokens and the ServiceAccount of each spoke's store gateway,
 * `<serviceAccountPrefix><spoke>` in `namespace`. A spoke derives its subject from this, so a
 * spoke onboarded before the hub lists it can already trust the right ServiceAccount.
 */
export const hubFederationSchema = z.object({
  issuerUrl: httpsUrl,
  namespace: z.string().regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, { error: "expected a namespace" }),
  serviceAccountPrefix: z.string().regex(/^[a-z][a-z0-9-]*-$/, { error: "expected a ServiceAccount name prefix ending in '-'" }),
});
export type HubFederation = z.output<typeof hubFederationSchema>;

export const hubExportsSchema = z.object({
  contractVersion,
  role: z.literal("hub"),
  name: nonEmpty,
  cloud: z.enum(["aws", "gcp", "azure"]),
  region: nonEmpty,
  egressIps: z.array(ipv4).min(1),
  /** CA that signs the hub's client certificates; spokes require it on their servers. */
  clientCaPem: pem,
  /** CA the hub's Alertmanager ingestion is served with; spokes verify it when forwarding. */
  alertmanager: z.object({ url: httpsUrl, serverName: nonEmpty, caPem: pem }),
  grafanaUrl: httpsUrl,
  /** AWS hubs only: the S3 gateway endpoint of the hub's VPC (see {@link s3GatewayEndpoint}). */
  s3GatewayEndpoint: s3GatewayEndpoint.optional(),
  /** The spokes the hub wired in its last deployment. */
  spokes: z.array(nonEmpty).optional(),
  /** v2: present when the hub federates its readers (see {@link hubFederationSchema}). */
  federation: hubFederationSchema.optional(),
  /** v2: how the hub read each `hub-store` spoke in its last deployment. */
  spokeReaders: z.record(z.string(), z.enum(["key", "federated"])).optional(),
}).superRefine((v, ctx) => {
  if (v.contractVersion >= 2 && v.spokeReaders === undefined)
    ctx.addIssue({ code: "custom", path: ["spokeReaders"], message: "required from contract v2 on: spokes retire their read keys only once the hub reads them federated" });
  if (v.cloud === "aws" && v.s3GatewayEndpoint === undefined) {
    ctx.addIssue({ code: "custom", path: ["s3GatewayEndpoint"], message: "required when cloud is aws: spokes in the hub's region admit the hub's reader through this S3 gateway endpoint (the hub was deployed by an older version of this project)" });
  }
  if (v.s3GatewayEndpoint !== undefined && v.cloud !== "aws") {
    ctx.addIssue({ code: "custom", path: ["s3GatewayEndpoint"], message: `only an AWS hub has an S3 gateway endpoint; this hub is on ${v.cloud}` });
  }
  if (v.s3GatewayEndpoint !== undefined && v.s3GatewayEndpoint.region !== v.region) {
    ctx.addIssue({ code: "custom", path: ["s3GatewayEndpoint", "region"], message: `is ${v.s3GatewayEndpoint.region}, but the hub is in ${v.region}: a gateway endpoint serves its own region only` });
  }
});

/** Every output name of the hub contract. */
const HUB_KEYS = ["contractVersion", "role", "name", "cloud", "region", "egressIps", "clientCaPem", "alertmanager", "grafanaUrl", "s3GatewayEndpoint", "spokes", "federation", "spokeReaders"] as const;

export type SpokeExports = z.output<typeof spokeExportsSchema>;
export type HubExports = z.output<typeof hubExportsSchema>;

/** Outputs that are Pulumi secrets, per contract. */
export const SPOKE_SECRET_KEYS = ["lokiPassword", "objstoreReadonly"] as const;

type SpokeSecret = (typeof SPOKE_SECRET_KEYS)[number];
/** A spoke as the hub sees it: plain public fields, secrets kept as secret Outputs. */
export type SpokeView = Omit<SpokeExports, SpokeSecret> & { lokiPassword: pulumi.Output<string>; objstoreReadonly?: pulumi.Output<string> };

/** A stack's outputs failed its contract. */
export class ContractError extends Error {
  constructor(
    readonly stackName: string,
    readonly problems: readonly string[],
    fix: string,
  ) {
    super(`stack '${stackName}' does not satisfy the contract (v${READABLE_CONTRACT_VERSIONS.join(" or v")}):\n${problems.map((p) => `  - ${p}`).join("\n")}\n${fix}`);
    this.name = "ContractError";
  }
}

/**
 * The version check comes first and says which side to update: a stack older than this project
 * reads is redeployed; a stack newer than it means this checkout is behind.
 */
export function checkVersion(stack: string, values: Record<string, unknown>, reader: string): void {
  const v = values.contractVersion;
  if (v === undefined || READABLE_CONTRACT_VERSIONS.includes(v as number)) return;
  const readable = READABLE_CONTRACT_VERSIONS.join(" or ");
  if (typeof v === "number" && v > CONTRACT_VERSION) {
    throw new ContractError(stack, [`output 'contractVersion' is ${v}, expected ${readable}: '${stack}' was deployed by a newer version of this project`], `Fix: update this checkout of the project (git pull) and deploy ${reader} with it.`);
  }
  throw new ContractError(stack, [`output 'contractVersion' is ${JSON.stringify(v)}, expected ${readable}`], `Fix: run 'pulumi up -s ${stack}' with this version of the project (npm run fleet -- up orders it).`);
}

/** Validates another stack's outputs against `schema`; throws {@link ContractError} naming each output and `fix`. */
export function check<T>(schema: z.ZodType<T>, stack: string, values: Record<string, unknown>, fix: string): T {
  const r = schema.safeParse(values);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => {
    const key = i.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".").replace(/\.\[/g, "[");
    let at: unknown = values;
    for (const p of i.path) at = at !== null && typeof at === "object" ? (at as Record<PropertyKey, unknown>)[p] : undefined;
    // A conditional requirement (a custom issue) says why the output is needed.
    return at === undefined ? `output '${key}' is missing${i.code === "custom" ? `: ${i.message}` : ""}` : `output '${key}': ${i.message}`;
  });
  throw new ContractError(stack, problems, fix);
}

/** Validates a spoke's outputs (secrets already revealed); throws {@link ContractError}. */
export function parseSpokeExports(stack: string, values: Record<string, unknown>, reader = "the hub"): SpokeExports {
  checkVersion(stack, values, reader);
  if (values.exposed === false && READABLE_CONTRACT_VERSIONS.includes(values.contractVersion as number)) {
    throw new ContractError(stack, ["output 'exposed' is false: the spoke could not read its hub when it was last deployed, so it exposes nothing"], `Fix: run 'pulumi up -s ${stack}' now that the hub is deployed.`);
  }
  return check(spokeExportsSchema, stack, values, `Fix: run 'pulumi up -s ${stack}' with this version of the project, or remove '${stack}' from observability:spokes of the hub.`);
}

/** Validates the hub's outputs; throws {@link ContractError}. */
export function parseHubExports(stack: string, values: Record<string, unknown>, reader = "the spoke"): HubExports {
  checkVersion(stack, values, reader);
  return check(hubExportsSchema, stack, values, `Fix: run 'pulumi up -s ${stack}' (the hub bootstrap) before the spokes.`);
}

/** Fully qualified name of a stack of this project (`org/project/stack`). */
export function qualifiedStack(stack: string): string {
  return stack.includes("/") ? stack : `${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`;
}

/** Reads every top-level output of a stack reference, revealing secrets, and remembers which were secret. */
/** Reads `keys` of a StackReference, revealing secrets and saying which ones were secret. */
export async function readOutputs(ref: pulumi.StackReference, keys: readonly string[]): Promise<{ values: Record<string, unknown>; secret: Set<string> }> {
  const values: Record<string, unknown> = {};
  const secret = new Set<string>();
  for (const key of keys) {
    const d = await ref.getOutputDetails(key);
    if (d.secretValue !== undefined) {
      secret.add(key);
      values[key] = d.secretValue;
    } else values[key] = d.value;
  }
  return { values, secret };
}

/** Outcome of reading another stack: its validated exports, or why it could not be read. */
export type ReadResult<T> = { ok: true; value: T } | { ok: false; error: Error };

/**
 * Reads a spoke through a StackReference and validates it. Secrets are re-wrapped as
 * secret Outputs, so they stay secrets in the hub's state.
 */
export async function readSpoke(stack: string, opts?: pulumi.CustomResourceOptions): Promise<ReadResult<SpokeView>> {
  const ref = new pulumi.StackReference(`spoke-${stack}`, { name: qualifiedStack(stack) }, opts);
  try {
    const { values, secret } = await readOutputs(ref, SPOKE_KEYS);
    const parsed = parseSpokeExports(stack, values);
    const leaked = SPOKE_SECRET_KEYS.filter((k) => !secret.has(k) && values[k] !== undefined);
    if (leaked.length > 0) {
      throw new ContractError(stack, leaked.map((k) => `output '${k}' must be a secret`), `Fix: run 'pulumi up -s ${stack}' with this version of the project.`);
    }
    return {
      ok: true,
      value: {
        ...parsed,
        lokiPassword: pulumi.secret(parsed.lokiPassword),
        objstoreReadonly: parsed.objstoreReadonly === undefined ? undefined : pulumi.secret(parsed.objstoreReadonly),
      },
    };
  } catch (e) {
    if (e instanceof ContractError) return { ok: false, error: e };
    return { ok: false, error: new Error(`cannot read spoke stack '${stack}' (${qualifiedStack(stack)}): ${(e as Error).message}\nFix: deploy it first (pulumi up -s ${stack}) or remove it from observability:spokes.`) };
  }
}

/** Reads the hub through a StackReference and validates it. */
export async function readHub(stack: string, opts?: pulumi.CustomResourceOptions): Promise<ReadResult<HubExports>> {
  const ref = new pulumi.StackReference(`hub-${stack}`, { name: qualifiedStack(stack) }, opts);
  try {
    const { values } = await readOutputs(ref, HUB_KEYS);
    return { ok: true, value: parseHubExports(stack, values) };
  } catch (e) {
    if (e instanceof ContractError) return { ok: false, error: e };
    return { ok: false, error: new Error(`cannot read hub stack '${stack}' (${qualifiedStack(stack)}): ${(e as Error).message}\nFix: deploy the hub first (pulumi up -s ${stack}).`) };
  }
}

/** The env var through which the fleet CLI tells the hub which spokes to wire this run. */
export const SPOKES_ENV = "SOVEREIGN_SPOKES";

/**
 * The spokes the hub wires in this run: all of `observability:spokes`, or the subset named
 * by `SOVEREIGN_SPOKES` (empty: none, the bootstrap pass). Naming a spoke the hub does not
 * list is refused, so a pipeline cannot wire a stack the hub's config never approved.
 */
export function selectSpokes(stack: string, configured: readonly string[], env: string | undefined): string[] {
  if (env === undefined) return [...configured];
  const wanted = env.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  const unknown = wanted.filter((s) => !configured.includes(s));
  if (unknown.length > 0) {
    throw new Error(`${SPOKES_ENV} names ${unknown.map((s) => `'${s}'`).join(", ")}, not listed in observability:spokes of Pulumi.${stack}.yaml. Fix: add them there (fleet onboard) or unset ${SPOKES_ENV}.`);
  }
  return configured.filter((s) => wanted.includes(s));
}

// ---- the hub's read access to a spoke's bucket ----------------------------------------------

/** The Kubernetes subject of the hub's store gateway for one spoke (`system:serviceaccount:<ns>:<sa>`). */
export function storeSubject(federation: HubFederation, spoke: string): { namespace: string; serviceAccount: string; subject: string } {
  const serviceAccount = `${federation.serviceAccountPrefix}${spoke}`;
  return { namespace: federation.namespace, serviceAccount, subject: `system:serviceaccount:${federation.namespace}:${serviceAccount}` };
}

/** What a spoke creates so that the hub can read its metrics bucket. */
export interface SpokeReaderPlan {
  /** A static read-only credential (key mode, or kept while the hub still reads with it). */
  key: boolean;
  /** Trust of the hub's issuer for exactly this ServiceAccount. */
  federated?: { issuerUrl: string; namespace: string; serviceAccount: string; subject: string };
  /** Said on every run while the plan is transitional (what to run to finish the migration). */
  notice?: string;
}

/**
 * Decides the hub's read access to a spoke from the spoke's `hubReader.auth` and the hub's
 * contract. Federated spokes keep (or create) a key only while the hub reads them with one: a
 * v1 hub reads every spoke it wires with a key, a v2 hub says so in `spokeReaders`. The key is
 * retired on the spoke's first run after the hub has switched, so the read path never has a gap.
 * Returns undefined when the hub does not read this spoke's bucket (`spoke-query`).
 */
export function planSpokeReader(args: { spoke: string; auth: "federated" | "key"; queryPath: "hub-store" | "spoke-query"; hub: HubExports }): SpokeReaderPlan | undefined {
  const { spoke, hub } = args;
  if (args.queryPath !== "hub-store") return undefined;
  if (args.auth === "key") return { key: true };
  if (hub.contractVersion < 2) {
    const readsUs = (hub.spokes ?? []).includes(spoke);
    return {
      key: readsUs,
      notice:
        `hub ${hub.name} publishes contract v${hub.contractVersion}, which has no OIDC issuer, so the federated reader cannot be created yet` +
        (readsUs ? "; the hub keeps reading this spoke with its key" : "") +
        `. Run 'pulumi up -s ${hub.name}' (npm run fleet -- up upgrades the hub first), then 'pulumi up -s ${spoke}'.`,
    };
  }
  if (hub.federation === undefined) {
    throw new ContractError(
      hub.name,
      [`publishes no OIDC issuer (its observability:hubReader.auth is key), but spoke ${spoke} has hubReader.auth: federated`],
      `Fix: set observability:hubReader.auth: key in Pulumi.${spoke}.yaml, or make ${hub.name}'s cluster issuer publicly discoverable, set observability:hubReader.auth: federated in Pulumi.${hub.name}.yaml and run 'pulumi up -s ${hub.name}'.`,
    );
  }
  const sub = storeSubject(hub.federation, spoke);
  const keyStillRead = hub.spokeReaders?.[spoke] === "key";
  return {
    key: keyStillRead,
    federated: { issuerUrl: hub.federation.issuerUrl, ...sub },
    notice: keyStillRead ? `hub ${hub.name} still reads this spoke with its key; the key is kept until the hub reads federated: run 'pulumi up -s ${hub.name}', then 'pulumi up -s ${spoke}' to retire it (npm run fleet -- up does both).` : undefined,
  };
}

/** How the hub reads one `hub-store` spoke in this deployment. */
export type HubRead =
  | { mode: "federated"; identity: FederatedIdentity; objstore: string; serviceAccount: string }
  | { mode: "key"; objstore: pulumi.Output<string> };

/**
 * Chooses how the hub reads a `hub-store` spoke: federated when the spoke offers it and trusts
 * exactly this hub's issuer and ServiceAccount, else the spoke's key. A federated-only spoke the
 * hub cannot read that way is refused, naming the stack to update.
 */
export function chooseHubRead(hub: string, spoke: SpokeView, federation: HubFederation | undefined): HubRead {
  const reader = spoke.reader;
  const key = spoke.objstoreReadonly;
  if (reader?.auth === "federated") {
    if (federation !== undefined) {
      const sub = storeSubject(federation, spoke.name);
      if (reader.issuerUrl === federation.issuerUrl && reader.subject === sub.subject) {
        return { mode: "federated", identity: reader.identity, objstore: reader.objstore, serviceAccount: sub.serviceAccount };
      }
      if (key === undefined) {
        throw new ContractError(
          spoke.name,
          [`output 'reader' trusts issuer ${reader.issuerUrl} for ${reader.subject}, but hub ${hub} reads as ${sub.subject} from ${federation.issuerUrl}`],
          `Fix: run 'pulumi up -s ${spoke.name}' so that it trusts the hub's current issuer and ServiceAccount (npm run fleet -- up orders it).`,
        );
      }
    } else if (key === undefined) {
      throw new ContractError(
        spoke.name,
        [`is read only with federation (output 'reader.auth' is federated), but hub ${hub} does not federate (its observability:hubReader.auth is key)`],
        `Fix: set observability:hubReader.auth: federated in Pulumi.${hub}.yaml (its issuer must be publicly discoverable), or observability:hubReader.auth: key in Pulumi.${spoke.name}.yaml and run 'pulumi up -s ${spoke.name}'.`,
      );
    }
  }
  if (key === undefined) {
    throw new ContractError(spoke.name, ["output 'objstoreReadonly' is missing: the hub has no way to read this hub-store spoke"], `Fix: run 'pulumi up -s ${spoke.name}' with this version of the project.`);
  }
  return { mode: "key", objstore: key };
}

/**
 * The hub's `federation` output: its cluster's issuer and where its store gateways' ServiceAccounts
 * are, or undefined with `hubReader.auth: key`. A federating hub without an issuer is refused (the
 * configuration schema already refuses it; this keeps a cloud module without one from passing quietly).
 */
export function hubFederation(args: { hub: string; auth: "federated" | "key"; issuerUrl: string | undefined; namespace: string; serviceAccountPrefix: string }): HubFederation | undefined {
  if (args.auth !== "federated") return undefined;
  if (args.issuerUrl === undefined) {
    throw new Error(`hub ${args.hub}: hubReader.auth is federated but the cluster's ServiceAccount issuer is unknown: set observability:cluster.oidcIssuerUrl in Pulumi.${args.hub}.yaml, or hubReader.auth: key`);
  }
  return { issuerUrl: args.issuerUrl, namespace: args.namespace, serviceAccountPrefix: args.serviceAccountPrefix };
}

/** How the hub reads every `hub-store` spoke ({@link chooseHubRead}); every unreadable spoke is reported at once. */
export function chooseHubReads(hub: string, spokes: readonly SpokeView[], federation: HubFederation | undefined): Record<string, HubRead> {
  const reads: Record<string, HubRead> = {};
  const errors: string[] = [];
  for (const s of spokes.filter((x) => x.queryPath === "hub-store")) {
    try {
      reads[s.name] = chooseHubRead(hub, s, federation);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length > 0) throw new Error(`hub ${hub} cannot read ${errors.length} spoke(s):\n${errors.join("\n")}`);
  return reads;
}

/**
 * The spoke's `reader` output: federated when the spoke trusts the hub (the objstore file and the
 * identity, none of it secret), `key` when only the static credential exists, nothing when the hub
 * does not read the bucket.
 */
export function spokeReaderOutput(plan: SpokeReaderPlan | undefined, federated: pulumi.Output<{ objstore: string; identity: FederatedIdentity }> | undefined): pulumi.Output<SpokeReader> | undefined {
  if (plan === undefined) return undefined;
  const fed = plan.federated;
  if (fed !== undefined && federated !== undefined) {
    return federated.apply((r): SpokeReader => ({ auth: "federated", objstore: r.objstore, identity: r.identity, issuerUrl: fed.issuerUrl, subject: fed.subject }));
  }
  return plan.key ? pulumi.output<SpokeReader>({ auth: "key" }) : undefined;
}
