/**
 * The hub's read access to a spoke's bucket (contract v2): no stored credential where the hub
 * reads federated, and trust of the hub cluster's ServiceAccount issuer bound to exactly one
 * subject and audience (ARCHITECTURE spoke 3; SECURITY-CHECKLIST Identities).
 *
 * Whether a federated spoke may still hold a key is decided by the hub, not by the spoke's stack
 * file: the spoke keeps its key while the hub's contract says it still reads the spoke with it
 * (components/contracts planSpokeReader), and exports it then as the secret `objstoreReadonly`.
 * The policy config (policy/stack-config.ts) carries only what the stack file says, so these
 * policies read the migration from the stack's outputs (its root resource); where the outputs
 * are not visible they cannot tell, and say so in the advisory hub-reader-key-migration.
 */
import type { PolicyResource, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import {
  arr,
  at,
  declaredReaderAuth,
  declaredStack,
  decoded,
  dependenciesOf,
  entries,
  isObj,
  label,
  onceReporter,
  readerKeyExport,
  STACK_CONFIG_SCHEMA,
  stackOfUrn,
  stackOutputs,
  str,
  T,
  UNKNOWN,
  type Declared,
} from "../lib";
import { sharedKeyOn } from "./gcp-azure";
import { objstoreCredentials, parseObjstore } from "./sovereignty";

/** Resources that issue a static read credential: AWS IAM users and their access keys, GCP service account keys. */
const KEY_TYPES: readonly string[] = [T.iamUser, T.iamAccessKey, T.gcpServiceAccountKey];

/** A spoke (or a stack of undeclared role: the stricter reading) whose hub reads federated. */
function federatedSpoke(d: Declared): boolean {
  return d.role !== "hub" && declaredReaderAuth(d) === "federated";
}

function rootOf(resources: readonly PolicyResource[]): PolicyResource | undefined {
  return resources.find((r) => r.type === T.stack && r.parent === undefined);
}

/** The stack's name, from the URN of its root resource (or any resource). */
function stackName(args: StackValidationArgs): string {
  const urn = rootOf(args.resources)?.urn ?? args.resources[0]?.urn;
  return (urn === undefined ? undefined : stackOfUrn(urn)) ?? "<spoke>";
}

/** What holds a static read credential in the stack: key resources, and storage accounts that can sign a SAS (shared key on). */
function credentialHolders(resources: readonly PolicyResource[]): { keys: PolicyResource[]; sasAccounts: PolicyResource[] } {
  return {
    keys: resources.filter((r) => KEY_TYPES.includes(r.type)),
    sasAccounts: resources.filter((r) => r.type === T.azAccount && sharedKeyOn(r.props) === true),
  };
}

/** Objstore configs carrying static credentials among the strings of a value, with their path. */
function credentialsIn(v: unknown, path: string[], out: { path: string; keys: string[] }[]): void {
  if (v === UNKNOWN) return;
  if (typeof v === "string") {
    const o = /\btype:/.test(v) ? parseObjstore(v) : undefined;
    const keys = o === undefined ? [] : objstoreCredentials(o.config);
    if (keys.length > 0) out.push({ path: path.join("."), keys });
    return;
  }
  if (Array.isArray(v)) {
    arr(v).forEach((x, i) => credentialsIn(x, [...path, String(i)], out));
    return;
  }
  for (const [k, x] of entries(v)) credentialsIn(x, [...path, k], out);
}

/** How a migration to the federated reader ends (components/contracts planSpokeReader's notice). */
function finishMigration(d: Declared, spoke: string): string {
  const hub = d.hubStack ?? "<hub>";
  return `finish it: 'pulumi up -s ${hub}' (the hub then reads this spoke federated), then 'pulumi up -s ${spoke}' retires the key (npm run fleet -- up runs both in that order)`;
}

/**
 * No stored reader credential where the hub reads federated. A federated spoke legitimately keeps
 * its key only while the hub still reads with it, and then exports it (objstoreReadonly); a key
 * the stack does not hand the hub, or a handed key no resource issues, is a violation. Anywhere,
 * a static credential in an output other than the secret objstoreReadonly (the federated
 * reader's objstore file is a plain output) is one.
 */
export const hubReaderNoStoredCredential: StackValidationPolicy = {
  name: "hub-reader-no-stored-credential",
  description:
    "In a spoke whose hubReader.auth is federated (policy config hubReaderAuth, default federated), no static read credential (AWS IAM user or access key, GCP service account key) " +
    "unless the stack hands it to the hub as objstoreReadonly (the migration to contract v2, reported by the advisory hub-reader-key-migration), and no exported objstoreReadonly that no resource issues; " +
    "in every stack, no static credential in any output but the secret objstoreReadonly (ARCHITECTURE spoke 3: no stored credential; SECURITY-CHECKLIST Identities). " +
    "Azure's SAS leaves no resource: its shared key is azure-shared-key-only-for-sas.",
  enforcementLevel: "mandatory",
  configSchema: STACK_CONFIG_SCHEMA,
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    const d = declaredStack(args);
    const root = rootOf(args.resources);
    const outputs = stackOutputs(args.resources);
    if (outputs !== undefined) {
      const found: { path: string; keys: string[] }[] = [];
      for (const [k, v] of entries(outputs)) if (k !== "objstoreReadonly") credentialsIn(v, [k], found);
      for (const f of found) report(`stack output '${f.path}' carries a static read credential (${f.keys.join(", ")}): only the secret objstoreReadonly may, and only while the hub reads with a key`, root?.urn);
    }
    if (!federatedSpoke(d)) return;
    const spoke = stackName(args);
    const exported = readerKeyExport(args.resources);
    const { keys, sasAccounts } = credentialHolders(args.resources);
    if (exported === "not-exported") {
      for (const r of keys) {
        report(`${label(r)} is a static read credential in spoke ${spoke}, whose hubReader.auth is federated and which hands the hub no key (no objstoreReadonly output): the hub reads through the federated identity; remove it`, r.urn);
      }
    }
    if (exported === "exported" && keys.length === 0 && sasAccounts.length === 0) {
      report(`spoke ${spoke} (hubReader.auth federated) exports objstoreReadonly, a static read credential no resource of the stack issues (no IAM access key, service account key or SAS-signing storage account)`, root?.urn);
    }
  },
};

