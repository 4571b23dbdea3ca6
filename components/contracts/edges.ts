/**
 * The contract between an edge and its zone spoke. The edge publishes {@link EdgeExports}
 * (where it writes from, the CA of its client certificates, its Loki user); the spoke
 * publishes its zone receiver ({@link ReceiverExports}, in the spoke contract). Each side
 * validates what it reads, and refuses the other when their sovereignty zones differ, before
 * it registers anything that depends on it.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { readCertRequest } from "../pki/requests";
import {
  check,
  checkVersion,
  contractVersion,
  ContractError,
  ipv4,
  nonEmpty,
  pem,
  qualifiedStack,
  readOutputs,
  receiverSchema,
  type ReadResult,
  type ReceiverExports,
} from "./index";

/** A bcrypt hash as htpasswd takes it (`$2a$`, `$2b$` or `$2y$`, cost, 53 characters of salt and hash). */
const bcryptHash = z.string().regex(/^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$/, { error: "expected a bcrypt hash" });

/** Schema of an edge's stack outputs. */
export const edgeExportsSchema = z.object({
  contractVersion,
  role: z.literal("edge"),
  name: nonEmpty,
  cloud: z.enum(["aws", "gcp", "azure"]),
  region: nonEmpty,
  sovereigntyZone: nonEmpty,
  environment: nonEmpty,
  /** The spoke this edge writes to. */
  spoke: nonEmpty,
  labels: z.object({ cluster: nonEmpty, environment: nonEmpty, region: nonEmpty, cloud: nonEmpty, edge: nonEmpty }),
  /** Where the edge's requests come from: the receiver's and the Loki gateway's allowlist. */
  egressIps: z.array(ipv4).min(1),
  /**
   * The edge's certificate request (PEM, public; the key stays in the edge): the spoke signs it
   * with its edge CA if, and only if, its common name is the edge's name, its tenant.
   */
  clientCsrPem: z.string().regex(/^-----BEGIN CERTIFICATE REQUEST-----/, { error: "expected a PEM certificate request" }),
  /** The receiver's tenant of this edge: the common name of its client certificate. */
  tenant: nonEmpty,
  /** The edge's basic-auth user at the spoke's Loki gateway; the password's bcrypt hash is a secret. */
  loki: z.object({ username: nonEmpty, passwordHash: bcryptHash }),
  /** Requested CPU/memory of the edge's workloads; informational (fleet reports), never wired. */
  footprint: z
    .object({ cluster: z.object({ cpuMillicores: z.number(), memoryMiB: z.number() }), perNode: z.object({ cpuMillicores: z.number(), memoryMiB: z.number() }) })
    .optional(),
});
export type EdgeExports = z.output<typeof edgeExportsSchema>;

/** Every output name of the edge contract. */
export const EDGE_KEYS = ["contractVersion", "role", "name", "cloud", "region", "sovereigntyZone", "environment", "spoke", "labels", "egressIps", "clientCsrPem", "tenant", "loki", "footprint"] as const;

/** What an edge needs of its spoke: its zone, its receiver and its Loki gateway. */
export const zoneSpokeSchema = z.object({
  contractVersion,
  role: z.literal("spoke"),
  name: nonEmpty,
  sovereigntyZone: nonEmpty,
  loki: z.object({ url: z.string().url(), serverName: nonEmpty, caPem: pem }),
  receiver: receiverSchema.optional(),
});
export type ZoneSpoke = z.output<typeof zoneSpokeSchema>;
const ZONE_SPOKE_KEYS = ["contractVersion", "role", "name", "sovereigntyZone", "loki", "receiver"] as const;

/**
 * An edge and a spoke of different sovereignty zones. Never a reason to fail closed and carry
 * on: both programs stop on it before registering anything.
 */
export class ZoneError extends ContractError {
  constructor(stack: string, problem: string) {
    super(stack, [problem], "");
    this.name = "ZoneError";
  }
}

/**
 * The zone rule: raw samples never leave their sovereignty zone, so an edge writes only to a
 * spoke of its own zone. Both sides call this on what they read; the message names both
 * stacks, both zones and the fix.
 */
