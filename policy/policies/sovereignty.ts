/**
 * Sovereignty policies: where data lives, where it may flow, who may write it, and what the
 * hub may keep. Stack validations, because each rule relates several resources.
 */
import type { PolicyResource, ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { parse } from "yaml";
import {
  arr,
  at,
  DATA_STORES,
  declaredStack,
  decoded,
  dependenciesOf,
  entries,
  hasExplicitProvider,
  inZone,
  isObj,
  label,
  onceReporter,
  providerRegion,
  s3CompatibleEndpoint,
  dataStoreCloud,
  S3_BUCKETS,
  sameRegion,
  STACK_CONFIG_SCHEMA,
  str,
  T,
  UNKNOWN,
  zonesOf,
  type Declared,
} from "../lib";

/** The location a data store declares on itself (GCS/KMS `location`, Azure `location`), if any. */
function ownLocation(r: PolicyResource): unknown {
  if (r.type === T.gcsBucket || r.type === T.gcpKeyRing || r.type === T.azAccount || r.type === T.azVault) return at(r.props, "location");
  return undefined;
}

function describeDeclared(d: Declared): string {
  return `${d.cloud ?? "?"} ${d.region ?? "?"} (zone ${d.sovereigntyZone ?? "?"}, from ${d.source})`;
}

/**
 * Data residency: every data store sits in the stack's declared region, through an explicit
 * provider pinned to that region, and the declared region lies in the declared zone.
 */
export const sovereignDataResidency: StackValidationPolicy = {
  name: "sovereign-data-residency",
  description:
    "Every bucket, storage account, container and KMS key is created through an explicit provider pinned to the stack's declared region " +
    "(observability:region) and, where the resource names its own location, in that region; the region lies in the declared sovereignty zone " +
    "(ARCHITECTURE: sovereign storage). Declared region/zone come from the policy config, stack tags observability:region/sovereigntyZone, or the program's identity labels.",
  enforcementLevel: "mandatory",
  configSchema: STACK_CONFIG_SCHEMA,
  validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
    const report = onceReporter(reportViolation);
    const d = declaredStack(args);
    const stores = args.resources.filter((r) => DATA_STORES.includes(r.type));
    if (d.region === undefined || d.sovereigntyZone === undefined) {
      if (stores.length > 0) report("cannot tell the stack's declared region and sovereignty zone: pass them as policy config (region, sovereigntyZone) or stack tags observability:region/observability:sovereigntyZone");
      return;
    }
    const region = d.region;
    if (d.cloud !== undefined && !inZone(d.cloud, region, d.sovereigntyZone)) {
      report(`declared region ${d.cloud} ${region} lies outside sovereignty zone '${d.sovereigntyZone}' (it is in ${zonesOf(d.cloud, region).join(" / ") || "no known zone"})`);
    }
    for (const r of stores) {
      if (!hasExplicitProvider(r)) {
        report(`${label(r)} uses the default provider: data stores must name the stack's explicit provider pinned to ${region}`, r.urn);
        continue;
      }
      const pr = providerRegion(r.provider);
      // On S3-compatible storage the provider's region is the service's signing region, and the
      // endpoint is where the data lives: both must be the ones the stack declares.
      const compatible = s3CompatibleEndpoint(r);
      const expected = compatible !== undefined ? (d.s3SigningRegion ?? region) : region;
      if (pr === undefined) report(`${label(r)}: its provider '${r.provider?.name ?? "?"}' pins no region; expected ${expected}`, r.urn);
      else if (pr !== UNKNOWN && !sameRegion(pr, expected)) report(`${label(r)} is created in ${pr} (provider '${r.provider?.name ?? "?"}'), not the declared region ${describeDeclared(d)}`, r.urn);
      if (typeof compatible === "string" && d.s3EndpointHost !== undefined && URL.canParse(compatible) && new URL(compatible).host !== d.s3EndpointHost)
        report(`${label(r)} is created at ${compatible}, not at the stack's declared object storage ${d.s3EndpointHost}`, r.urn);
      const loc = str(ownLocation(r));
      if (loc !== undefined && !sameRegion(loc, region)) report(`${label(r)} declares location ${loc}, not the declared region ${region}`, r.urn);
      const cloud = dataStoreCloud(r);
      if (d.cloud !== undefined && cloud !== undefined && cloud !== d.cloud) report(`${label(r)} is a ${cloud} data store in a ${d.cloud} stack`, r.urn);
    }
  },
};

