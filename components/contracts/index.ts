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
 * Bumped on every incompatible change of either contract. A reader refuses any other
 * version, so a stale stack is caught at preview instead of miswiring the fleet.
 */
export const CONTRACT_VERSION = 1;

const pem = z.string().refine(
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
const ipv4 = z.string().refine((v) => isIPv4(v), { error: "expected an IPv4 address" });
const hostPort = z.string().regex(/^[a-z0-9.-]+:[0-9]{1,5}$/, { error: "expected host:port" });
const httpsUrl = z.string().refine((v) => URL.canParse(v) && new URL(v).protocol === "https:", { error: "expected an https:// URL" });
const nonEmpty = z.string().min(1);

/** Schema of a spoke's stack outputs. */
export const spokeExportsSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  role: z.literal("spoke"),
  name: nonEmpty,
  cloud: z.enum(["aws", "gcp", "azure"]),
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
  /** Thanos objstore config (YAML) with the hub's read-only credential (secret); `hub-store` spokes only. */
  objstoreReadonly: nonEmpty.optional(),
  /** Requested CPU/memory of the spoke's workloads; informational (fleet reports), never wired. */
  footprint: z
    .object({ cluster: z.object({ cpuMillicores: z.number(), memoryMiB: z.number() }), perNode: z.object({ cpuMillicores: z.number(), memoryMiB: z.number() }) })
    .optional(),
}).superRefine((v, ctx) => {
  if (v.queryPath === "hub-store" && v.objstoreReadonly === undefined) {
    ctx.addIssue({ code: "custom", path: ["objstoreReadonly"], message: "required when queryPath is hub-store: the hub reads this spoke's bucket" });
  }
});

/** Every output name of the spoke contract. */
const SPOKE_KEYS = ["contractVersion", "role", "name", "cloud", "region", "sovereigntyZone", "environment", "queryPath", "labels", "egressIps", "exposed", "thanos", "loki", "buckets", "lokiPassword", "objstoreReadonly", "footprint"] as const;

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
export const hubExportsSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
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
}).superRefine((v, ctx) => {
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
const HUB_KEYS = ["contractVersion", "role", "name", "cloud", "region", "egressIps", "clientCaPem", "alertmanager", "grafanaUrl", "s3GatewayEndpoint"] as const;

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
    super(`stack '${stackName}' does not satisfy the contract (v${CONTRACT_VERSION}):\n${problems.map((p) => `  - ${p}`).join("\n")}\n${fix}`);
    this.name = "ContractError";
  }
}

function check<T>(schema: z.ZodType<T>, stack: string, values: Record<string, unknown>, fix: string): T {
  const r = schema.safeParse(values);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => {
    const key = i.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".").replace(/\.\[/g, "[");
    if (i.path[0] === "contractVersion" && values.contractVersion !== undefined)
      return `output 'contractVersion' is ${JSON.stringify(values.contractVersion)}, expected ${CONTRACT_VERSION}`;
    let at: unknown = values;
    for (const p of i.path) at = at !== null && typeof at === "object" ? (at as Record<PropertyKey, unknown>)[p] : undefined;
    // A conditional requirement (a custom issue) says why the output is needed.
    return at === undefined ? `output '${key}' is missing${i.code === "custom" ? `: ${i.message}` : ""}` : `output '${key}': ${i.message}`;
  });
  throw new ContractError(stack, problems, fix);
}

/** Validates a spoke's outputs (secrets already revealed); throws {@link ContractError}. */
export function parseSpokeExports(stack: string, values: Record<string, unknown>): SpokeExports {
  if (values.exposed === false && values.contractVersion === CONTRACT_VERSION) {
    throw new ContractError(stack, ["output 'exposed' is false: the spoke could not read its hub when it was last deployed, so it exposes nothing"], `Fix: run 'pulumi up -s ${stack}' now that the hub is deployed.`);
  }
  return check(spokeExportsSchema, stack, values, `Fix: run 'pulumi up -s ${stack}' with this version of the project, or remove '${stack}' from observability:spokes of the hub.`);
}

/** Validates the hub's outputs; throws {@link ContractError}. */
export function parseHubExports(stack: string, values: Record<string, unknown>): HubExports {
  return check(hubExportsSchema, stack, values, `Fix: run 'pulumi up -s ${stack}' (the hub bootstrap) before the spokes.`);
}

/** Fully qualified name of a stack of this project (`org/project/stack`). */
export function qualifiedStack(stack: string): string {
  return stack.includes("/") ? stack : `${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`;
}

/** Reads every top-level output of a stack reference, revealing secrets, and remembers which were secret. */
async function readOutputs(ref: pulumi.StackReference, keys: readonly string[]): Promise<{ values: Record<string, unknown>; secret: Set<string> }> {
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
