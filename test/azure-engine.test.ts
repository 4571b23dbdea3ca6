/**
 * The Azure spoke as it really runs: the offline engine plans stag-01 (after the hub bootstrap
 * it reads) from the real stack program and `Pulumi.stag-01.yaml`, and the recorded resources
 * are checked against the Azure Storage checklist: no public blob access, HTTPS and TLS 1.2,
 * firewall default Deny with the cluster subnet and the hub's real egress addresses,
 * infrastructure encryption, soft delete and versioning, role assignments exactly per principal,
 * federated credentials per ServiceAccount, protect/retainOnDelete, the explicit provider, and
 * the NAT gateway egress. Extra runs of stag-01 (edited config) cover `spoke-query` with a
 * customer-managed key and adopted egress, and the refusal of another subscription's addresses.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import {
  AZURE_ROLES,
  DENY_BLOB_DELETE_CONDITION,
  KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
  identityName,
  planGrants,
  readerSasWindow,
  renderManagementPolicy,
  renderNetworkRuleSet,
  renderSasPolicy,
  renderSubnetNatTemplate,
  roleAssignmentGuid,
  roleDefinitionId,
  sasSignedIp,
  storageAccountName,
  subnetId,
  type GrantsInput,
} from "../components/clouds/azure";
import type { BucketUser, WorkloadRef } from "../components/clouds/types";
import { durationDays } from "../components/config";
import { SERVICE_ACCOUNTS } from "../components/endpoints";
import { REPO_DIR, reveal, runStack, type RecordedResource, type StackRun } from "../offline";
import {
  assertDataSafe,
  assertEgressIps,
  assertExplicitProvider,
  assertReadonlyObjstoreSecret,
  inputs,
  ofType,
  one,
  plainOutputs,
  realFleet,
  runOf,
  spokeRunOptions,
  stackConfig,
  type RealFleet,
} from "./support/fleet";
import { referenceYaml, unknownKeyPaths } from "./support/reference";

const CONTRIBUTOR = AZURE_ROLES["Storage Blob Data Contributor"];
const READER = AZURE_ROLES["Storage Blob Data Reader"];
const config = stackConfig("stag-01");
assert.ok(config.cloud === "azure" && config.role === "spoke");
const ROTATION_DAYS = config.hubReader.rotationDays;
const sub = config.cluster.subscriptionId;
const ISSUER = config.cluster.oidcIssuerUrl;
const net = config.network;
const ns = config.namespace;
const ref = (serviceAccount: string): WorkloadRef => ({ namespace: ns, serviceAccount });
const writers = { sidecar: ref(SERVICE_ACCOUNTS.sidecar), compactor: ref(SERVICE_ACCOUNTS.compactor), loki: ref(SERVICE_ACCOUNTS.loki) };
const store = ref(SERVICE_ACCOUNTS.store);
const ADOPTED = [1, 2].map((n) => `/subscriptions/${sub}/resourceGroups/${net.resourceGroup}/providers/Microsoft.Network/publicIPAddresses/pip-existing-${n}`);
const OTHER_SUB = "11111111-1111-4111-8111-111111111111";

let fleet: RealFleet;
let stag: StackRun;
/** stag-01 read by the hub with a SAS (hubReader.auth: key). */
let stagKey: StackRun;
/** stag-01 with queryPath spoke-query, a customer-managed key and adopted egress addresses. */
let cmk: StackRun;
/** stag-01 adopting an address of another subscription. */
let foreign: StackRun;
before(async () => {
  fleet = await realFleet(["stag-01"]);
  stag = runOf(fleet, "stag-01");
  [cmk, foreign, stagKey] = await Promise.all([
    runStack(spokeRunOptions(fleet, "stag-01", (v) => {
      v.queryPath = "spoke-query";
      v.encryption = { mode: "customer" };
      v.egress = { mode: "existing", count: ADOPTED.length, addresses: ADOPTED };
    })),
    runStack(spokeRunOptions(fleet, "stag-01", (v) => {
      v.egress = { mode: "existing", count: 1, addresses: [ADOPTED[0].replace(sub, OTHER_SUB)] };
    })),
    runStack(spokeRunOptions(fleet, "stag-01", (v) => {
      v.hubReader = { auth: "key" };
    })),
  ]);
  assert.equal(cmk.error, undefined, cmk.error?.message);
  assert.equal(stagKey.error, undefined, stagKey.error?.message);
});

