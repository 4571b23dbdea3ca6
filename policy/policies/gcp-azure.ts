/**
 * The GCS and Azure Storage items of the hardening checklist.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { arr, at, declaredReaderAuth, declaredStack, decoded, dependenciesOf, label, onceReporter, readerKeyExport, sideResources, STACK_CONFIG_SCHEMA, stackOfUrn, str, T, UNKNOWN } from "../lib";

// ---- GCS --------------------------------------------------------------------------------

/** CIS 5.2, CKV_GCP_29, CKV_GCP_114. */
export const gcsPublicAccessPrevented: ResourceValidationPolicy = {
  name: "gcs-public-access-prevented",
  description: "GCS buckets use uniform bucket-level access (CIS 5.2, CKV_GCP_29) and enforce public access prevention (CKV_GCP_114).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.gcsBucket) return;
    if (at(args.props, "uniformBucketLevelAccess") !== true) report(`${label(args)} does not use uniform bucket-level access (CIS 5.2, CKV_GCP_29)`);
    if (at(args.props, "publicAccessPrevention") !== "enforced") report(`${label(args)} does not enforce public access prevention (CKV_GCP_114)`);
  },
};

const PUBLIC_MEMBERS = /^(allUsers|allAuthenticatedUsers)$|^(user|group|domain):?allUsers/;

/** Members named by a GCS IAM or ACL resource. */
function gcsMembers(type: string, props: unknown): unknown[] {
  if (type === T.gcsIamMember) return [at(props, "member")];
  if (type === T.gcsIamBinding) return arr(at(props, "members"));
  if (type === T.gcsIamPolicy) return arr(at(decoded(at(props, "policyData")), "bindings")).flatMap((b) => arr(at(b, "members")));
  if (type === T.gcsAccessControl || type === T.gcsDefaultObjectAccessControl || type === T.gcsObjectAccessControl) return [at(props, "entity")];
  if (type === T.gcsAcl || type === T.gcsDefaultObjectAcl) return [...arr(at(props, "roleEntities")), ...arr(at(props, "roleEntity"))].map((e) => (typeof e === "string" ? e.split(":").slice(1).join(":") : e));
  return [];
}

/** CIS 5.1. */
export const gcsNoPublicMembers: ResourceValidationPolicy = {
  name: "gcs-no-public-members",
  description: "No GCS IAM binding or ACL names allUsers or allAuthenticatedUsers (CIS 5.1).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    for (const m of gcsMembers(args.type, args.props)) {
      if (typeof m === "string" && PUBLIC_MEMBERS.test(m)) report(`${label(args)} grants access to ${m} (CIS 5.1)`);
    }
  },
};

/** CKV_GCP_78. */
export const gcsVersioningOrSoftDelete: ResourceValidationPolicy = {
  name: "gcs-versioning-or-soft-delete",
  description: "GCS buckets keep overwritten and deleted objects: versioning enabled or an explicit soft delete retention (CKV_GCP_78).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.gcsBucket) return;
    const versioned = at(args.props, "versioning", "enabled") === true;
    const soft = at(args.props, "softDeletePolicy", "retentionDurationSeconds");
    if (!versioned && !(typeof soft === "number" && soft > 0) && soft !== UNKNOWN) report(`${label(args)} has neither versioning nor soft delete (CKV_GCP_78)`);
  },
};

/** Resource types whose create and read call a bucket's getIamPolicy/setIamPolicy (or its ACL). */
const GCS_BUCKET_IAM: readonly string[] = [T.gcsIamMember, T.gcsIamBinding, T.gcsIamPolicy, T.gcsAcl, T.gcsAccessControl, T.gcsDefaultObjectAcl, T.gcsDefaultObjectAccessControl];

/**
 * GCS "Bypass bucket IP filtering rules" (https://cloud.google.com/storage/docs/bypass-ip-filter#supported-operations):
 * `storage.buckets.exemptFromIpFilter` exempts GET, PATCH and DELETE bucket only, so the IAM
 * policy of a filtered bucket can be neither read nor written from outside its ranges
 * (terraform-google-modules/terraform-google-cloud-storage#403): a bucket IAM resource fails to
 * create after the bucket exists and fails every refresh. Grants belong on the project,
 * conditioned on the bucket.
 */