// ---- replication, remote write, federation, object storage targets --------------------------

const GEO_SKU = /(^|_)(RA)?G(Z)?RS$/i;

/** Hosts that stay inside the cluster. */
function clusterLocal(url: string): boolean {
  let host: string;
  try {
    host = new URL(url.includes("://") ? url : `http://${url}`).hostname;
  } catch {
    return false;
  }
  return host === "localhost" || host === "127.0.0.1" || host.endsWith(".svc") || host.endsWith(".cluster.local") || !host.includes(".");
}

/**
 * Why a remote-write or log-push target leaves the zone, or undefined when it does not: a host
 * inside the cluster, or, for an edge, exactly its zone spoke's receiver (remote write) or Loki
 * gateway (logs), when that spoke's declared zone is the edge's. Anything else is telemetry
 * leaving the cluster for a place the stack's declaration does not put in its zone.
 */
function outOfZoneTarget(url: string, d: Declared, kind: "receiver" | "loki"): string | undefined {
  if (clusterLocal(url)) return undefined;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return `${url}, which is not a URL`;
  }
  if (d.role !== "edge") return `${url}: telemetry must stay in the spoke's zone and be pulled by the hub`;
  const allowed = kind === "receiver" ? d.zoneReceiverHost : d.zoneLokiHost;
  const what = kind === "receiver" ? "receiver" : "Loki gateway";
  if (allowed === undefined) return `${url}: an edge writes only to its zone spoke's ${what}, and the stack declares none (policy config zoneReceiverHost/zoneLokiHost)`;
  if (host !== allowed) return `${url}: an edge writes only to its zone spoke's ${what} ${allowed}`;
  if (d.zoneReceiverZone === undefined || d.zoneReceiverZone !== d.sovereigntyZone)
    return `${url}: its spoke is of zone '${d.zoneReceiverZone ?? "undeclared"}', the edge of '${d.sovereigntyZone ?? "undeclared"}'`;
  return undefined;
}

/** A Helm release of the Alloy chart. */
function isAlloyRelease(r: PolicyResource): boolean {
  return r.type.startsWith("kubernetes:helm.sh/") && str(at(r.props, "chart")) === "alloy";
}

/** Object-storage configs found in a resource: Thanos objstore YAML in Secrets/ConfigMaps, Loki storage in Helm values. */
export function objstoreConfigs(r: PolicyResource): { file: string; type: string; config: Record<string, unknown> }[] {
  const out: { file: string; type: string; config: Record<string, unknown> }[] = [];
  const files: [string, string][] = [];
  if (r.type === T.k8sSecret || r.type === T.k8sConfigMap) {
    for (const [k, v] of entries(at(r.props, "stringData"))) if (typeof v === "string") files.push([k, v]);
    for (const [k, v] of entries(at(r.props, "data"))) {
      if (typeof v !== "string") continue;
      // Secret data is base64; ConfigMap data is plain.
      files.push([k, r.type === T.k8sSecret ? Buffer.from(v, "base64").toString("utf8") : v]);
    }
  }
  for (const [file, text] of files) {
    const o = parseObjstore(text);
    if (o !== undefined) out.push({ file, ...o });
  }
  return out;
}

/** A Thanos objstore config (YAML text), or undefined when the text is none. */
export function parseObjstore(text: string): { type: string; config: Record<string, unknown> } | undefined {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return undefined;
  }
  const type = str(at(doc, "type"));
  const config = at(doc, "config");
  return type !== undefined && isObj(config) && ["S3", "GCS", "AZURE", "FILESYSTEM"].includes(type.toUpperCase()) ? { type: type.toUpperCase(), config } : undefined;
}