/**
 * The migration case of hub-reader-no-stored-credential, advisory: a federated spoke whose key
 * the hub still reads with (or whose outputs are not visible, so that this cannot be told), named
 * with the runs that finish the migration.
 */
export const hubReaderKeyMigration: StackValidationPolicy = {
  name: "hub-reader-key-migration",
  description:
    "Advisory: a spoke whose hubReader.auth is federated still holds the hub's static read credential (IAM user/access key, service account key, SAS-signing storage account) because the hub still reads it " +
    "with the key (exported objstoreReadonly: the migration to contract v2), or its outputs are not visible so that this cannot be told; names the runs that finish the migration (ARCHITECTURE spoke 3).",
  enforcementLevel: "advisory",
  configSchema: STACK_CONFIG_SCHEMA,
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    const d = declaredStack(args);
    if (!federatedSpoke(d)) return;
    const exported = readerKeyExport(args.resources);
    if (exported === "not-exported") return;
    const { keys, sasAccounts } = credentialHolders(args.resources);
    const holders = [...keys, ...sasAccounts];
    if (holders.length === 0) return;
    const spoke = stackName(args);
    const names = holders.map((r) => r.name).join(", ");
    const urn = rootOf(args.resources)?.urn ?? holders[0].urn;
    if (exported === "exported") {
      report(
        `hub-reader migration to federated (contract v2) in progress in spoke ${spoke}: the hub still reads it with its static key (output objstoreReadonly), kept by ${names}; ${finishMigration(d, spoke)}`,
        urn,
      );
    } else {
      report(
        `spoke ${spoke} (hubReader.auth federated) holds a static read credential (${names}) and its outputs are not visible, so whether the hub-reader migration to federated (contract v2) still needs it cannot be told: ` +
          `if the hub still reads this spoke with the key, ${finishMigration(d, spoke)}; otherwise it is a stored credential to remove`,
        urn,
      );
    }
  },
};