export const gcsNoBucketIamUnderIpFilter: StackValidationPolicy = {
  name: "gcs-no-bucket-iam-under-ip-filter",
  description:
    "No bucket-level IAM or ACL resource on a GCS bucket whose IP filter is enabled: get/setIamPolicy are not exempted by storage.buckets.exemptFromIpFilter " +
    "(GCS 'Bypass bucket IP filtering rules'), so a deployment from outside the bucket's ranges could not create or refresh it; grant at project level with a resource.name condition (SECURITY-CHECKLIST GCS).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    for (const b of args.resources.filter((r) => r.type === T.gcsBucket && at(r.props, "ipFilter", "mode") === "Enabled")) {
      const name = str(at(b.props, "name"));
      for (const r of args.resources.filter((x) => GCS_BUCKET_IAM.includes(x.type))) {
        const target = at(r.props, "bucket");
        const onIt = (name !== undefined && target === name) || (target === UNKNOWN && dependenciesOf(r, "bucket").some((d) => d.urn === b.urn));
        if (onIt) report(`${label(r)} sets IAM on ${label(b)}, whose IP filter refuses get/setIamPolicy from outside its ranges (not exempted by storage.buckets.exemptFromIpFilter)`, r.urn);
      }
    }
  },
};

/** The GCS service agent of a project (`service-<number>@gs-project-accounts.iam.gserviceaccount.com`). */
const GCS_AGENT = /^serviceAccount:service-[0-9]+@gs-project-accounts\.iam\.gserviceaccount\.com$/;

/** Protected and retained (retainOnDelete is checked where the engine hands it: the offline plan). */
function kept(r: PolicyResource): boolean {
  const retain: unknown = (r.opts as unknown as Record<string, unknown>).retainOnDelete;
  return r.opts.protect === true && retain !== false;
}

/**
 * What retained data needs to stay readable is retained with it. GCS decrypts a CMEK object
 * only while the project's service agent may use the key
 * (https://cloud.google.com/storage/docs/encryption/customer-managed-keys); Azure Storage wraps
 * its account key with the Key Vault key through the account's user-assigned identity, and loses
 * access to the data when that identity or its key permissions go
 * (https://learn.microsoft.com/azure/storage/common/customer-managed-keys-overview, "Revoke
 * access"). So the GCS agent's key grant, and the Azure encryption identity with its role
 * assignments on the key, are protected and retained like the buckets (the keys and vaults
 * themselves are covered by data-stores-protected).
 */
export const cmekGrantsRetained: StackValidationPolicy = {
  name: "cmek-grants-retained",
  description:
    "Customer-managed key grants outlive nothing they unlock: the GCS service agent's CryptoKeyIAMMember/Binding, the Azure storage account's encryption identity " +
    "and that identity's role assignments are protect + retainOnDelete, like the retained data (SECURITY-CHECKLIST data safety; Trivy GCP-0066).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    const rs = args.resources;
    for (const r of rs.filter((x) => x.type === T.gcpCryptoKeyIamMember || x.type === T.gcpCryptoKeyIamBinding)) {
      const members = r.type === T.gcpCryptoKeyIamMember ? [at(r.props, "member")] : arr(at(r.props, "members"));
      const agent = members.some((m) => typeof m === "string" && GCS_AGENT.test(m));
      if (agent && !kept(r)) report(`${label(r)} grants a customer-managed key to the GCS service agent but is not protected and retained: deleting it makes the retained buckets unreadable`, r.urn);
    }
    for (const a of rs.filter((x) => x.type === T.azAccount && at(x.props, "encryption", "keySource") === "Microsoft.Keyvault")) {
      // The identity the account names in encryption (CrossGuard hands no ids: matched through the account's dependencies).
      const identities = dependenciesOf(a, "encryption").filter((d) => d.type === T.azIdentity);
      for (const id of identities) {
        if (!kept(id)) report(`${label(id)} is the encryption identity of ${label(a)} but is not protected and retained: deleting it cuts the account off its key`, id.urn);
        const principal = at(id.props, "principalId");
        for (const ra of rs.filter((x) => x.type === T.azRoleAssignment)) {
          const p = at(ra.props, "principalId");
          const its = (typeof principal === "string" && p === principal) || dependenciesOf(ra, "principalId").some((d) => d.urn === id.urn);
          if (its && !kept(ra)) report(`${label(ra)} gives the encryption identity of ${label(a)} its key permissions but is not protected and retained`, ra.urn);
        }
      }
    }
  },
};