const hubIps = (): string[] => (reveal(fleet.bootstrap.outputs.egressIps) as string[]).map(String);
const containers = (run: StackRun): RecordedResource[] => ofType(run, "azure-native:storage:BlobContainer");
function container(run: StackRun, role: string): RecordedResource {
  const c = containers(run).find((x) => inputs(x).containerName === role);
  assert.ok(c !== undefined, `${run.stack}: container ${role}`);
  return c;
}
function identity(run: StackRun, user: string): RecordedResource | undefined {
  return ofType(run, "azure-native:managedidentity:UserAssignedIdentity").find((r) => inputs(r).resourceName === identityName(run.stack, user));
}

/** Field names of an interface in the provider's storage input types (the schema the provider accepts). */
function providerFields(iface: string): Set<string> {
  const text = readFileSync(join(REPO_DIR, "node_modules/@pulumi/azure-native/types/input.d.ts"), "utf8");
  const block = text.slice(text.indexOf("export declare namespace storage {"));
  const start = block.indexOf(`interface ${iface} {`);
  assert.ok(start >= 0, iface);
  const body = block.slice(start, block.indexOf("\n    }", start));
  return new Set([...body.matchAll(/^\s{8}(\w+)\??:/gm)].map((m) => m[1]));
}

/** The storage account checklist items every variant must meet. */
function checkAccount(run: StackRun, hub: string[]): Record<string, unknown> {
  const i = inputs(one(run, "azure-native:storage:StorageAccount"));
  assert.equal(i.allowBlobPublicAccess, false, "CIS 9.3.8 / CKV2_AZURE_47");
  assert.equal(i.enableHttpsTrafficOnly, true, "CKV_AZURE_3");
  assert.equal(i.minimumTlsVersion, "TLS1_2", "CKV_AZURE_44");
  assert.equal(i.kind, "StorageV2");
  assert.deepEqual(i.sku, { name: "Standard_ZRS" });
  assert.equal(i.location, config.region);
  assert.equal(i.accountName, storageAccountName("stag-01", sub));
  assert.equal((i.encryption as { requireInfrastructureEncryption: boolean }).requireInfrastructureEncryption, true, "infrastructure encryption");
  const rules = i.networkRuleSet as { defaultAction: string; ipRules: { iPAddressOrRange: string }[] };
  assert.equal(rules.defaultAction, "Deny", "CKV_AZURE_35");
  assert.deepEqual(rules, renderNetworkRuleSet({ subnetId: subnetId(sub, net.resourceGroup, net.virtualNetwork, net.subnet), hubIps: hub }));
  assert.deepEqual(rules.ipRules.map((r) => r.iPAddressOrRange).sort(), [...hub].sort());
  assert.equal(i.allowCrossTenantReplication, false);
  const tags = i.tags as Record<string, string>;
  for (const [k, v] of Object.entries({ cluster: "stag-01", environment: "stag", region: config.region, cloud: "azure", "sovereignty-zone": "de" })) assert.equal(tags[k], v, k);
  return i;
}