/**
 * The static credentials an objstore config carries: S3 access/secret keys, a GCS service account
 * key, an Azure account key or a connection string with a SAS or an account key. A config read
 * through workload identity (or federation) carries none.
 */
export function objstoreCredentials(config: Record<string, unknown>): string[] {
  const out = ["access_key", "secret_key", "session_token", "service_account", "storage_account_key"].filter((k) => config[k] !== undefined);
  const cs = config.storage_connection_string;
  if (typeof cs === "string" && /(SharedAccessSignature|AccountKey)=/.test(cs)) out.push("storage_connection_string");
  return out;
}

/** Helm values of a release/chart resource. */
function helmValues(r: PolicyResource): unknown {
  return r.type.startsWith("kubernetes:helm.sh/") ? decoded(at(r.props, "values")) : undefined;
}

/** No copy of telemetry leaves the zone: replication, geo-redundancy, remote write, federation, foreign object stores. */
export const noReplicationOutsideZone: StackValidationPolicy = {
  name: "no-replication-outside-zone",
  description:
    "No replication, remote write or federation target outside the stack's sovereignty zone: S3 replication only to buckets of this stack, " +
    "no geo-redundant Azure SKUs (GRS/RAGRS/GZRS/RAGZRS), no cross-tenant or object replication to foreign accounts, no multi-region or custom dual-region GCS placement, " +
    "no Prometheus remote_write or /federate scraping to hosts outside the cluster, and S3 objstore/Loki storage regions inside the zone (ARCHITECTURE: storage is decentralized).",
  enforcementLevel: "mandatory",
  configSchema: STACK_CONFIG_SCHEMA,
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    const d = declaredStack(args);
    const zone = d.sovereigntyZone;
    const s3Names = new Set(args.resources.filter((r) => S3_BUCKETS.includes(r.type)).map((r) => str(at(r.props, "bucket"))).filter((x): x is string => x !== undefined));
    // Buckets this stack writes: its own, and on S3-compatible storage the adopted ones its side resources name.
    const ownBuckets = new Set([...s3Names, ...args.resources.filter((r) => r.type.startsWith("aws:s3/") && s3CompatibleEndpoint(r) !== undefined).map((r) => str(at(r.props, "bucket"))).filter((x): x is string => x !== undefined)]);
    const azAccounts = new Set(args.resources.filter((r) => r.type === T.azAccount).map((r) => str(at(r.props, "accountName")) ?? str(at(r.props, "name"))).filter((x): x is string => x !== undefined));
    for (const r of args.resources) {
      // S3 replication.
      const rules = r.type === T.s3Replication ? arr(at(r.props, "rules")) : S3_BUCKETS.includes(r.type) ? arr(at(r.props, "replicationConfiguration", "rules")) : [];
      for (const rule of rules) {
        const dest = str(at(rule, "destination", "bucket"));
        const name = dest?.replace(/^arn:[^:]+:s3:::/, "");
        if (name === undefined || !s3Names.has(name)) report(`${label(r)} replicates to ${dest ?? "an unknown bucket"}, which is not a bucket of this stack`, r.urn);
      }
      if (r.type === T.azAccount) {
        const sku = str(at(r.props, "sku", "name"));
        if (sku !== undefined && GEO_SKU.test(sku)) report(`${label(r)} uses geo-redundant SKU ${sku}: Azure copies it to the paired region`, r.urn);
        if (at(r.props, "allowCrossTenantReplication") === true) report(`${label(r)} allows cross-tenant object replication`, r.urn);
      }
      if (r.type === T.azObjectReplication) {
        const dest = str(at(r.props, "destinationAccount"));
        const name = dest?.split("/").pop();
        if (name === undefined || !azAccounts.has(name)) report(`${label(r)} replicates to ${dest ?? "an unknown account"}, which is not an account of this stack`, r.urn);
      }
      if (r.type === T.gcsBucket) {
        const loc = str(at(r.props, "location"));
        if (loc !== undefined && !loc.includes("-")) report(`${label(r)} is in multi-region or dual-region location ${loc}: GCS copies it across regions`, r.urn);
        if (arr(at(r.props, "customPlacementConfig", "dataLocations")).length > 0) report(`${label(r)} has a custom dual-region placement`, r.urn);
      }
      // Remote write and federation in Helm values and Prometheus resources.
      const values = helmValues(r);
      const specs = [at(values, "prometheus", "prometheusSpec"), r.type === "kubernetes:monitoring.coreos.com/v1:Prometheus" ? at(r.props, "spec") : undefined];
      for (const spec of specs) {
        for (const rw of arr(at(spec, "remoteWrite"))) {
          const url = str(at(rw, "url"));
          const problem = url === undefined ? "an unknown URL" : outOfZoneTarget(url, d, "receiver");
          if (problem !== undefined) report(`${label(r)} remote-writes to ${problem}`, r.urn);
        }
        for (const job of arr(decoded(at(spec, "additionalScrapeConfigs")))) {
          if (str(at(job, "metrics_path")) !== "/federate") continue;
          for (const sc of arr(at(job, "static_configs"))) {
            for (const t of arr(at(sc, "targets"))) if (typeof t === "string" && !clusterLocal(t)) report(`${label(r)} federates from ${t}, outside the cluster`, r.urn);
          }
        }
      }
      // Log pushes: every Loki endpoint of an Alloy configuration (loki.write `url`).
      if (isAlloyRelease(r)) {
        const content = str(at(values, "alloy", "configMap", "content")) ?? "";
        for (const m of content.matchAll(/\burl\s*=\s*"([^"]+)"/g)) {
          const problem = outOfZoneTarget(m[1], d, "loki");
          if (problem !== undefined) report(`${label(r)} pushes logs to ${problem}`, r.urn);
        }
      }
      // Object storage targets: S3 regions must lie in the zone.
      if (zone !== undefined) {
        const s3Targets: { where: string; region?: string; endpoint?: string; bucket?: string }[] = [];
        for (const o of objstoreConfigs(r)) if (o.type === "S3") s3Targets.push({ where: o.file, region: str(o.config.region), endpoint: str(o.config.endpoint), bucket: str(o.config.bucket) });
        const loki = at(values, "loki", "storage", "s3");
        if (isObj(loki)) s3Targets.push({ where: "loki.storage.s3", region: str(at(loki, "region")), endpoint: str(at(loki, "endpoint")), bucket: str(at(values, "loki", "storage", "bucketNames", "chunks")) });
        for (const t of s3Targets) {
          if (t.endpoint !== undefined && !/\.amazonaws\.com(\.cn)?(:\d+)?$/.test(t.endpoint)) {
            // An S3-compatible service: the stack's own data goes only to the service it declares
            // (whose region lies in the zone: sovereign-data-residency); a hub's read of another
            // stack's bucket (objstore naming a bucket the stack does not own) copies nothing.
            if (t.bucket !== undefined && !ownBuckets.has(t.bucket)) continue;
            if (d.s3EndpointHost === undefined || t.endpoint !== d.s3EndpointHost)
              report(`${label(r)} points ${t.where} at the S3-compatible endpoint ${t.endpoint}, not at the stack's declared object storage${d.s3EndpointHost !== undefined ? ` ${d.s3EndpointHost}` : ""}`, r.urn);
            continue;
          }
          const fromEndpoint = t.endpoint?.match(/^s3[.-](?:dualstack\.)?([a-z0-9-]+)\.amazonaws\.com/)?.[1];
          for (const reg of [t.region, fromEndpoint]) {
            if (reg !== undefined && !inZone("aws", reg, zone)) report(`${label(r)} points ${t.where} at S3 in ${reg}, outside zone '${zone}'`, r.urn);
          }
          if (t.region === undefined && fromEndpoint === undefined) report(`${label(r)}: ${t.where} names no S3 region, so its data could land anywhere`, r.urn);
        }
      }
    }
  },
};