// ---- trust of the hub's issuer ----------------------------------------------------------------

/** The strings of a policy value: a string, or the strings of a list. */
function values(v: unknown): string[] {
  return typeof v === "string" ? [v] : arr(v).filter((x): x is string => typeof x === "string");
}

const WILDCARD = /[*?]/;
const OIDC_PROVIDER = ":oidc-provider/";
/** The audience of a web-identity token for AWS STS. */
const AWS_STS_AUDIENCE = "sts.amazonaws.com";

/**
 * Problems of an IAM trust policy's web-identity statements: every Allow of an IAM OIDC provider
 * pins `<issuer>:sub` and `<issuer>:aud` with StringEquals to one value each (IAM "Create a role
 * for OpenID Connect federation"; StringLike or an ...IfExists operator widens or drops the
 * binding), the audience is sts.amazonaws.com, and the role trusts one subject in all.
 */
export function awsTrustProblems(doc: unknown): string[] {
  const d = decoded(doc);
  if (d === UNKNOWN || !isObj(d)) return [];
  const out: string[] = [];
  const subjects = new Set<string>();
  arr(at(d, "Statement")).forEach((st, i) => {
    if (at(st, "Effect") !== "Allow") return;
    const federated = values(at(st, "Principal", "Federated"));
    const oidc = federated.filter((f) => f.includes(OIDC_PROVIDER));
    if (oidc.length === 0) return;
    const sid = str(at(st, "Sid")) ?? `#${i}`;
    if (federated.length !== 1) out.push(`statement ${sid} trusts ${federated.length} federated principals (${federated.join(", ")}): exactly one issuer`);
    const issuer = oidc[0].slice(oidc[0].indexOf(OIDC_PROVIDER) + OIDC_PROVIDER.length);
    const cond = at(st, "Condition");
    for (const claim of ["sub", "aud"] as const) {
      const key = `${issuer}:${claim}`;
      let pinned: unknown;
      for (const [op, block] of entries(cond)) {
        for (const [k, v] of entries(block)) {
          if (!k.toLowerCase().endsWith(`:${claim}`)) continue;
          if (op !== "StringEquals") out.push(`statement ${sid} conditions ${k} with ${op}: only StringEquals binds exactly one ${claim}`);
          else if (k.toLowerCase() !== key.toLowerCase()) out.push(`statement ${sid} pins ${k}, not the ${claim} of its issuer ${issuer}`);
          else pinned = v;
        }
      }
      if (pinned === UNKNOWN) continue;
      if (pinned === undefined) {
        out.push(`statement ${sid} has no StringEquals on ${key}: ${claim === "sub" ? "every ServiceAccount of the issuer" : "every audience"} is trusted`);
        continue;
      }
      const vs = values(pinned);
      if (vs.length !== 1) {
        out.push(`statement ${sid} pins ${key} to ${vs.length} values (${vs.join(", ")}): exactly one ${claim}`);
        if (claim === "sub") for (const v of vs) subjects.add(v);
        continue;
      }
      const v = vs[0];
      if (WILDCARD.test(v)) out.push(`statement ${sid} pins ${key} to '${v}', a wildcard: exactly one ${claim}`);
      if (claim === "aud" && v !== AWS_STS_AUDIENCE) out.push(`statement ${sid} pins ${key} to '${v}', not the STS audience ${AWS_STS_AUDIENCE}`);
      if (claim === "sub") subjects.add(v);
    }
  });
  if (subjects.size > 1) out.push(`the role trusts ${subjects.size} subjects across its statements (${[...subjects].join(", ")}): exactly one`);
  return out;
}