/** Role assignments as `principal:container:roleDefinitionId`, against the plan; every one at container scope. */
function checkRoleAssignments(run: StackRun, plan: GrantsInput): void {
  const ras = ofType(run, "azure-native:authorization:RoleAssignment").map(inputs);
  const principalOf = new Map<string, string>();
  for (const u of ["sidecar", "compactor", "loki", "store", "hub-reader"]) {
    const id = identity(run, u);
    // The hub's federated identity is the plan's `hub-federated` principal.
    if (id !== undefined) principalOf.set(String(id.outputs.principalId), u === "hub-reader" ? "hub-federated" : u);
  }
  const scopeOf = new Map(containers(run).map((c) => [c.id, String(inputs(c).containerName)]));
  const storageRoles = ras.filter((r) => String(r.scope).includes("/blobServices/"));
  const actual = storageRoles.map((r) => `${principalOf.get(String(r.principalId))}:${scopeOf.get(String(r.scope))}:${String(r.roleDefinitionId)}`).sort();
  const expected = planGrants(plan).filter((g) => g.via === "rbac").map((g) => `${g.principal}:${g.container}:${roleDefinitionId(sub, g.roleId)}`).sort();
  assert.deepEqual(actual, expected);
  for (const r of storageRoles) {
    assert.equal(r.principalType, "ServicePrincipal");
    assert.equal(r.roleAssignmentName, roleAssignmentGuid(String(r.scope), String(r.principalId), String(r.roleDefinitionId).split("/").pop() ?? ""));
    assert.match(String(r.scope), /\/blobServices\/default\/containers\/(metrics|logs)$/, "never account scope");
    const who = principalOf.get(String(r.principalId));
    if (String(r.roleDefinitionId).endsWith(CONTRIBUTOR)) assert.ok(who === "sidecar" || who === "compactor" || who === "loki", `Contributor only for federated writers, not ${String(who)}`);
    else assert.ok(String(r.roleDefinitionId).endsWith(READER) && (who === "store" || who === "hub-federated"), `Reader only for the store or the hub, not ${String(who)}`);
  }
  const sidecar = storageRoles.find((r) => principalOf.get(String(r.principalId)) === "sidecar");
  assert.equal(sidecar?.condition, DENY_BLOB_DELETE_CONDITION, "the sidecar cannot delete");
  assert.equal(sidecar?.conditionVersion, "2.0");
}

/**
 * One identity per workload, federated only with exactly its own namespace/ServiceAccount on this
 * cluster; with `hub`, one more for the hub's store gateway, federated only with the hub's issuer.
 */
function checkFederation(run: StackRun, users: Partial<Record<BucketUser, WorkloadRef>>, hub?: { issuer: string; subject: string }): void {
  const ids = ofType(run, "azure-native:managedidentity:UserAssignedIdentity").filter((r) => !r.name.endsWith("-cmk-id"));
  const fics = ofType(run, "azure-native:managedidentity:FederatedIdentityCredential");
  assert.deepEqual(ids.map((r) => inputs(r).resourceName).sort(), [...Object.keys(users), ...(hub !== undefined ? ["hub-reader"] : [])].map((u) => identityName("stag-01", u)).sort());
  assert.equal(fics.length, Object.keys(users).length + (hub !== undefined ? 1 : 0), hub === undefined ? "no federated credential for the hub" : "one federated credential for the hub");
  if (hub !== undefined) {
    const id = identity(run, "hub-reader");
    assert.ok(id !== undefined);
    const mine = fics.filter((f) => inputs(f).resourceName === id.outputs.name).map(inputs);
    assert.equal(mine.length, 1, "one credential on the hub's identity (at most 20 are allowed)");
    assert.equal(mine[0].issuer, hub.issuer, "the hub cluster's issuer, exactly as the hub publishes it");
    assert.equal(mine[0].subject, hub.subject);
    assert.deepEqual(mine[0].audiences, ["api://AzureADTokenExchange"]);
  }
  for (const [user, r] of Object.entries(users)) {
    const id = identity(run, user);
    assert.ok(id !== undefined, user);
    const mine = fics.filter((f) => inputs(f).resourceName === id.outputs.name);
    assert.equal(mine.length, 1, user);
    const f = inputs(mine[0]);
    assert.equal(f.issuer, ISSUER);
    assert.equal(f.subject, `system:serviceaccount:${r.namespace}:${r.serviceAccount}`);
    assert.deepEqual(f.audiences, ["api://AzureADTokenExchange"]);
  }
}