// ---- write access ---------------------------------------------------------------------------

/** S3 actions that change data. */
function isS3Write(action: string): boolean {
  const a = action.toLowerCase();
  return a === "*" || a === "s3:*" || /^s3:(put|delete|replicate|restore|abort|create)/.test(a) || (a.startsWith("s3:") && a.includes("*") && !/^s3:(get|list)/.test(a));
}

interface Statement {
  effect: string;
  principals: string[];
  actions: string[];
  resources: string[];
  /** How many condition operators the statement has. */
  conditions: number;
}

/** Allow/Deny statements of an IAM policy document (a JSON string or an object). */
export function statements(doc: unknown): Statement[] {
  const d = decoded(doc);
  const list = (v: unknown): string[] => (typeof v === "string" ? [v] : arr(v).filter((x): x is string => typeof x === "string"));
  return arr(at(d, "Statement")).map((s) => {
    const p = at(s, "Principal");
    const principals = p === "*" ? ["*"] : [...list(at(p, "AWS")), ...list(at(p, "Service")), ...list(at(p, "Federated"))];
    return { effect: str(at(s, "Effect")) ?? "", principals, actions: list(at(s, "Action")), resources: list(at(s, "Resource")), conditions: entries(at(s, "Condition")).length };
  });
}

/** Writer roles of GCS. */
const GCS_WRITER_ROLES = new Set([
  "roles/storage.objectCreator",
  "roles/storage.objectAdmin",
  "roles/storage.objectUser",
  "roles/storage.admin",
  "roles/storage.legacyBucketWriter",
  "roles/storage.legacyBucketOwner",
  "roles/storage.legacyObjectOwner",
]);