/** A Workload Identity provider's condition admitting one subject: `assertion.sub == "<subject>"`, nothing else. */
const ONE_SUBJECT = /^\s*assertion\.sub\s*==\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*$/;

/** What widens a CEL condition beyond one equality. */
const WIDENINGS: readonly (readonly [string, RegExp])[] = [
  ["||", /\|\|/],
  ["startsWith", /\.startsWith\(/],
  ["endsWith", /\.endsWith\(/],
  ["matches", /\.matches\(/],
  ["contains", /\.contains\(/],
  ["in", /\sin\s/],
  ["!=", /!=/],
  ["a wildcard", /[*?]/],
];

function widenings(cel: string): string {
  const found = WIDENINGS.filter(([, re]) => re.test(cel)).map(([w]) => w);
  return found.length === 0 ? "" : ` (${found.join(", ")})`;
}

/**
 * Problems of a Workload Identity pool provider ("Workload Identity Federation with Kubernetes",
 * attribute conditions): exactly one `assertion.sub` equality, `google.subject` mapped from
 * `assertion.sub` (what principal://.../subject/<subject> grants name), at most one allowed
 * audience, an https issuer.
 */
export function gcpProviderProblems(props: unknown): string[] {
  const out: string[] = [];
  const cond = at(props, "attributeCondition");
  if (cond !== UNKNOWN) {
    const c = str(cond);
    const m = c === undefined ? null : ONE_SUBJECT.exec(c);
    if (c === undefined || c.trim() === "") out.push("has no attributeCondition: every identity of the issuer can exchange a token");
    else if (m === null) out.push(`attributeCondition '${c}' is not exactly one assertion.sub == "<subject>" equality${widenings(c)}`);
    else if (WILDCARD.test(m[1] ?? m[2] ?? "")) out.push(`attributeCondition '${c}' names a wildcard subject: exactly one subject`);
  }
  const mapping = decoded(at(props, "attributeMapping"));
  const subject = mapping === UNKNOWN ? UNKNOWN : at(mapping, "google.subject");
  if (subject !== UNKNOWN && subject !== "assertion.sub") out.push(`maps google.subject from ${String(subject ?? "nothing")}, not assertion.sub: its principal://.../subject/ grants would not name the token's subject`);
  const oidc = at(props, "oidc");
  if (oidc !== undefined && oidc !== UNKNOWN) {
    const audiences = at(oidc, "allowedAudiences");
    if (audiences !== UNKNOWN && arr(audiences).length > 1) out.push(`allows ${arr(audiences).length} audiences (${values(audiences).join(", ")}): at most one`);
    const issuer = at(oidc, "issuerUri");
    if (issuer !== UNKNOWN && !(typeof issuer === "string" && issuer.startsWith("https://"))) out.push(`oidc.issuerUri ${String(issuer)} is not an https issuer`);
  }
  return out;
}

/** The audience Entra ID accepts for workload identity federation. */
const AZURE_AUDIENCE = "api://AzureADTokenExchange";

/** Problems of one federated identity credential: one subject without wildcard, the Entra audience only, an https issuer. */
export function azureCredentialProblems(props: unknown): string[] {
  const out: string[] = [];
  const subject = at(props, "subject");
  if (subject !== UNKNOWN) {
    if (typeof subject !== "string" || subject.trim() === "") out.push("has no subject");
    else if (WILDCARD.test(subject)) out.push(`trusts subject '${subject}', a wildcard: exactly one subject`);
  }
  const audiences = at(props, "audiences");
  if (audiences !== UNKNOWN) {
    const a = values(audiences);
    if (a.length !== 1 || a[0] !== AZURE_AUDIENCE) out.push(`accepts audiences [${a.join(", ")}], not exactly [${AZURE_AUDIENCE}]`);
  }
  const issuer = at(props, "issuer");
  if (issuer !== UNKNOWN && !(typeof issuer === "string" && issuer.startsWith("https://"))) out.push(`trusts issuer ${String(issuer)}, not an https issuer`);
  return out;
}

/** GCP grants whose members are read for principal sets. */
const GCP_GRANTS: readonly string[] = [T.gcpProjectIamMember, T.gcsIamMember, T.gcsIamBinding];

/**
 * Trust bound to exactly one subject and audience, wherever the stack trusts an external OIDC
 * issuer: AWS roles with a web-identity (IAM OIDC provider) principal, GCP Workload Identity pool
 * providers and grants to their principals, Azure federated identity credentials.
 */
export const hubReaderTrustExactlyOneSubject: StackValidationPolicy = {
  name: "hub-reader-trust-exactly-one-subject",
  description:
    "Trust of an OIDC issuer names exactly one subject and audience: AWS roles with a Federated IAM OIDC provider principal pin <issuer>:sub and <issuer>:aud with StringEquals (never StringLike, " +
    "...IfExists or a wildcard) to one value each, aud sts.amazonaws.com, one subject per role; GCP Workload Identity pool providers have exactly one assertion.sub == \"...\" condition " +
    "(no ||, startsWith or wildcard), google.subject mapped from assertion.sub, at most one allowed audience, and no principalSet:// grant; Azure federated identity credentials have one subject " +
    "without wildcard, audiences exactly [api://AzureADTokenExchange], an https issuer, one subject per identity (SECURITY-CHECKLIST Identities; ARCHITECTURE spoke 3).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    for (const r of args.resources) {
      if (r.type === T.iamRole) for (const p of awsTrustProblems(at(r.props, "assumeRolePolicy"))) report(`${label(r)}: ${p}`, r.urn);
      if (r.type === T.gcpWorkloadIdentityPoolProvider) for (const p of gcpProviderProblems(r.props)) report(`${label(r)} ${p}`, r.urn);
      if (r.type === T.azFederatedCredential) for (const p of azureCredentialProblems(r.props)) report(`${label(r)} ${p}`, r.urn);
      if (GCP_GRANTS.includes(r.type)) {
        const members = r.type === T.gcsIamBinding ? arr(at(r.props, "members")) : [at(r.props, "member")];
        for (const m of members) {
          if (typeof m === "string" && m.startsWith("principalSet://") && m.includes("/workloadIdentityPools/")) {
            report(`${label(r)} grants ${m}, every identity of a workload identity pool that matches: grant principal://.../subject/<subject>, exactly one subject`, r.urn);
          }
        }
      }
    }
    // One identity, one subject: every federated credential of an identity is another subject it trusts.
    const byIdentity = new Map<string, { subjects: Set<string>; fics: PolicyResource[] }>();
    for (const r of args.resources.filter((x) => x.type === T.azFederatedCredential)) {
      const rg = str(at(r.props, "resourceGroupName"));
      const name = str(at(r.props, "resourceName"));
      const key = rg !== undefined && name !== undefined ? `${rg}/${name}` : dependenciesOf(r, "resourceName").find((x) => x.type === T.azIdentity)?.urn;
      const subject = str(at(r.props, "subject"));
      if (key === undefined || subject === undefined) continue;
      const g = byIdentity.get(key) ?? { subjects: new Set<string>(), fics: [] };
      g.subjects.add(`${str(at(r.props, "issuer")) ?? "?"} ${subject}`);
      g.fics.push(r);
      byIdentity.set(key, g);
    }
    for (const [key, g] of byIdentity) {
      if (g.subjects.size < 2) continue;
      for (const r of g.fics) report(`${label(r)} is one of ${g.fics.length} federated credentials of identity ${key}, which so trusts ${g.subjects.size} subjects: exactly one`, r.urn);
    }
  },
};

/** Every hub-reader policy. */
export const hubReaderPolicies: StackValidationPolicy[] = [hubReaderNoStoredCredential, hubReaderKeyMigration, hubReaderTrustExactlyOneSubject];
