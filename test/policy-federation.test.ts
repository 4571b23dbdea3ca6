/**
 * The policies of the keyless hub reader (contract v2) on minimal resource sets recorded the way
 * the offline engine records them: no stored reader credential in a federated spoke (and the
 * migration that legitimately keeps one, advisory), Azure shared key only where the hub's SAS needs
 * it, and trust of the hub's issuer bound to exactly one subject and audience. The trust documents
 * the program itself renders (components/clouds/<cloud>/render.ts) are the compliant cases.
 */
import { recordedResource } from "./fixtures/recorded";
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { RecordedResource, StackRun } from "../offline";
import { secretValue } from "../offline/values";
import { evaluatePolicies, policyResources, stackPolicyConfig, type Violation } from "../policy/offline";
import { allPolicies, awsTrustProblems, azureCredentialProblems, gcpProviderProblems } from "../policy/policies";
import { packConfigFor } from "../policy/stack-config";
import { hubReaderTrustPolicy, trustPolicy } from "../components/clouds/aws/render";
import { hubProviderAttributes } from "../components/clouds/gcp/render";
import { renderFederatedCredential, renderSasPolicy } from "../components/clouds/azure/render";

const REPO = join(__dirname, "..");

interface Opts {
  provider?: RecordedResource;
  deps?: RecordedResource[];
  kept?: boolean;
}

/** Recorded with its inputs as outputs; `kept`: protected and retained. */
function rec(type: string, name: string, inputs: Record<string, unknown>, o: Opts = {}): RecordedResource {
  return recordedResource(type, name, inputs, { stack: "t-01", provider: o.provider, deps: o.deps, protect: o.kept, retain: o.kept, outputs: inputs });
}

const awsP = rec("pulumi:providers:aws", "aws", { region: "eu-central-1" });
const gcpP = rec("pulumi:providers:gcp", "gcp", { project: "p", region: "europe-west3" });
const azP = rec("pulumi:providers:azure-native", "az", { location: "germanywestcentral" });

const ISSUER_URL = "https://oidc.eks.eu-central-1.amazonaws.com/id/A1B2C3D4E5F60718293A4B5C6D7E8F90";
const ISSUER = ISSUER_URL.slice("https://".length);
const PROVIDER_ARN = `arn:aws:iam::111122223333:oidc-provider/${ISSUER}`;
const SUBJECT = "system:serviceaccount:observability:thanos-store-t-01";

/** A spoke's declaration as policy/stack-config.ts writes it. */
const FED = { region: "eu-central-1", sovereigntyZone: "de", cloud: "aws", role: "spoke", encryptionMode: "provider", hubReaderAuth: "federated", hubStack: "ops-01" };
const KEY = { ...FED, hubReaderAuth: "key" };
const HUB = { ...FED, role: "hub" };
const AZ_FED = { ...FED, region: "germanywestcentral", cloud: "azure" };
const AZ_KEY = { ...AZ_FED, hubReaderAuth: "key" };
const GCP_FED = { ...FED, region: "europe-west3", cloud: "gcp" };

/** Outputs of a federated spoke, and the secret key outputs of a key reader (S3 keys, an Azure SAS). */
const FEDERATED_OUTPUTS = {
  contractVersion: 2,
  role: "spoke",
  queryPath: "hub-store",
  reader: { auth: "federated", objstore: "type: S3\nconfig:\n  bucket: t-01-metrics\n  region: eu-central-1\n  aws_sdk_auth: true\n", identity: { cloud: "aws", roleArn: "arn:aws:iam::111122223333:role/t-01-observability-hub-reader", region: "eu-central-1" }, issuerUrl: ISSUER_URL, subject: SUBJECT },
};
const S3_KEY = "type: S3\nconfig:\n  bucket: t-01-metrics\n  region: eu-central-1\n  access_key: AKIAEXAMPLE\n  secret_key: s\n";
const SAS = "type: AZURE\nconfig:\n  storage_account: t01metrics\n  container: metrics\n  storage_connection_string: BlobEndpoint=https://t01metrics.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sig=x\n";
const withKey = (objstore: string): Record<string, unknown> => ({ ...FEDERATED_OUTPUTS, objstoreReadonly: secretValue(objstore) });
/** A key-mode spoke's outputs: reader key, the key in objstoreReadonly. */
const keyOutputs = (objstore: string): Record<string, unknown> => ({ ...FEDERATED_OUTPUTS, reader: { auth: "key" }, objstoreReadonly: secretValue(objstore) });