/** Azure built-in roles that can write blobs. */
export const AZURE_WRITER_ROLES: ReadonlySet<string> = new Set([
  "ba92f5b4-2d11-453d-a403-e96b0029c9fe", // Storage Blob Data Contributor
  "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", // Storage Blob Data Owner
  "17d1049b-9a84-46fb-8f53-869881c3d3ab", // Storage Account Contributor
  "b24988ac-6180-42a0-ab88-20f7382dd24c", // Contributor
  "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", // Owner
]);

/** Emails of the stack's GCP service accounts, and those whose keys leave the stack. */
function gcpAccounts(resources: readonly PolicyResource[]): { emails: Set<string>; keyed: Set<string> } {
  const emails = new Set<string>();
  const byUrn = new Map<string, string>();
  for (const r of resources.filter((x) => x.type === T.gcpServiceAccount)) {
    const email = str(at(r.props, "email")) ?? (() => {
      const id = str(at(r.props, "accountId"));
      const project = str(at(r.props, "project"));
      return id !== undefined && project !== undefined ? `${id}@${project}.iam.gserviceaccount.com` : undefined;
    })();
    if (email !== undefined) {
      emails.add(email);
      byUrn.set(r.urn, email);
    }
  }
  const keyed = new Set<string>();
  for (const k of resources.filter((x) => x.type === T.gcpServiceAccountKey)) {
    for (const dep of k.dependencies) {
      const e = byUrn.get(dep.urn);
      if (e !== undefined) keyed.add(e);
    }
  }
  return { emails, keyed };
}

/**
 * Write access only for the stack's own workload identities: writer grants to principals the
 * stack did not create, to identities whose static credentials leave the stack (IAM users with
 * access keys, GCP service accounts with keys: the hub's reader), or on buckets of other stacks.
 */
