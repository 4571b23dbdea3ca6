/**
 * The policies that encode issue 11's GCP and Azure rules, on minimal resource sets recorded the
 * way the offline engine records them: no bucket IAM under a bucket IP filter, customer-managed
 * key grants retained with the data (GCP and Azure), and project-level GCS writer grants only
 * for the stack's own accounts on one of its buckets. Each rule's upstream source is cited in the
 * policy (policy/policies/gcp-azure.ts, policy/policies/sovereignty.ts).
 */
import { recordedResource } from "./fixtures/recorded";
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { RecordedResource, StackRun } from "../offline";
import { evaluatePolicies } from "../policy/offline";
import { allPolicies } from "../policy/policies";


interface Opts {
  provider?: RecordedResource;
  kept?: boolean;
  deps?: RecordedResource[];
  outputs?: Record<string, unknown>;
  id?: string;
}

/** Recorded with its inputs as outputs unless given; `kept`: protected and retained. */
function rec(type: string, name: string, inputs: Record<string, unknown>, o: Opts = {}): RecordedResource {
  return recordedResource(type, name, inputs, { provider: o.provider, deps: o.deps, protect: o.kept, retain: o.kept, outputs: o.outputs ?? inputs, id: o.id });
}

const gcpP = rec("pulumi:providers:gcp", "gcp", { project: "p", region: "europe-west3" });
const azP = rec("pulumi:providers:azure-native", "az", { location: "germanywestcentral" });
const CONFIG = { region: "europe-west3", sovereigntyZone: "de", cloud: "gcp", role: "spoke", encryptionMode: "customer" };

function violations(policy: string, resources: RecordedResource[], config: Record<string, string> = CONFIG): string[] {
  const p = allPolicies.find((x) => x.name === policy);
  assert.ok(p !== undefined, policy);
  const run: StackRun = { stack: "t", resources, outputs: {}, role: config.role, config: {}, secretKeys: [], secretOutputNames: [] };
  return evaluatePolicies(run, { policies: [p], config }).map((v) => v.message);
}

const filtered = (): RecordedResource =>
  rec("gcp:storage/bucket:Bucket", "metrics", { name: "t-metrics", ipFilter: { mode: "Enabled", vpcNetworkSources: [{ network: "projects/p/global/networks/n", allowedIpCidrRanges: ["10.0.0.0/8"] }] } }, { provider: gcpP, kept: true });
const sa = rec("gcp:serviceaccount/account:Account", "sidecar-sa", { accountId: "t-sidecar", project: "p" }, { provider: gcpP, outputs: { accountId: "t-sidecar", project: "p", email: "t-sidecar@p.iam.gserviceaccount.com" } });
const condition = { title: "bucket t-metrics", expression: '(resource.type == "storage.googleapis.com/Bucket" && resource.name == "projects/_/buckets/t-metrics") || (resource.type == "storage.googleapis.com/Object" && resource.name.startsWith("projects/_/buckets/t-metrics/objects/"))' };

describe("gcs-no-bucket-iam-under-ip-filter", () => {
  // GCS "Bypass bucket IP filtering rules": storage.buckets.exemptFromIpFilter exempts GET/PATCH/DELETE bucket only.
  it("refuses every bucket IAM and ACL resource on a filtered bucket, by name or by dependency", () => {
    const b = filtered();
    for (const type of ["gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding", "gcp:storage/bucketIAMPolicy:BucketIAMPolicy"]) {
      const m = rec(type, "grant", { bucket: "t-metrics", role: "roles/storage.objectViewer", member: "serviceAccount:t-sidecar@p.iam.gserviceaccount.com" }, { provider: gcpP, deps: [b] });
      assert.equal(violations("gcs-no-bucket-iam-under-ip-filter", [gcpP, b, m]).length, 1, type);
    }
  });

  it("accepts the project-level grant conditioned on the bucket, and bucket IAM on an unfiltered bucket", () => {
    const b = filtered();
    const g = rec("gcp:projects/iAMMember:IAMMember", "grant", { project: "p", role: "roles/storage.objectViewer", member: "serviceAccount:t-sidecar@p.iam.gserviceaccount.com", condition }, { provider: gcpP, deps: [sa, b] });
    assert.deepEqual(violations("gcs-no-bucket-iam-under-ip-filter", [gcpP, b, sa, g]), []);
    const open = rec("gcp:storage/bucket:Bucket", "logs", { name: "t-logs" }, { provider: gcpP, kept: true });
    const m = rec("gcp:storage/bucketIAMMember:BucketIAMMember", "grant", { bucket: "t-logs", role: "roles/storage.objectViewer", member: "serviceAccount:x@p.iam.gserviceaccount.com" }, { provider: gcpP, deps: [open] });
    assert.deepEqual(violations("gcs-no-bucket-iam-under-ip-filter", [gcpP, open, m]), []);
  });
});