describe("stag-01 (hub-store, provider-managed keys, created egress)", () => {
  it("one explicit azure-native provider, pinned to the stack's subscription, tenant and region, used by every Azure resource", () => {
    assertExplicitProvider(stag, "azure-native", "azure");
    const p = inputs(one(stag, "pulumi:providers:azure-native"));
    assert.equal(p.subscriptionId, sub);
    assert.equal(p.tenantId, config.cluster.tenantId);
    assert.equal(p.location, config.region);
  });

  it("the storage account meets the Azure checklist, its firewall admitting the hub's real egress addresses, shared keys off (the hub reads federated)", () => {
    const i = checkAccount(stag, hubIps());
    assert.equal((i.encryption as { keySource: string }).keySource, "Microsoft.Storage");
    assert.equal(i.allowSharedKeyAccess, false, "CKV2_AZURE_40: no SAS is needed");
    assert.equal(i.sasPolicy, undefined);
    const key = checkAccount(stagKey, hubIps());
    // hubReader.auth key: shared keys stay on only because the hub reader needs a SAS; a policy caps every SAS.
    assert.equal(key.allowSharedKeyAccess, true);
    assert.deepEqual(key.sasPolicy, renderSasPolicy(ROTATION_DAYS));
    const accountArgs = readFileSync(join(REPO_DIR, "node_modules/@pulumi/azure-native/storage/storageAccount.d.ts"), "utf8");
    const known = new Set([...accountArgs.slice(accountArgs.indexOf("export interface StorageAccountArgs")).matchAll(/^\s{4}(\w+)\??:/gm)].map((m) => m[1]));
    for (const k of Object.keys(i)) assert.ok(known.has(k), `StorageAccountArgs has no field ${k}`);
    const enc = providerFields("EncryptionArgs");
    for (const k of Object.keys(i.encryption as object)) assert.ok(enc.has(k), `EncryptionArgs has no field ${k}`);
  });

  it("data stores are protected and retained: resource group, account, containers", () => {
    const rg = one(stag, "azure-native:resources:ResourceGroup");
    assert.equal(inputs(rg).resourceGroupName, "rg-stag-01-observability");
    assertDataSafe([rg, one(stag, "azure-native:storage:StorageAccount"), ...containers(stag)], "data store");
  });

  it("versioning, blob and container soft delete (CKV2_AZURE_38), before any container exists", () => {
    const svc = one(stag, "azure-native:storage:BlobServiceProperties");
    const i = inputs(svc);
    assert.equal(i.isVersioningEnabled, true);
    // allowPermanentDelete off: soft-deleted versions cannot be purged early, so the recovery window (blob soft delete) holds.
    assert.deepEqual(i.deleteRetentionPolicy, { enabled: true, days: durationDays(config.retention.noncurrentVersions), allowPermanentDelete: false });
    assert.deepEqual(i.containerDeleteRetentionPolicy, { enabled: true, days: durationDays(config.retention.noncurrentVersions) });
    for (const c of containers(stag)) assert.ok(c.options.dependsOn.includes(svc.urn), c.name);
  });

  it("private containers metrics and logs, named in the contract, and the lifecycle policy from the retention config", () => {
    assert.deepEqual(containers(stag).map((c) => inputs(c).containerName).sort(), ["logs", "metrics"]);
    for (const c of containers(stag)) assert.equal(inputs(c).publicAccess, "None");
    assert.deepEqual(plainOutputs(stag).buckets, { metrics: container(stag, "metrics").outputs.name, logs: container(stag, "logs").outputs.name });
    const policy = one(stag, "azure-native:storage:ManagementPolicy");
    assert.deepEqual(inputs(policy).policy, renderManagementPolicy(["metrics", "logs"], config.retention));
    assert.equal(inputs(policy).managementPolicyName, "default");
  });

  it("one identity per writer, federated only with its own ServiceAccount; no store identity on a hub-store spoke; one for the hub's store gateway, federated with the hub's issuer", () => {
    const fed = plainOutputs(fleet.bootstrap).federation as { issuerUrl: string };
    checkFederation(stag, writers, { issuer: fed.issuerUrl, subject: "system:serviceaccount:observability:thanos-store-stag-01" });
    checkFederation(stagKey, writers);
  });

  it("role assignments are exactly the plan's RBAC grants: Contributor for the federated writers only, Reader on metrics for the hub's federated identity", () => {
    checkRoleAssignments(stag, { containers: ["metrics", "logs"], writers, hubReader: false, hubFederated: true });
    const readers = ofType(stag, "azure-native:authorization:RoleAssignment").filter((r) => String(inputs(r).roleDefinitionId).endsWith(READER));
    assert.equal(readers.length, 1, "one Reader: the hub's identity");
    assert.equal(inputs(readers[0]).principalId, identity(stag, "hub-reader")?.outputs.principalId);
    checkRoleAssignments(stagKey, { containers: ["metrics", "logs"], writers, hubReader: true });
    assert.ok(!ofType(stagKey, "azure-native:authorization:RoleAssignment").some((r) => String(inputs(r).roleDefinitionId).endsWith(READER)), "key mode: the hub reads by SAS, no Reader role without a store");
  });

  it("federated: the contract carries no reader secret, only the identity's client and tenant ids and an objstore file with account and container alone", () => {
    const out = plainOutputs(stag);
    assert.equal(out.objstoreReadonly, undefined);
    const reader = out.reader as { auth: string; objstore: string; identity: { cloud: string; clientId: string; tenantId: string } };
    assert.equal(reader.auth, "federated");
    assert.deepEqual(reader.identity, { cloud: "azure", clientId: identity(stag, "hub-reader")?.outputs.clientId, tenantId: config.cluster.tenantId });
    const doc = parse(reader.objstore) as { type: string; config: Record<string, unknown> };
    assert.deepEqual(unknownKeyPaths(doc, referenceYaml("thanos-v0.42.4/objstore-azure.yaml")), []);
    assert.deepEqual(Object.keys(doc.config).sort(), ["container", "endpoint", "storage_account", "storage_create_container"]);
    assert.equal(doc.config.storage_create_container, false, "no container probe (and token request) at client construction");
  });

  it("hubReader.auth key: a secret read-only objstore with a container SAS, [secret] in the plan document", () => {
    const stag = stagKey;
    const doc = parse(assertReadonlyObjstoreSecret(stag)) as { type: string; config: Record<string, string | undefined> };
    assert.deepEqual(unknownKeyPaths(doc, referenceYaml("thanos-v0.42.4/objstore-azure.yaml")), []);
    assert.equal(doc.config.container, "metrics");
    const accountName = String(one(stag, "azure-native:storage:StorageAccount").outputs.name);
    assert.equal(doc.config.storage_account, accountName);
    const m = /^BlobEndpoint=https:\/\/([a-z0-9]+)\.blob\.core\.windows\.net\/;SharedAccessSignature=(.+)$/.exec(String(doc.config.storage_connection_string));
    assert.ok(m !== null, doc.config.storage_connection_string);
    assert.equal(m[1], accountName);
    const q = new URLSearchParams(m[2]);
    assert.equal(q.get("sr"), "c");
    assert.equal(q.get("sp"), "rl");
    assert.equal(q.get("spr"), "https");
    assert.equal(q.get("sip"), sasSignedIp(hubIps()) ?? null, "bound to the hub's addresses where a SAS can express them (else the firewall binds)");
    // "Create a service SAS": sip is one address or one inclusive range a-b. Whatever it admits must be
    // the hub's addresses and nothing else; without sip, the firewall's IP rules are exactly the hub's.
    const n = (ip: string): number => ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
    const sip = q.get("sip");
    if (sip !== null) {
      const [lo, hi = lo] = sip.split("-");
      for (let x = n(lo); x <= n(hi); x++) assert.ok(hubIps().some((ip) => n(ip) === x), `sip ${sip} admits an address that is not the hub's`);
    }
    const rules = (inputs(one(stag, "azure-native:storage:StorageAccount")).networkRuleSet as { ipRules: { iPAddressOrRange: string }[] }).ipRules.map((r) => r.iPAddressOrRange);
    assert.deepEqual([...rules].sort(), [...new Set(hubIps())].sort(), "the firewall admits exactly the hub's addresses");
    assert.equal(q.get("se"), readerSasWindow(new Date(), ROTATION_DAYS).expiry);
    assert.ok((q.get("sig") ?? "").length > 0);
    assert.equal(doc.config.storage_account_key, undefined, "the account key is never exported");
  });

  it("egress: static Standard public IPs, protected, on a Standard NAT gateway attached by deployment, exported", () => {
    const ips = ofType(stag, "azure-native:network:PublicIPAddress");
    assert.equal(ips.length, config.egress.count);
    assertDataSafe(ips, "static egress address");
    for (const ip of ips) {
      const i = inputs(ip);
      assert.deepEqual(i.sku, { name: "Standard", tier: "Regional" });
      assert.equal(i.publicIPAllocationMethod, "Static");
      assert.equal(i.resourceGroupName, net.resourceGroup);
      assert.equal(i.location, config.region);
      assert.equal((i.tags as Record<string, string>).cluster, "stag-01");
    }
    const nat = one(stag, "azure-native:network:NatGateway");
    const n = inputs(nat);
    assert.deepEqual(n.sku, { name: "Standard" });
    assert.deepEqual((n.publicIpAddresses as { id: string }[]).map((x) => x.id).sort(), ips.map((ip) => ip.id).sort());
    assert.equal(n.resourceGroupName, net.resourceGroup);
    assert.ok(nat.options.retainOnDelete);
    assert.equal(ofType(stag, "azure-native:network:Subnet").length, 0, "the subnet is never managed");
    assert.equal(ofType(stag, "azure-native:network:VirtualNetwork").length, 0);
    const dep = one(stag, "azure-native:resources:Deployment");
    const d = inputs(dep) as { resourceGroupName: string; properties: { mode: string; template: unknown; parameters: Record<string, { value: string }> } };
    assert.equal(d.resourceGroupName, net.resourceGroup);
    assert.equal(d.properties.mode, "Incremental");
    assert.deepEqual(d.properties.template, renderSubnetNatTemplate());
    assert.deepEqual(d.properties.parameters, { virtualNetworkName: { value: net.virtualNetwork }, subnetName: { value: net.subnet }, natGatewayId: { value: nat.id } });
    assert.ok(dep.options.retainOnDelete, "destroying the stack leaves the subnet's egress as it is");
    assertEgressIps(stag, ips.map((ip) => ip.outputs.ipAddress));
  });
});