export const writersAreLocal: StackValidationPolicy = {
  name: "writers-are-local",
  description:
    "Write permissions on the stack's buckets only for identities created in the stack (AWS role policies of the stack's roles, GCP BucketIAMMember writer roles " +
    "and project-level grants conditioned on one bucket, for the stack's Workload Identity service accounts, Azure Storage Blob Data Contributor/Owner role assignments for the stack's user-assigned identities); " +
    "never for IAM users or key-holding service accounts (the hub reader), never to principal '*', and never on another stack's bucket, so the hub holds no write or delete on a spoke bucket " +
    "(SECURITY-CHECKLIST identities; CKV_AWS_70).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    const rs = args.resources;
    const roleNames = new Set(rs.filter((r) => r.type === T.iamRole).map((r) => str(at(r.props, "name"))).filter((x): x is string => x !== undefined));
    const roleArns = new Set(rs.filter((r) => r.type === T.iamRole).map((r) => str(at(r.props, "arn"))).filter((x): x is string => x !== undefined));
    const bucketNames = new Set(rs.filter((r) => S3_BUCKETS.includes(r.type)).map((r) => str(at(r.props, "bucket"))).filter((x): x is string => x !== undefined));
    const bucketOfArn = (arn: string): string | undefined => arn.match(/^arn:[^:]+:s3:::([^/]+)/)?.[1];

    // AWS identity policies.
    for (const r of rs.filter((x) => x.type === T.iamRolePolicy || x.type === T.iamUserPolicy || x.type === T.iamPolicy)) {
      for (const s of statements(at(r.props, "policy"))) {
        if (s.effect !== "Allow" || !s.actions.some(isS3Write)) continue;
        if (r.type === T.iamUserPolicy) report(`${label(r)} lets IAM user '${str(at(r.props, "user")) ?? "?"}' write to S3: users hold static keys, writers must be workload roles`, r.urn);
        if (r.type === T.iamRolePolicy) {
          const role = at(r.props, "role");
          if (typeof role === "string" && !roleNames.has(role) && !roleArns.has(role)) report(`${label(r)} grants S3 write to role '${role}', which this stack did not create`, r.urn);
        }
        for (const res of s.resources) {
          const b = bucketOfArn(res);
          if (res === "*" || (b !== undefined && (b.includes("*") || !bucketNames.has(b)))) report(`${label(r)} grants S3 write on ${res}, which is not a bucket of this stack`, r.urn);
        }
      }
    }
    // Bucket policies: no Allow of writes to anyone but the stack's roles. On an S3-compatible
    // service the identities are the service's users, not roles of this stack: writes may go to
    // them, never to the anonymous principal nor to an identity the same policy denies every write
    // (the hub's reader, components/clouds/s3/render.ts s3BucketPolicy).
    for (const r of rs.filter((x) => (x.type === T.s3Policy || S3_BUCKETS.includes(x.type)) && s3CompatibleEndpoint(x) !== undefined)) {
      const all = statements(at(r.props, "policy"));
      const readOnly = new Set(all.filter((s) => s.effect === "Deny" && s.actions.some(isS3Write) && s.conditions === 0).flatMap((s) => s.principals));
      for (const s of all) {
        if (s.effect !== "Allow" || !s.actions.some(isS3Write)) continue;
        for (const p of s.principals) {
          if (p === "*") report(`${label(r)} allows S3 writes to everyone ('*')`, r.urn);
          else if (readOnly.has(p)) report(`${label(r)} allows S3 writes to '${p}', which the same policy marks read-only`, r.urn);
        }
      }
    }
    for (const r of rs.filter((x) => (x.type === T.s3Policy || S3_BUCKETS.includes(x.type)) && s3CompatibleEndpoint(x) === undefined)) {
      for (const s of statements(at(r.props, "policy"))) {
        if (s.effect !== "Allow" || !s.actions.some(isS3Write)) continue;
        for (const p of s.principals) if (p === "*" || !roleArns.has(p)) report(`${label(r)} allows S3 writes to '${p}', which is not a role of this stack`, r.urn);
      }
    }
    // GCP bucket IAM.
    const gcp = gcpAccounts(rs);
    for (const r of rs.filter((x) => x.type === T.gcsIamMember || x.type === T.gcsIamBinding)) {
      const role = str(at(r.props, "role"));
      if (role === undefined || !GCS_WRITER_ROLES.has(role)) continue;
      const members = r.type === T.gcsIamMember ? [at(r.props, "member")] : arr(at(r.props, "members"));
      for (const m of members) {
        if (m === UNKNOWN) continue; // computed from a resource of this stack during preview
        const email = typeof m === "string" ? m.match(/^serviceAccount:(.+)$/)?.[1] : undefined;
        if (email === undefined || !gcp.emails.has(email)) report(`${label(r)} grants ${role} to ${String(m)}, which is not a service account of this stack`, r.urn);
        else if (gcp.keyed.has(email)) report(`${label(r)} grants ${role} to ${email}, whose keys leave the stack (the hub reader may only read)`, r.urn);
      }
    }
    // GCP project-level storage grants (conditioned on one bucket: bucket IAM is unusable under the
    // bucket IP filter). Writer roles: the predefined ones, or a custom role of the stack that
    // creates or deletes objects.
    const gcsBuckets = new Set(rs.filter((x) => x.type === T.gcsBucket).map((r) => str(at(r.props, "name"))).filter((x): x is string => x !== undefined));
    const customWriters = rs.filter(
      (x) => x.type === T.gcpProjectIamCustomRole && arr(at(x.props, "permissions")).some((p) => p === "storage.objects.create" || p === "storage.objects.delete"),
    );
    for (const r of rs.filter((x) => x.type === T.gcpProjectIamMember)) {
      const role = at(r.props, "role");
      const custom = customWriters.some((c) => (typeof role === "string" && str(at(c.props, "name")) === role) || (role === UNKNOWN && dependenciesOf(r, "role").some((d) => d.urn === c.urn)));
      if (!custom && (typeof role !== "string" || !GCS_WRITER_ROLES.has(role))) continue;
      const m = at(r.props, "member");
      const shown = typeof role === "string" ? role : "a custom object-writing role";
      if (m !== UNKNOWN) {
        const email = typeof m === "string" ? m.match(/^serviceAccount:(.+)$/)?.[1] : undefined;
        if (email === undefined || !gcp.emails.has(email)) report(`${label(r)} grants ${shown} to ${String(m)}, which is not a service account of this stack`, r.urn);
        else if (gcp.keyed.has(email)) report(`${label(r)} grants ${shown} to ${email}, whose keys leave the stack (the hub reader may only read)`, r.urn);
      }
      const expr = at(r.props, "condition", "expression");
      if (expr === UNKNOWN) continue;
      const bucket = typeof expr === "string" ? /resource\.name == "projects\/_\/buckets\/([^"]+)"/.exec(expr)?.[1] : undefined;
      if (bucket === undefined || !gcsBuckets.has(bucket)) report(`${label(r)} grants ${shown} project-wide or on ${bucket ?? "no bucket"}, not on one bucket of this stack`, r.urn);
    }
    // Azure role assignments.
    const principals = new Set(rs.filter((x) => x.type === T.azIdentity).map((r) => str(at(r.props, "principalId"))).filter((x): x is string => x !== undefined));
    for (const r of rs.filter((x) => x.type === T.azRoleAssignment)) {
      const def = str(at(r.props, "roleDefinitionId"));
      const guid = def?.split("/").pop()?.toLowerCase();
      if (guid === undefined || !AZURE_WRITER_ROLES.has(guid)) continue;
      const p = at(r.props, "principalId");
      if (p === UNKNOWN) continue;
      if (typeof p !== "string" || !principals.has(p)) report(`${label(r)} grants a writer role (${guid}) to principal ${String(p)}, which is not an identity of this stack`, r.urn);
    }
  },
};