/** Outputs `undefined`: none visible (no root stack resource handed, or one without outputs). */
function run(resources: RecordedResource[], role: string, outputs?: Record<string, unknown>): StackRun {
  return { stack: "t-01", resources, outputs: outputs ?? {}, role, config: {}, secretKeys: [], secretOutputNames: outputs !== undefined && "objstoreReadonly" in outputs ? ["objstoreReadonly"] : [] };
}

function violations(policy: string, resources: RecordedResource[], config: Record<string, string>, outputs?: Record<string, unknown>): Violation[] {
  const p = allPolicies.find((x) => x.name === policy);
  assert.ok(p !== undefined, policy);
  return evaluatePolicies(run(resources, config.role, outputs), { policies: [p], config });
}
const messages = (policy: string, resources: RecordedResource[], config: Record<string, string>, outputs?: Record<string, unknown>): string[] => violations(policy, resources, config, outputs).map((v) => v.message);

// ---- resources -------------------------------------------------------------------------------

function awsReader(trust: unknown = hubReaderTrustPolicy({ oidcProviderArn: PROVIDER_ARN, issuerHostPath: ISSUER, subject: SUBJECT })): RecordedResource[] {
  const oidc = rec("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "hub-oidc", { url: ISSUER_URL, clientIdLists: ["sts.amazonaws.com"] }, { provider: awsP });
  return [awsP, oidc, rec("aws:iam/role:Role", "hub-reader-role", { name: "t-01-observability-hub-reader", assumeRolePolicy: JSON.stringify(trust) }, { provider: awsP, deps: [oidc] })];
}

function awsKey(): RecordedResource[] {
  const user = rec("aws:iam/user:User", "hub-reader", { name: "t-01-observability-hub-reader" }, { provider: awsP });
  const policy = rec("aws:iam/userPolicy:UserPolicy", "hub-reader-policy", { user: "t-01-observability-hub-reader", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::t-01-metrics/*" }] }) }, { provider: awsP, deps: [user] });
  const keys = ["a", "b"].map((slot) => rec("aws:iam/accessKey:AccessKey", `hub-reader-key-${slot}`, { user: "t-01-observability-hub-reader", status: "Active" }, { provider: awsP, deps: [user] }));
  return [user, policy, ...keys];
}

function gcpReader(attributes: Record<string, unknown> = hubProviderAttributes(SUBJECT), oidc: Record<string, unknown> = { issuerUri: ISSUER_URL }): RecordedResource[] {
  const pool = rec("gcp:iam/workloadIdentityPool:WorkloadIdentityPool", "hub-pool", { project: "p", workloadIdentityPoolId: "t-01-hub" }, { provider: gcpP });
  const provider = rec("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", "hub-provider", { project: "p", workloadIdentityPoolId: "t-01-hub", workloadIdentityPoolProviderId: "hub-store-reader", ...attributes, oidc }, { provider: gcpP, deps: [pool] });
  return [gcpP, pool, provider];
}

function gcpKey(): RecordedResource[] {
  const sa = rec("gcp:serviceaccount/account:Account", "hub-reader-sa", { accountId: "t-01-hub-reader", project: "p" }, { provider: gcpP });
  return [sa, rec("gcp:serviceaccount/key:Key", "hub-reader-key-a", { serviceAccountId: "t-01-hub-reader", keepers: { rotationWindow: "1" } }, { provider: gcpP, deps: [sa] })];
}

function azureFic(name: string, edit: Record<string, unknown> = {}, identity = "id-t-01-hub-reader"): RecordedResource {
  return rec("azure-native:managedidentity:FederatedIdentityCredential", name, {
    resourceGroupName: "rg-t-01-observability",
    resourceName: identity,
    federatedIdentityCredentialResourceName: name,
    ...renderFederatedCredential(ISSUER_URL, { namespace: "observability", serviceAccount: "thanos-store-t-01" }),
    ...edit,
  }, { provider: azP });
}

/** A storage account as the Azure module declares it: shared key off, or on under the reader SAS policy. */
function azureAccount(shared: "off" | "sas" | "unguarded"): RecordedResource[] {
  const sharedKey = shared === "off" ? { allowSharedKeyAccess: false } : shared === "sas" ? { allowSharedKeyAccess: true, sasPolicy: renderSasPolicy(30) } : { allowSharedKeyAccess: true };
  return [azP, rec("azure-native:storage:StorageAccount", "account", { accountName: "t01metrics", location: "germanywestcentral", ...sharedKey }, { provider: azP, kept: true })];
}

// ---- trust -------------------------------------------------------------------------------------

describe("hub-reader-trust-exactly-one-subject", () => {
  const statement = (condition: unknown, extra: Record<string, unknown> = {}): unknown => ({
    Version: "2012-10-17",
    Statement: [{ Sid: "Hub", Effect: "Allow", Principal: { Federated: PROVIDER_ARN }, Action: "sts:AssumeRoleWithWebIdentity", Condition: condition, ...extra }],
  });
  const pinned = (sub: unknown, aud: unknown = "sts.amazonaws.com"): Record<string, unknown> => ({ [`${ISSUER}:sub`]: sub, [`${ISSUER}:aud`]: aud });

  it("AWS: the program's hub reader trust and its IRSA workload trust pass; Pod Identity trust is not a web identity", () => {
    assert.deepEqual(awsTrustProblems(JSON.stringify(hubReaderTrustPolicy({ oidcProviderArn: PROVIDER_ARN, issuerHostPath: ISSUER, subject: SUBJECT }))), []);
    assert.deepEqual(awsTrustProblems(trustPolicy({ kind: "irsa", oidcProviderArn: PROVIDER_ARN, issuerHostPath: ISSUER, namespace: "observability", serviceAccount: "thanos-sidecar" })), []);
    assert.deepEqual(
      awsTrustProblems(trustPolicy({ kind: "pod-identity", accountId: "111122223333", clusterArn: "arn:aws:iam::111122223333:cluster/c", namespace: "observability", serviceAccount: "thanos-sidecar" })),
      [],
    );
    assert.deepEqual(messages("hub-reader-trust-exactly-one-subject", awsReader(), FED), []);
  });

  it("AWS: StringLike, a wildcard, two subjects, a wrong or missing audience, ...IfExists and another issuer's key are violations", () => {
    const cases: [string, unknown, RegExp[]][] = [
      ["StringLike wildcard subject", statement({ StringLike: { [`${ISSUER}:sub`]: "system:serviceaccount:observability:*" }, StringEquals: { [`${ISSUER}:aud`]: "sts.amazonaws.com" } }), [/conditions .*:sub with StringLike/, /no StringEquals on .*:sub: every ServiceAccount/]],
      ["StringEquals wildcard subject", statement({ StringEquals: pinned("system:serviceaccount:observability:thanos-store-*") }), [/a wildcard: exactly one sub/]],
      ["two subjects in one condition", statement({ StringEquals: pinned([SUBJECT, "system:serviceaccount:observability:grafana"]) }), [/to 2 values .*: exactly one sub/]],
      ["wrong audience", statement({ StringEquals: pinned(SUBJECT, "api://AzureADTokenExchange") }), [/not the STS audience sts\.amazonaws\.com/]],
      ["two audiences", statement({ StringEquals: pinned(SUBJECT, ["sts.amazonaws.com", "other"]) }), [/to 2 values .*: exactly one aud/]],
      ["no audience", statement({ StringEquals: { [`${ISSUER}:sub`]: SUBJECT } }), [/no StringEquals on .*:aud: every audience/]],
      ["no condition", statement(undefined), [/no StringEquals on .*:sub/, /no StringEquals on .*:aud/]],
      ["IfExists", statement({ StringEqualsIfExists: pinned(SUBJECT) }), [/with StringEqualsIfExists/]],
      ["ForAnyValue:StringLike", statement({ StringEquals: pinned(SUBJECT), "ForAnyValue:StringLike": { [`${ISSUER}:sub`]: ["*"] } }), [/with ForAnyValue:StringLike/]],
      ["another issuer's key", statement({ StringEquals: { "oidc.eks.eu-west-1.amazonaws.com/id/X:sub": SUBJECT, [`${ISSUER}:aud`]: "sts.amazonaws.com" } }), [/pins oidc\.eks\.eu-west-1\.amazonaws\.com\/id\/X:sub, not the sub of its issuer/]],
      ["two federated principals", statement({ StringEquals: pinned(SUBJECT) }, { Principal: { Federated: [PROVIDER_ARN, "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"] } }), [/trusts 2 federated principals/]],
    ];
    for (const [what, doc, expected] of cases) {
      const problems = awsTrustProblems(JSON.stringify(doc));
      for (const re of expected) assert.ok(problems.some((p) => re.test(p)), `${what}: ${re} not in ${JSON.stringify(problems)}`);
      const v = messages("hub-reader-trust-exactly-one-subject", awsReader(doc), FED);
      assert.ok(v.length > 0 && v.every((m) => m.startsWith("aws:iam/role:Role 'hub-reader-role'")), `${what}: ${JSON.stringify(v)}`);
    }
  });

  it("AWS: two statements each pinning a different subject trust two subjects", () => {
    const one = (sub: string, sid: string): unknown => ({ Sid: sid, Effect: "Allow", Principal: { Federated: PROVIDER_ARN }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringEquals: pinned(sub) } });
    const doc = { Version: "2012-10-17", Statement: [one(SUBJECT, "a"), one("system:serviceaccount:observability:thanos-store-t-02", "b")] };
    assert.deepEqual(awsTrustProblems(doc), [`the role trusts 2 subjects across its statements (${SUBJECT}, system:serviceaccount:observability:thanos-store-t-02): exactly one`]);
    // A Deny naming the provider widens nothing.
    const deny = { Version: "2012-10-17", Statement: [one(SUBJECT, "a"), { Effect: "Deny", Principal: { Federated: PROVIDER_ARN }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringLike: { [`${ISSUER}:sub`]: "*" } } }] };
    assert.deepEqual(awsTrustProblems(deny), []);
  });

  it("GCP: the program's provider attributes pass; ||, startsWith, a wildcard, no condition, another mapping, two audiences and an http issuer are violations", () => {
    assert.deepEqual(gcpProviderProblems({ ...hubProviderAttributes(SUBJECT), oidc: { issuerUri: ISSUER_URL } }), []);
    assert.deepEqual(messages("hub-reader-trust-exactly-one-subject", gcpReader(), GCP_FED), []);
    assert.deepEqual(gcpProviderProblems({ ...hubProviderAttributes(SUBJECT), oidc: { issuerUri: ISSUER_URL, allowedAudiences: ["//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/t-01-hub/providers/hub-store-reader"] } }), []);
    const mapping = { "google.subject": "assertion.sub" };
    const cases: [string, Record<string, unknown>, Record<string, unknown>, RegExp][] = [
      ["two subjects with ||", { attributeMapping: mapping, attributeCondition: `assertion.sub == "${SUBJECT}" || assertion.sub == "system:serviceaccount:observability:grafana"` }, { issuerUri: ISSUER_URL }, /is not exactly one assertion\.sub == "<subject>" equality \(\|\|\)/],
      ["startsWith", { attributeMapping: mapping, attributeCondition: 'assertion.sub.startsWith("system:serviceaccount:observability:")' }, { issuerUri: ISSUER_URL }, /equality \(startsWith\)/],
      ["wildcard subject", { attributeMapping: mapping, attributeCondition: 'assertion.sub == "system:serviceaccount:observability:*"' }, { issuerUri: ISSUER_URL }, /names a wildcard subject/],
      ["no condition", { attributeMapping: mapping }, { issuerUri: ISSUER_URL }, /has no attributeCondition/],
      ["google.subject from another claim", { attributeMapping: { "google.subject": "assertion.aud" }, attributeCondition: `assertion.sub == "${SUBJECT}"` }, { issuerUri: ISSUER_URL }, /maps google\.subject from assertion\.aud, not assertion\.sub/],
      ["two audiences", hubProviderAttributes(SUBJECT), { issuerUri: ISSUER_URL, allowedAudiences: ["a", "b"] }, /allows 2 audiences \(a, b\): at most one/],
      ["http issuer", hubProviderAttributes(SUBJECT), { issuerUri: "http://issuer.example" }, /is not an https issuer/],
    ];
    for (const [what, attributes, oidc, re] of cases) {
      const v = messages("hub-reader-trust-exactly-one-subject", gcpReader(attributes, oidc), GCP_FED);
      assert.ok(v.some((m) => re.test(m)), `${what}: ${re} not in ${JSON.stringify(v)}`);
    }
  });

  it("GCP: a grant to a principal set of the pool is a violation; a principal:// grant of one subject is not", () => {
    const grant = (member: string): RecordedResource => rec("gcp:projects/iAMMember:IAMMember", "hub-federated-metrics-objectViewer", { project: "p", role: "roles/storage.objectViewer", member }, { provider: gcpP });
    const pool = "projects/123456789012/locations/global/workloadIdentityPools/t-01-hub";
    assert.deepEqual(messages("hub-reader-trust-exactly-one-subject", [...gcpReader(), grant(`principal://iam.googleapis.com/${pool}/subject/${SUBJECT}`)], GCP_FED), []);
    const v = messages("hub-reader-trust-exactly-one-subject", [...gcpReader(), grant(`principalSet://iam.googleapis.com/${pool}/*`)], GCP_FED);
    assert.equal(v.length, 1, JSON.stringify(v));
    assert.match(v[0], /every identity of a workload identity pool/);
  });

  it("Azure: the program's federated credential passes; a wildcard subject, another or an extra audience, an http issuer and two subjects on one identity are violations", () => {
    assert.deepEqual(azureCredentialProblems(renderFederatedCredential(ISSUER_URL, { namespace: "observability", serviceAccount: "thanos-store-t-01" })), []);
    assert.deepEqual(messages("hub-reader-trust-exactly-one-subject", [azP, azureFic("hub-reader-fic")], AZ_FED), []);
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["wildcard subject", { subject: "system:serviceaccount:observability:*" }, /trusts subject 'system:serviceaccount:observability:\*', a wildcard/],
      ["no subject", { subject: "" }, /has no subject/],
      ["another audience", { audiences: ["api://other"] }, /accepts audiences \[api:\/\/other\], not exactly \[api:\/\/AzureADTokenExchange\]/],
      ["an extra audience", { audiences: ["api://AzureADTokenExchange", "api://other"] }, /not exactly \[api:\/\/AzureADTokenExchange\]/],
      ["http issuer", { issuer: "http://issuer.example/" }, /not an https issuer/],
    ];
    for (const [what, edit, re] of cases) {
      const v = messages("hub-reader-trust-exactly-one-subject", [azP, azureFic("hub-reader-fic", edit)], AZ_FED);
      assert.ok(v.some((m) => re.test(m)), `${what}: ${re} not in ${JSON.stringify(v)}`);
    }
    const two = messages("hub-reader-trust-exactly-one-subject", [azP, azureFic("hub-reader-fic"), azureFic("hub-reader-fic-2", { subject: "system:serviceaccount:observability:grafana" })], AZ_FED);
    assert.equal(two.length, 2, JSON.stringify(two));
    assert.ok(two.every((m) => /one of 2 federated credentials of identity rg-t-01-observability\/id-t-01-hub-reader, which so trusts 2 subjects/.test(m)));
    // One credential each on two identities (the workloads and the hub reader): one subject per identity.
    assert.deepEqual(messages("hub-reader-trust-exactly-one-subject", [azP, azureFic("hub-reader-fic"), azureFic("sidecar-fic", { subject: "system:serviceaccount:observability:thanos-sidecar" }, "id-t-01-sidecar")], AZ_FED), []);
  });
});

// ---- stored credentials ------------------------------------------------------------------------

describe("hub-reader-no-stored-credential and the migration advisory", () => {
  const NO_KEY = "hub-reader-no-stored-credential";
  const MIGRATION = "hub-reader-key-migration";

  it("an access key (and its IAM user) in a federated spoke that hands the hub no key is a mandatory violation", () => {
    const v = violations(NO_KEY, [...awsReader(), ...awsKey()], FED, FEDERATED_OUTPUTS);
    assert.deepEqual(v.map((x) => x.urn.split("::").pop()).sort(), ["hub-reader", "hub-reader-key-a", "hub-reader-key-b"]);
    assert.ok(v.every((x) => x.enforcementLevel === "mandatory"));
    assert.match(v[0].message, /static read credential in spoke t-01, whose hubReader\.auth is federated and which hands the hub no key \(no objstoreReadonly output\)/);
    assert.deepEqual(violations(MIGRATION, [...awsReader(), ...awsKey()], FED, FEDERATED_OUTPUTS), []);
    // The federated reader alone is what a federated spoke holds.
    assert.deepEqual(violations(NO_KEY, awsReader(), FED, FEDERATED_OUTPUTS), []);
  });

  it("a GCP service account key in a federated spoke is a mandatory violation", () => {
    const v = messages(NO_KEY, [...gcpReader(), ...gcpKey()], GCP_FED, FEDERATED_OUTPUTS);
    assert.equal(v.length, 1, JSON.stringify(v));
    assert.match(v[0], /gcp:serviceaccount\/key:Key 'hub-reader-key-a' is a static read credential/);
  });

  it("key mode, and a hub, keep their keys", () => {
    assert.deepEqual(violations(NO_KEY, awsKey(), KEY, keyOutputs(S3_KEY)), []);
    assert.deepEqual(violations(NO_KEY, [awsP, ...awsKey()], KEY, undefined), []);
    assert.deepEqual(violations(NO_KEY, [awsP, ...awsKey()], HUB, {}), []);
    assert.deepEqual(violations(MIGRATION, [awsP, ...awsKey()], KEY, keyOutputs(S3_KEY)), []);
  });

  it("during the migration (the federated spoke exports the key the hub still reads with) only the advisory fires, naming the migration and the runs that finish it", () => {
    const resources = [...awsReader(), ...awsKey()];
    assert.deepEqual(violations(NO_KEY, resources, FED, withKey(S3_KEY)), []);
    const v = violations(MIGRATION, resources, FED, withKey(S3_KEY));
    assert.equal(v.length, 1, JSON.stringify(v));
    assert.equal(v[0].enforcementLevel, "advisory");
    assert.match(v[0].message, /hub-reader migration to federated \(contract v2\) in progress in spoke t-01/);
    assert.match(v[0].message, /'pulumi up -s ops-01'.*then 'pulumi up -s t-01' retires the key/);
    assert.match(v[0].message, /hub-reader, hub-reader-key-a, hub-reader-key-b/);
    // A v1 hub (no issuer yet): the federated spoke keeps only its key (reader.auth key), also the migration.
    assert.deepEqual(violations(NO_KEY, [awsP, ...awsKey()], FED, keyOutputs(S3_KEY)), []);
    assert.equal(violations(MIGRATION, [awsP, ...awsKey()], FED, keyOutputs(S3_KEY)).length, 1);
  });

  it("without visible outputs whether a migration keeps the key cannot be told: advisory only, saying so", () => {
    const resources = [...awsReader(), ...awsKey()];
    assert.deepEqual(violations(NO_KEY, resources, FED, undefined), []);
    const v = violations(MIGRATION, resources, FED, undefined);
    assert.equal(v.length, 1, JSON.stringify(v));
    assert.match(v[0].message, /outputs are not visible, so whether the hub-reader migration to federated \(contract v2\) still needs it cannot be told/);
    assert.match(v[0].message, /otherwise it is a stored credential to remove/);
  });

  it("an exported key no resource issues is a mandatory violation; a credential in any other output is one in every mode", () => {
    assert.match(messages(NO_KEY, awsReader(), FED, withKey(S3_KEY))[0] ?? "", /exports objstoreReadonly, a static read credential no resource of the stack issues/);
    const leaked = { ...FEDERATED_OUTPUTS, reader: { ...FEDERATED_OUTPUTS.reader, objstore: S3_KEY } };
    for (const config of [FED, KEY, HUB]) {
      const v = messages(NO_KEY, awsReader(), config, leaked);
      assert.ok(v.some((m) => /stack output 'reader\.objstore' carries a static read credential \(access_key, secret_key\)/.test(m)), `${config.hubReaderAuth}/${config.role}: ${JSON.stringify(v)}`);
    }
    const sasElsewhere = { ...FEDERATED_OUTPUTS, extra: [{ file: SAS }] };
    assert.match(messages(NO_KEY, awsReader(), KEY, sasElsewhere)[0] ?? "", /stack output 'extra\.0\.file' carries a static read credential \(storage_connection_string\)/);
  });
});

// ---- Azure shared key --------------------------------------------------------------------------

describe("azure-shared-key-only-for-sas (with azure-storage-shared-key, CKV2_AZURE_40)", () => {
  const ONLY = "azure-shared-key-only-for-sas";
  const GUARD = "azure-storage-shared-key";

  it("shared key on in a federated spoke that signs no SAS is a violation, even under the SAS expiration policy", () => {
    const v = messages(ONLY, azureAccount("sas"), AZ_FED, FEDERATED_OUTPUTS);
    assert.equal(v.length, 1, JSON.stringify(v));
    assert.match(v[0], /allows shared key access, but no SAS needs it: stack t-01 exports no SAS \(no objstoreReadonly; hubReader\.auth federated: the hub reads through the federated identity\)/);
    assert.deepEqual(messages(GUARD, azureAccount("sas"), AZ_FED, FEDERATED_OUTPUTS), []);
    // Without the expiration policy both halves of the exception fail.
    assert.equal(messages(ONLY, azureAccount("unguarded"), AZ_FED, FEDERATED_OUTPUTS).length, 1);
    assert.equal(messages(GUARD, azureAccount("unguarded"), AZ_FED, FEDERATED_OUTPUTS).length, 1);
    // Shared key off: nothing to say.
    assert.deepEqual(messages(ONLY, azureAccount("off"), AZ_FED, FEDERATED_OUTPUTS), []);
  });

  it("key mode exporting its SAS keeps shared key on (the expiration policy still required); key mode exporting none does not", () => {
    assert.deepEqual(messages(ONLY, azureAccount("sas"), AZ_KEY, keyOutputs(SAS)), []);
    assert.deepEqual(messages(GUARD, azureAccount("sas"), AZ_KEY, keyOutputs(SAS)), []);
    assert.equal(messages(GUARD, azureAccount("unguarded"), AZ_KEY, keyOutputs(SAS)).length, 1);
    // Outputs not visible: a key-mode spoke is taken at its declaration.
    assert.deepEqual(messages(ONLY, azureAccount("sas"), AZ_KEY, undefined), []);
    // A key-mode spoke-query spoke exports no SAS: no hub reader, no shared key.
    assert.match(messages(ONLY, azureAccount("sas"), AZ_KEY, { contractVersion: 2, role: "spoke", queryPath: "spoke-query" })[0] ?? "", /stack t-01 exports no SAS \(no objstoreReadonly\); set allowSharedKeyAccess false/);
  });

  it("a migration keeping the SAS keeps shared key on, reported by the advisory; a hub never signs one", () => {
    assert.deepEqual(messages(ONLY, azureAccount("sas"), AZ_FED, withKey(SAS)), []);
    assert.deepEqual(messages("hub-reader-no-stored-credential", azureAccount("sas"), AZ_FED, withKey(SAS)), []);
    const advisory = violations("hub-reader-key-migration", azureAccount("sas"), AZ_FED, withKey(SAS));
    assert.equal(advisory.length, 1);
    assert.match(advisory[0].message, /kept by account; finish it: 'pulumi up -s ops-01'/);
    // Outputs not visible and federated: cannot tell, advisory only.
    assert.deepEqual(messages(ONLY, azureAccount("sas"), AZ_FED, undefined), []);
    assert.match(messages("hub-reader-key-migration", azureAccount("sas"), AZ_FED, undefined)[0] ?? "", /cannot be told/);
    for (const outputs of [undefined, {}, { contractVersion: 2, role: "hub" }]) {
      assert.match(messages(ONLY, azureAccount("sas"), { ...AZ_FED, role: "hub" }, outputs)[0] ?? "", /no SAS needs it: a hub signs no SAS/);
    }
  });
});

// ---- config and adapter ------------------------------------------------------------------------

describe("the declaration and the stack outputs the hub-reader policies read", () => {
  it("policy/stack-config.ts writes each stack's hubReader.auth (the schema's default when omitted) and a spoke's hub", () => {
    for (const stack of ["dev-01", "stag-01", "prod-01"]) {
      const c = packConfigFor(REPO, stack);
      for (const p of ["hub-reader-no-stored-credential", "hub-reader-key-migration", "azure-shared-key-only-for-sas"]) {
        assert.equal(c[p]?.hubReaderAuth, "federated", `${stack} ${p}`);
        assert.equal(c[p]?.hubStack, "ops-01", `${stack} ${p}`);
      }
    }
    assert.equal(packConfigFor(REPO, "ops-01")["hub-reader-no-stored-credential"]?.hubStack, undefined);
    assert.equal(stackPolicyConfig({ role: "spoke", hubReader: { auth: "key", rotationDays: 30 }, hub: { stack: "ops-02" } }).hubReaderAuth, "key");
    assert.equal(stackPolicyConfig({ role: "spoke", hub: { stack: "ops-02" } }).hubStack, "ops-02");
  });

  it("the offline adapter hands the root stack resource with the stack's outputs, secrets revealed, as CrossGuard does", () => {
    const resources = policyResources(run(awsReader(), "spoke", withKey(S3_KEY)));
    const roots = resources.filter((r) => r.type === "pulumi:pulumi:Stack");
    assert.equal(roots.length, 1);
    assert.equal(roots[0].urn, "urn:pulumi:t-01::sovereign-observability::pulumi:pulumi:Stack::sovereign-observability-t-01");
    assert.equal(roots[0].parent, undefined);
    assert.equal(roots[0].props.objstoreReadonly, S3_KEY);
    assert.deepEqual(roots[0].props.reader, FEDERATED_OUTPUTS.reader);
  });
});