// ---- Azure Storage ----------------------------------------------------------------------

/** CIS 9.3.8, CKV2_AZURE_47. */
export const azureStorageNoPublicAccess: ResourceValidationPolicy = {
  name: "azure-storage-no-public-access",
  description: "Storage accounts set allowBlobPublicAccess false (CIS 9.3.8, CKV2_AZURE_47) and blob containers have publicAccess None.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type === T.azAccount && at(args.props, "allowBlobPublicAccess") !== false) report(`${label(args)} does not disable blob public access (CIS 9.3.8, CKV2_AZURE_47)`);
    if (args.type === T.azContainer) {
      const p = at(args.props, "publicAccess");
      if (p !== undefined && p !== "None" && p !== UNKNOWN) report(`${label(args)} has public access ${String(p)} (CIS 9.3.8)`);
    }
  },
};

/** CKV_AZURE_3, CKV_AZURE_44. */
export const azureStorageSecureTransport: ResourceValidationPolicy = {
  name: "azure-storage-secure-transport",
  description: "Storage accounts accept HTTPS only (CKV_AZURE_3) with minimum TLS 1.2 (CKV_AZURE_44).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.azAccount) return;
    if (at(args.props, "enableHttpsTrafficOnly") !== true) report(`${label(args)} does not require HTTPS (CKV_AZURE_3)`);
    const tls = at(args.props, "minimumTlsVersion");
    if (tls !== "TLS1_2" && tls !== "TLS1_3") report(`${label(args)} accepts TLS below 1.2 (minimumTlsVersion ${String(tls)}; CKV_AZURE_44)`);
  },
};

/** CKV_AZURE_35. */
export const azureStorageNetworkDeny: ResourceValidationPolicy = {
  name: "azure-storage-network-deny",
  description: "Storage accounts have a network rule set with default action Deny (CKV_AZURE_35); the spoke subnet and hub egress IPs are admitted by rules.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.azAccount) return;
    const a = at(args.props, "networkRuleSet", "defaultAction");
    if (a !== "Deny" && a !== UNKNOWN) report(`${label(args)} network rule set defaults to ${String(a ?? "Allow")}, not Deny (CKV_AZURE_35)`);
  },
};

/**
 * Whether a storage account authorizes shared keys: Azure's default (true) when the property is
 * absent; UNKNOWN while the value is unknown at preview.
 */
export function sharedKeyOn(props: unknown): boolean | typeof UNKNOWN {
  const shared = at(props, "allowSharedKeyAccess");
  if (shared === UNKNOWN) return UNKNOWN;
  return shared !== false;
}

/** A sasPolicy that blocks every SAS outliving its expiration period (the exception's expiry cap). */
export function blockingSasPolicy(props: unknown): boolean {
  const sas = at(props, "sasPolicy");
  return at(sas, "expirationAction") === "Block" && str(at(sas, "sasExpirationPeriod")) !== undefined;
}

/**
 * CKV2_AZURE_40 with its documented exception, in two halves: shared keys stay enabled only on
 * an account whose hub reader needs a service SAS (azure-shared-key-only-for-sas: hubReader.auth
 * key, or a migration that keeps the SAS) and only under a blocking SAS expiration policy (this
 * policy), which the Azure module sets exactly when the hub's read-only SAS exists
 * (components/clouds/azure/storage.ts).
 */
export const azureStorageSharedKey: ResourceValidationPolicy = {
  name: "azure-storage-shared-key",
  description:
    "Storage accounts disable shared key access (CKV2_AZURE_40), with one encoded exception: an Azure spoke whose hub reader uses a service SAS keeps shared keys enabled " +
    "only together with a sasPolicy whose expirationAction is Block (no SAS outlives two rotation windows); whether a SAS is needed at all is azure-shared-key-only-for-sas. " +
    "Mandatory; the exception is not a relaxation to advisory.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.azAccount) return;
    if (sharedKeyOn(args.props) !== true || blockingSasPolicy(args.props)) return;
    report(`${label(args)} allows shared key access without the hub-reader SAS expiration policy (sasPolicy with expirationAction Block) (CKV2_AZURE_40)`);
  },
};