// ---- the hub's read path --------------------------------------------------------------------

/** Thanos containers of a workload: subcommand, volumes. */
export function thanosContainers(r: PolicyResource): { subcommand: string; image: string }[] {
  if (r.type !== T.k8sDeployment && r.type !== T.k8sStatefulSet) return [];
  return arr(at(r.props, "spec", "template", "spec", "containers"))
    .map((c) => ({ image: str(at(c, "image")) ?? "", subcommand: str(arr(at(c, "args"))[0]) ?? str(arr(at(c, "command"))[1]) ?? "" }))
    .filter((c) => c.image.includes("thanos"));
}

/** An undeclared role is read as hub: the stricter reading, since a spoke loses nothing by it. */
function isHubOrUnknown(d: Declared): boolean {
  return d.role !== "spoke";
}

/** Objstore configs that read with static credentials, i.e. another stack's bucket. */
function foreignObjstoreSecrets(resources: readonly PolicyResource[]): Set<string> {
  // The stack's own buckets (S3 and GCS names, Azure accounts): an objstore config naming any other
  // bucket reads another stack's, with a key or, with no key at all, through a federated identity.
  const own = new Set<string>();
  for (const r of resources) {
    const name = S3_BUCKETS.includes(r.type) ? at(r.props, "bucket") : r.type === T.gcsBucket ? at(r.props, "name") : r.type === T.azAccount ? at(r.props, "accountName") : undefined;
    if (typeof name === "string") own.add(name);
  }
  const names = new Set<string>();
  for (const r of resources) {
    for (const o of objstoreConfigs(r)) {
      const name = str(at(r.props, "metadata", "name"));
      const bucket = str(o.type === "AZURE" ? o.config.storage_account : o.config.bucket);
      const foreignBucket = bucket !== undefined && !own.has(bucket);
      if ((objstoreCredentials(o.config).length > 0 || foreignBucket) && name !== undefined) names.add(name);
    }
  }
  return names;
}