export function zoneProblem(args: { edge: string; edgeZone: string; spoke: string; spokeZone: string; reader: "edge" | "spoke" }): string | undefined {
  if (args.edgeZone === args.spokeZone) return undefined;
  const fix =
    args.reader === "edge"
      ? `attach edge ${args.edge} to a spoke of zone '${args.edgeZone}' (observability:spoke.stack in Pulumi.${args.edge}.yaml)`
      : `remove '${args.edge}' from observability:receive.edges in Pulumi.${args.spoke}.yaml and attach it to a spoke of zone '${args.edgeZone}'`;
  return `edge ${args.edge} is of sovereignty zone '${args.edgeZone}', spoke ${args.spoke} of zone '${args.spokeZone}': an edge writes only to a spoke of its own zone. Fix: ${fix}.`;
}

/** Validates an edge's outputs as the spoke `spoke` reads them; throws {@link ContractError}. */
export function parseEdgeExports(stack: string, values: Record<string, unknown>, spoke: { name: string; sovereigntyZone: string }): EdgeExports {
  checkVersion(stack, values, `spoke ${spoke.name}`);
  const edge = check(edgeExportsSchema, stack, values, `Fix: run 'pulumi up -s ${stack}' with this version of the project, or remove '${stack}' from observability:receive.edges of ${spoke.name}.`);
  const zone = zoneProblem({ edge: stack, edgeZone: edge.sovereigntyZone, spoke: spoke.name, spokeZone: spoke.sovereigntyZone, reader: "spoke" });
  if (zone !== undefined) throw new ZoneError(stack, zone);
  const problems: string[] = [];
  if (edge.spoke !== spoke.name) problems.push(`output 'spoke' is '${edge.spoke}': the edge writes to another spoke. Fix: remove '${stack}' from observability:receive.edges of ${spoke.name}, or set observability:spoke.stack: ${spoke.name} in Pulumi.${stack}.yaml.`);
  if (edge.name !== stack) problems.push(`output 'name' is '${edge.name}', not '${stack}'`);
  if (edge.tenant !== stack) problems.push(`output 'tenant' is '${edge.tenant}': an edge's tenant is its stack name`);
  if (problems.length > 0) throw new ContractError(stack, problems, "");
  return edge;
}

/** Validates the zone spoke's outputs as the edge `edge` reads them; throws {@link ContractError}. */
export function parseZoneSpoke(stack: string, values: Record<string, unknown>, edge: { name: string; sovereigntyZone: string }): ZoneSpoke & { receiver: ReceiverExports } {
  checkVersion(stack, values, `edge ${edge.name}`);
  const spoke = check(zoneSpokeSchema, stack, values, `Fix: run 'pulumi up -s ${stack}' with this version of the project.`);
  const zone = zoneProblem({ edge: edge.name, edgeZone: edge.sovereigntyZone, spoke: stack, spokeZone: spoke.sovereigntyZone, reader: "edge" });
  if (zone !== undefined) throw new ZoneError(stack, zone);
  if (spoke.receiver === undefined)
    throw new ContractError(stack, ["output 'receiver' is missing: the spoke runs no zone receiver"], `Fix: set observability:receive (enabled: true, endpoint, edges: [${edge.name}]) in Pulumi.${stack}.yaml and run 'pulumi up -s ${stack}' (npm run fleet -- onboard --role edge does it).`);
  return { ...spoke, receiver: spoke.receiver };
}

/**
 * Checks an edge's certificate request before the spoke signs it: a valid self-signed PKCS#10
 * request whose only name is the edge's own (its tenant). An edge asking for another name (to
 * write as another edge) is refused; returns the requested public key.
 */
export async function checkEdgeRequest(edge: string, csrPem: string): Promise<string> {
  let subject: Awaited<ReturnType<typeof readCertRequest>>;
  try {
    subject = await readCertRequest(csrPem);
  } catch (e) {
    throw new ContractError(edge, [`output 'clientCsrPem': ${(e as Error).message}`], `Fix: run 'pulumi up -s ${edge}' with this version of the project.`);
  }
  const problems: string[] = [];
  if (subject.commonName !== edge) problems.push(`output 'clientCsrPem' asks for the common name '${subject.commonName}': an edge's certificate names the edge itself ('${edge}'), its tenant at the receiver`);
  if (subject.alternativeNames > 0) problems.push(`output 'clientCsrPem' asks for ${subject.alternativeNames} subject alternative name(s): an edge's client certificate carries none`);
  if (problems.length > 0) throw new ContractError(edge, problems, "The spoke signs nothing for it.");
  return subject.publicKeyPem;
}