describe("stag-01 as a spoke-query spoke with a customer-managed key and adopted egress (edited config)", () => {
  it("no hub reader: shared keys off (CKV2_AZURE_40), no SAS policy, no IP rules, no read-only objstore", () => {
    const i = checkAccount(cmk, []);
    assert.equal(i.allowSharedKeyAccess, false);
    assert.equal(i.sasPolicy, undefined);
    assert.equal(cmk.outputs.objstoreReadonly, undefined);
    assert.ok(!cmk.resources.some((r) => r.name.includes("hub-reader")));
  });

  it("the store gets its own federated identity and Reader on metrics only", () => {
    checkFederation(cmk, { ...writers, store });
    checkRoleAssignments(cmk, { containers: ["metrics", "logs"], writers, store, hubReader: false });
  });

  it("the key lives in a purge-protected RBAC vault, rotates, and is protected", () => {
    const vault = one(cmk, "azure-native:keyvault:Vault");
    const key = one(cmk, "azure-native:keyvault:Key");
    const p = inputs(vault).properties as Record<string, unknown>;
    assert.equal(p.enablePurgeProtection, true);
    assert.equal(p.enableRbacAuthorization, true);
    assert.equal(p.tenantId, config.cluster.tenantId);
    assert.deepEqual(p.networkAcls, { defaultAction: "Deny", bypass: "AzureServices" });
    const kp = inputs(key).properties as { kty: string; rotationPolicy: { lifetimeActions: { trigger: { timeAfterCreate: string } }[] } };
    assert.equal(kp.kty, "RSA-HSM");
    assert.equal(kp.rotationPolicy.lifetimeActions[0].trigger.timeAfterCreate, "P90D");
    assertDataSafe([vault, key], "Key Vault and key");
  });

  it("the account encrypts with the key through its own identity, which may only wrap/unwrap with that key", () => {
    const account = one(cmk, "azure-native:storage:StorageAccount");
    const key = one(cmk, "azure-native:keyvault:Key");
    const vault = one(cmk, "azure-native:keyvault:Vault");
    const cmkId = cmk.resources.find((r) => r.name.endsWith("-cmk-id"));
    const grant = cmk.resources.find((r) => r.name.endsWith("-cmk-grant"));
    assert.ok(cmkId !== undefined && grant !== undefined);
    // The retained account reads its data only while this identity may use the key
    // (https://learn.microsoft.com/azure/storage/common/customer-managed-keys-overview): both are kept with the data.
    assertDataSafe([cmkId, grant], "CMK identity and its key grant");
    const g = inputs(grant);
    assert.equal(g.scope, key.id, "key scope, not vault");
    assert.equal(g.principalId, cmkId.outputs.principalId);
    assert.equal(g.roleDefinitionId, roleDefinitionId(sub, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER));
    const e = inputs(account).encryption as { keySource: string; requireInfrastructureEncryption: boolean; keyVaultProperties: { keyName: string; keyVaultUri: string; keyVersion?: string }; encryptionIdentity: { encryptionUserAssignedIdentity: string } };
    assert.equal(e.keySource, "Microsoft.Keyvault");
    assert.equal(e.requireInfrastructureEncryption, true);
    assert.equal(e.keyVaultProperties.keyName, key.outputs.name);
    assert.equal(e.keyVaultProperties.keyVaultUri, (vault.outputs.properties as { vaultUri: string }).vaultUri);
    assert.equal(e.keyVaultProperties.keyVersion, undefined, "versionless: follows rotation");
    assert.equal(e.encryptionIdentity.encryptionUserAssignedIdentity, cmkId.id);
    assert.deepEqual(inputs(account).identity, { type: "UserAssigned", userAssignedIdentities: [cmkId.id] });
    assert.ok(account.options.dependsOn.includes(grant.urn), "the account waits for the key grant");
    const enc = providerFields("EncryptionArgs");
    for (const k of Object.keys(e)) assert.ok(enc.has(k), `EncryptionArgs has no field ${k}`);
  });

  it("adopts the addresses by id: creates no IP, no NAT gateway, no attachment; exports their addresses", () => {
    for (const t of ["azure-native:network:PublicIPAddress", "azure-native:network:NatGateway", "azure-native:resources:Deployment"]) assert.equal(ofType(cmk, t).length, 0, t);
    const got = reveal(cmk.outputs.egressIps) as string[];
    assert.equal(got.length, ADOPTED.length);
    for (const ip of got) assert.match(ip, /^(192\.0\.2|198\.51\.100|203\.0\.113)\.[0-9]+$/);
    assert.notEqual(got[0], got[1]);
  });

  it("refuses an address of another subscription, before registering any Azure resource", () => {
    assert.ok(foreign.error !== undefined, "the run must fail");
    assert.match(foreign.error.message, new RegExp(`lies in subscription ${OTHER_SUB}, not the stack's ${sub}`));
    assert.ok(!foreign.resources.some((r) => r.type.startsWith("azure-native:") && r.custom && !r.type.startsWith("pulumi:")), "no Azure resource registered");
  });
});