/**
 * The hub reads and keeps nothing: only store gateways mount another stack's objstore config
 * (a read key, or a bucket the hub does not own read through federation), and store gateways of the hub have no persistent volume.
 */
export const hubReadPathEphemeral: StackValidationPolicy = {
  name: "hub-read-path-ephemeral",
  description:
    "In the hub (declared role hub, or role unknown), Thanos store gateways have no PersistentVolumeClaim, no volumeClaimTemplates, no hostPath and only emptyDir volumes with medium Memory; " +
    "and only store gateways mount an objstore config of a spoke's bucket, whether it carries a read-only key or reads through a federated identity (never compactor, ruler, sidecar or receive), so the hub holds no write or delete path on a spoke bucket " +
    "(ARCHITECTURE: the hub persists nothing it reads; SECURITY-CHECKLIST: never run a compactor from the hub).",
  enforcementLevel: "mandatory",
  configSchema: STACK_CONFIG_SCHEMA,
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    const d = declaredStack(args);
    if (!isHubOrUnknown(d)) return;
    const foreign = foreignObjstoreSecrets(args.resources);
    for (const r of args.resources) {
      const containers = thanosContainers(r);
      if (containers.length === 0) continue;
      const pod = at(r.props, "spec", "template", "spec");
      const volumes = arr(at(pod, "volumes"));
      const mountsForeign = volumes.some((v) => {
        const s = str(at(v, "secret", "secretName"));
        return s !== undefined && foreign.has(s);
      });
      const store = containers.some((c) => c.subcommand === "store");
      if (mountsForeign && containers.some((c) => c.subcommand !== "store")) {
        report(`${label(r)} runs thanos ${containers.map((c) => c.subcommand).join("/")} over a spoke's objstore config: only store gateways may read spoke buckets from the hub`, r.urn);
      }
      if (!store) continue;
      if (arr(at(r.props, "spec", "volumeClaimTemplates")).length > 0) report(`${label(r)}: a hub store gateway has volumeClaimTemplates; it must keep nothing it reads`, r.urn);
      for (const v of volumes) {
        const name = str(at(v, "name")) ?? "?";
        if (at(v, "persistentVolumeClaim") !== undefined || at(v, "ephemeral") !== undefined || at(v, "hostPath") !== undefined) {
          report(`${label(r)}: volume '${name}' of a hub store gateway is persistent or on the node; use emptyDir with medium Memory`, r.urn);
        }
        const ed = at(v, "emptyDir");
        if (ed !== undefined && at(ed, "medium") !== "Memory") report(`${label(r)}: emptyDir '${name}' of a hub store gateway is disk-backed; set medium: Memory`, r.urn);
      }
    }
    for (const r of args.resources.filter((x) => x.type === T.k8sPvc)) {
      const component = str(at(r.props, "metadata", "labels", "app.kubernetes.io/component"));
      if (component !== undefined && /store/.test(component)) report(`${label(r)}: a persistent volume claim for a hub store gateway`, r.urn);
    }
  },
};

/** Every sovereignty policy. */
export const sovereigntyPolicies: StackValidationPolicy[] = [sovereignDataResidency, noReplicationOutsideZone, writersAreLocal, hubReadPathEphemeral];

/** Helpers the tests and other policies reuse. */
export { clusterLocal, isS3Write };