/**
 * Reads an edge through a StackReference (from its spoke) and validates it; the Loki password
 * hash stays a secret Output.
 */
export async function readEdge(stack: string, spoke: { name: string; sovereigntyZone: string }, opts?: pulumi.CustomResourceOptions): Promise<ReadResult<Omit<EdgeExports, "loki"> & { loki: { username: string; passwordHash: pulumi.Output<string> } }>> {
  const ref = new pulumi.StackReference(`edge-${stack}`, { name: qualifiedStack(stack) }, opts);
  try {
    const { values, secret } = await readOutputs(ref, EDGE_KEYS);
    const edge = parseEdgeExports(stack, values, spoke);
    if (!secret.has("loki")) throw new ContractError(stack, ["output 'loki' must be a secret (it carries the password's hash)"], `Fix: run 'pulumi up -s ${stack}' with this version of the project.`);
    return { ok: true, value: { ...edge, loki: { username: edge.loki.username, passwordHash: pulumi.secret(edge.loki.passwordHash) } } };
  } catch (e) {
    if (e instanceof ContractError) return { ok: false, error: e };
    return { ok: false, error: new Error(`cannot read edge stack '${stack}' (${qualifiedStack(stack)}): ${(e as Error).message}\nFix: deploy it first (pulumi up -s ${stack}) or remove it from observability:receive.edges of ${spoke.name}.`) };
  }
}

/** Reads the edge's zone spoke through a StackReference and validates it (zone included). */
export async function readZoneSpoke(stack: string, edge: { name: string; sovereigntyZone: string }, opts?: pulumi.CustomResourceOptions): Promise<ReadResult<ZoneSpoke & { receiver: ReceiverExports }>> {
  const ref = new pulumi.StackReference(`spoke-${stack}`, { name: qualifiedStack(stack) }, opts);
  try {
    const { values } = await readOutputs(ref, ZONE_SPOKE_KEYS);
    return { ok: true, value: parseZoneSpoke(stack, values, edge) };
  } catch (e) {
    if (e instanceof ContractError) return { ok: false, error: e };
    return { ok: false, error: new Error(`cannot read spoke stack '${stack}' (${qualifiedStack(stack)}): ${(e as Error).message}\nFix: deploy it first (pulumi up -s ${stack}).`) };
  }
}

/** An edge a spoke accepts: read, of the spoke's zone, with a request naming itself. */
export interface AcceptedEdge {
  name: string;
  egressIps: string[];
  clientCsrPem: string;
  loki: { username: string; passwordHash: pulumi.Output<string> };
}

/**
 * Reads the edges a spoke lists (`receive.edges`). An edge of another zone stops the spoke
 * ({@link ZoneError}); an edge that cannot be read yet, or whose request asks for another name,
 * is left out with the reason in `skipped` (the spoke fails closed for that edge only: no
 * certificate, no tenant, no address admitted).
 */
export async function readZoneEdges(spoke: { name: string; sovereigntyZone: string }, edges: readonly string[], opts?: pulumi.CustomResourceOptions): Promise<{ accepted: AcceptedEdge[]; skipped: { edge: string; reason: string }[] }> {
  const accepted: AcceptedEdge[] = [];
  const skipped: { edge: string; reason: string }[] = [];
  for (const edge of edges) {
    const r = await readEdge(edge, spoke, opts);
    if (!r.ok) {
      if (r.error instanceof ZoneError) throw r.error;
      skipped.push({ edge, reason: r.error.message });
      continue;
    }
    try {
      await checkEdgeRequest(edge, r.value.clientCsrPem);
    } catch (e) {
      skipped.push({ edge, reason: (e as Error).message });
      continue;
    }
    accepted.push({ name: edge, egressIps: r.value.egressIps, clientCsrPem: r.value.clientCsrPem, loki: r.value.loki });
  }
  return { accepted, skipped };
}