describe("cmek-grants-retained", () => {
  const agent = "serviceAccount:service-123456789012@gs-project-accounts.iam.gserviceaccount.com";
  it("GCP: the GCS agent's key grant is protected and retained; other key grants are not this policy's business", () => {
    const grant = (kept: boolean, member = agent): RecordedResource => rec("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "g", { cryptoKeyId: "k", role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member }, { provider: gcpP, kept });
    assert.equal(violations("cmek-grants-retained", [gcpP, grant(false)]).length, 1);
    assert.deepEqual(violations("cmek-grants-retained", [gcpP, grant(true)]), []);
    assert.deepEqual(violations("cmek-grants-retained", [gcpP, grant(false, "serviceAccount:ops@p.iam.gserviceaccount.com")]), []);
  });

  it("Azure: the account's encryption identity and that identity's role assignments are protected and retained", () => {
    const AZ = { ...CONFIG, region: "germanywestcentral", cloud: "azure" };
    const set = (kept: boolean): RecordedResource[] => {
      const id = rec("azure-native:managedidentity:UserAssignedIdentity", "cmk-id", { resourceName: "t-cmk" }, { provider: azP, kept, id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/t-cmk", outputs: { resourceName: "t-cmk", principalId: "22222222-2222-4222-8222-222222222222" } });
      const ra = rec("azure-native:authorization:RoleAssignment", "cmk-grant", { scope: "/k", principalId: "22222222-2222-4222-8222-222222222222", roleDefinitionId: "/providers/Microsoft.Authorization/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6" }, { provider: azP, kept, deps: [id] });
      const account = rec("azure-native:storage:StorageAccount", "account", { accountName: "t", encryption: { keySource: "Microsoft.Keyvault", encryptionIdentity: { encryptionUserAssignedIdentity: id.id } } }, { provider: azP, kept: true, deps: [id, ra] });
      return [azP, id, ra, account];
    };
    assert.deepEqual(violations("cmek-grants-retained", set(true), AZ), []);
    const v = violations("cmek-grants-retained", set(false), AZ);
    assert.equal(v.length, 2, v.join("\n"));
    assert.ok(v.some((m) => m.includes("UserAssignedIdentity")) && v.some((m) => m.includes("RoleAssignment")));
  });
});

describe("writers-are-local on project-level GCS grants", () => {
  const b = filtered();
  const role = rec("gcp:projects/iAMCustomRole:IAMCustomRole", "uploader", { project: "p", roleId: "u", permissions: ["storage.objects.create", "storage.objects.delete", "storage.objects.get", "storage.objects.list"] }, { provider: gcpP, outputs: { name: "projects/p/roles/u" } });
  const grant = (member: string, cond: unknown = condition): RecordedResource => rec("gcp:projects/iAMMember:IAMMember", "g", { project: "p", role: "projects/p/roles/u", member, condition: cond }, { provider: gcpP, deps: [role, b] });

  it("accepts the stack's own account with the stack's uploader role on one of its buckets", () => {
    assert.deepEqual(violations("writers-are-local", [gcpP, b, sa, role, grant("serviceAccount:t-sidecar@p.iam.gserviceaccount.com")]), []);
  });

  it("refuses a foreign principal, and a writer grant that names no bucket of the stack (project-wide)", () => {
    const foreign = violations("writers-are-local", [gcpP, b, sa, role, grant("serviceAccount:ops-01@hub.iam.gserviceaccount.com")]);
    assert.match(foreign.join("\n"), /not a service account of this stack/, JSON.stringify(foreign));
    assert.match(violations("writers-are-local", [gcpP, b, sa, role, grant("serviceAccount:t-sidecar@p.iam.gserviceaccount.com", null)])[0] ?? "", /project-wide/);
  });
});