/**
 * The other half of CKV2_AZURE_40's exception: shared keys only where a SAS is needed. The only
 * SAS the program signs is the hub reader's (the invoke listStorageAccountServiceSAS, which leaves
 * no resource), exported as the secret `objstoreReadonly`; so a SAS is needed exactly when the
 * stack exports it: `hubReader.auth: key`, or a federated spoke whose hub still reads with the
 * key (the migration to contract v2, components/contracts planSpokeReader). A hub never needs one.
 * Where the stack's outputs are not visible, a key-mode spoke is taken at its declaration and a
 * federated spoke is left to the advisory hub-reader-key-migration, which names the migration.
 */
export const azureSharedKeyOnlyForSas: StackValidationPolicy = {
  name: "azure-shared-key-only-for-sas",
  description:
    "A storage account keeps shared key access enabled only where the hub reader's service SAS needs it (CKV2_AZURE_40 exception): the stack exports the SAS (objstoreReadonly: hubReader.auth key, " +
    "or a federated spoke whose hub still reads with it during the migration to contract v2); never in a hub, never in a federated spoke that exports no SAS. " +
    "The blocking SAS expiration policy the exception also requires is azure-storage-shared-key.",
  enforcementLevel: "mandatory",
  configSchema: STACK_CONFIG_SCHEMA,
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    const d = declaredStack(args);
    const exported = readerKeyExport(args.resources);
    for (const a of args.resources.filter((r) => r.type === T.azAccount && sharedKeyOn(r.props) === true)) {
      // A spoke exporting the SAS needs it. Outputs not visible: a key-mode spoke is read with a SAS by
      // declaration, a federated one may be migrating (the advisory hub-reader-key-migration says so).
      if (d.role !== "hub" && exported !== "not-exported") continue;
      const stack = stackOfUrn(a.urn) ?? "this stack";
      const why =
        d.role === "hub"
          ? "a hub signs no SAS"
          : `stack ${stack} exports no SAS (no objstoreReadonly${declaredReaderAuth(d) === "federated" ? "; hubReader.auth federated: the hub reads through the federated identity" : ""})`;
      report(`${label(a)} allows shared key access, but no SAS needs it: ${why}; set allowSharedKeyAccess false (CKV2_AZURE_40)`, a.urn);
    }
  },
};

/** CKV2_AZURE_38 and infrastructure encryption. */
export const azureStorageDataProtection: StackValidationPolicy = {
  name: "azure-storage-data-protection",
  description:
    "Storage accounts require infrastructure encryption and have blob service properties with blob soft delete, container soft delete and versioning enabled (CKV2_AZURE_38).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    for (const a of args.resources.filter((r) => r.type === T.azAccount)) {
      if (at(a.props, "encryption", "requireInfrastructureEncryption") !== true) report(`${label(a)} does not require infrastructure encryption`, a.urn);
      const svc = sideResources(a, args.resources, [T.azBlobService], "accountName");
      const ok = svc.some(
        (s) =>
          at(s.props, "isVersioningEnabled") === true &&
          at(s.props, "deleteRetentionPolicy", "enabled") === true &&
          at(s.props, "containerDeleteRetentionPolicy", "enabled") === true,
      );
      if (!ok) report(`${label(a)} lacks blob soft delete, container soft delete or versioning (CKV2_AZURE_38)`, a.urn);
    }
  },
};

/** Every GCS and Azure Storage policy. */
export const gcpAzurePolicies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
  gcsPublicAccessPrevented,
  gcsNoPublicMembers,
  gcsVersioningOrSoftDelete,
  gcsNoBucketIamUnderIpFilter,
  cmekGrantsRetained,
  azureStorageNoPublicAccess,
  azureStorageSecureTransport,
  azureStorageNetworkDeny,
  azureStorageSharedKey,
  azureSharedKeyOnlyForSas,
  azureStorageDataProtection,
];
