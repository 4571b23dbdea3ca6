/**
 * Azure storage: grants plan, federated credentials, storage firewall, lifecycle policy, reader
 * SAS rotation, objstore and Loki values against the upstream reference. What the real stag-01
 * stack registers is checked in azure-engine.test.ts.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import {
  AZURE_ROLES,
  AZURE_TOKEN_AUDIENCE,
  DENY_BLOB_DELETE_CONDITION,
  STORAGE_ACCOUNT_NAME,
  containerRetentionDays,
  keyVaultName,
  KEY_VAULT_NAME,
  planGrants,
  readerSasWindow,
  renderAzureObjstore,
  renderFederatedCredential,
  renderLokiAzureStorage,
  renderManagementPolicy,
  renderNetworkRuleSet,
  renderReaderSasParameters,
  renderSasPolicy,
  roleAssignmentGuid,
  MAX_SOFT_DELETE_DAYS,
  recoveryWindowDays,
  sasSignedIp,
  softDeleteDays,
  subnetNatDrift,
  storageAccountName,
  storageIpRules,
  storageSku,
  subnetId,
  type GrantsInput,
} from "../components/clouds/azure";
import { durationDays, readStackFile, validateStackConfig } from "../components/config";
import { REPO_DIR } from "../offline";
import { REFERENCE_DIR, referenceYaml, unknownKeyPaths } from "./support/reference";

const CONTRIBUTOR = AZURE_ROLES["Storage Blob Data Contributor"];
const READER = AZURE_ROLES["Storage Blob Data Reader"];
const refs = { namespace: "observability" };
const writers = {
  sidecar: { ...refs, serviceAccount: "prometheus" },
  compactor: { ...refs, serviceAccount: "thanos-compactor" },
  loki: { ...refs, serviceAccount: "loki" },
};
const store = { ...refs, serviceAccount: "thanos-store" };
const full: GrantsInput = { containers: ["metrics", "logs"], writers, store, hubReader: true };
const SUB = "3f2a9c1e-7b4d-4e8a-9c6f-1d2e3f4a5b6c";
const SUBNET = subnetId(SUB, "rg-net", "vnet-1", "snet-nodes");

/** Field names of an interface in the provider's storage input types (the schema the provider accepts). */
function providerFields(iface: string, ns = "storage"): Set<string> {
  const text = readFileSync(join(REPO_DIR, "node_modules/@pulumi/azure-native/types/input.d.ts"), "utf8");
  const block = text.slice(text.indexOf(`export declare namespace ${ns} {`));
  const start = block.indexOf(`interface ${iface} {`);
  assert.ok(start >= 0, `interface ${iface} not found in @pulumi/azure-native ${ns} input types`);
  const body = block.slice(start, block.indexOf("\n    }", start));
  return new Set([...body.matchAll(/^\s{8}(\w+)\??:/gm)].map((m) => m[1]));
}

function assertFields(obj: object, iface: string): void {
  const known = providerFields(iface);
  for (const k of Object.keys(obj)) assert.ok(known.has(k), `${iface} has no field ${k}`);
}

describe("grants plan", () => {
  const plan = planGrants(full);
  const of = (p: string): typeof plan => plan.filter((g) => g.principal === p);

  it("Contributor only for the spoke's own federated writers, Reader only for the store and the hub", () => {
    const contributors = plan.filter((g) => g.roleId === CONTRIBUTOR).map((g) => g.principal).sort();
    assert.deepEqual(contributors, ["compactor", "loki", "sidecar"]);
    for (const g of plan.filter((x) => x.roleId === CONTRIBUTOR)) assert.equal(g.via, "rbac", `${g.principal} writes through its federated identity`);
    const readers = plan.filter((g) => g.roleId === READER).map((g) => g.principal).sort();
    assert.deepEqual(readers, ["hub-reader", "store"]);
    assert.equal(CONTRIBUTOR, "ba92f5b4-2d11-453d-a403-e96b0029c9fe");
    assert.equal(READER, "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1");
  });

  it("each principal gets exactly its intended container", () => {
    const pairs = plan.map((g) => `${g.principal}:${g.container}:${g.role}`).sort();
    assert.deepEqual(pairs, [
      "compactor:metrics:Storage Blob Data Contributor",
      "hub-reader:metrics:Storage Blob Data Reader",
      "loki:logs:Storage Blob Data Contributor",
      "sidecar:metrics:Storage Blob Data Contributor",
      "store:metrics:Storage Blob Data Reader",
    ]);
  });

  it("only the compactor can delete metrics: the sidecar's Contributor excludes blob delete", () => {
    assert.equal(of("sidecar")[0].condition, DENY_BLOB_DELETE_CONDITION);
    assert.match(DENY_BLOB_DELETE_CONDITION, /!\(ActionMatches\{'Microsoft\.Storage\/storageAccounts\/blobServices\/containers\/blobs\/delete'\}\)/);
    assert.equal(of("compactor")[0].condition, undefined);
  });

  it("the hub reader only reads and lists, and only the metrics container, through a SAS", () => {
    const [g] = of("hub-reader");
    assert.equal(of("hub-reader").length, 1);
    assert.equal(g.via, "sas");
    assert.equal(g.container, "metrics");
    assert.equal(g.sasPermissions, "rl");
  });

  it("a stack without the hub reader or the store grants them nothing", () => {
    const p = planGrants({ ...full, hubReader: false, store: undefined });
    assert.ok(!p.some((g) => g.principal === "hub-reader" || g.principal === "store"));
  });

  it("refuses a writer whose container the stack does not own", () => {
    assert.throws(() => planGrants({ ...full, containers: ["metrics"] }), /loki needs the logs container/);
  });
});

describe("federated identity credentials", () => {
  it("issuer, subject and audience are exact", () => {
    const issuer = "https://germanywestcentral.oic.prod-aks.azure.com/t/c/";
    assert.deepEqual(renderFederatedCredential(issuer, writers.compactor), {
      issuer,
      subject: "system:serviceaccount:observability:thanos-compactor",
      audiences: ["api://AzureADTokenExchange"],
    });
    assert.equal(AZURE_TOKEN_AUDIENCE, "api://AzureADTokenExchange");
  });
});

describe("storage firewall", () => {
  it("default Deny, no bypass, the cluster subnet as VNet rule, the hub as IP rules (CKV_AZURE_35)", () => {
    const rules = renderNetworkRuleSet({ subnetId: SUBNET, hubIps: ["203.0.113.11", "203.0.113.10/32", "203.0.113.11"] });
    assert.equal(rules.defaultAction, "Deny");
    assert.equal(rules.bypass, "None");
    assert.deepEqual(rules.virtualNetworkRules, [{ virtualNetworkResourceId: `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-1/subnets/snet-nodes`, action: "Allow" }]);
    assert.deepEqual(rules.ipRules, [{ iPAddressOrRange: "203.0.113.10", action: "Allow" }, { iPAddressOrRange: "203.0.113.11", action: "Allow" }]);
    assertFields(rules, "NetworkRuleSetArgs");
    assertFields(rules.ipRules[0], "IPRuleArgs");
    assertFields(rules.virtualNetworkRules[0], "VirtualNetworkRuleArgs");
  });

  it("without a hub there are no IP rules at all", () => {
    assert.deepEqual(renderNetworkRuleSet({ subnetId: SUBNET, hubIps: [] }).ipRules, []);
  });

  it("IP rules take what Azure accepts: no /31-/32 CIDR, no private, no IPv6", () => {
    assert.deepEqual(storageIpRules("198.51.100.7/32"), ["198.51.100.7"]);
    assert.deepEqual(storageIpRules("198.51.100.7/31"), ["198.51.100.6", "198.51.100.7"]);
    assert.deepEqual(storageIpRules("198.51.100.0/24"), ["198.51.100.0/24"]);
    for (const bad of ["10.1.2.3", "172.20.0.1", "192.168.1.1/32", "2001:db8::1", "not-an-ip"]) assert.throws(() => storageIpRules(bad), bad);
  });
});

describe("lifecycle policy", () => {
  const retention = { raw: "15d", fiveMinutes: "90d", oneHour: "1y", logs: "30d", local: "12h", noncurrentVersions: "7d" };
  const policy = renderManagementPolicy(["metrics", "logs"], retention);

  it("metrics after the longest tier, logs after their retention, versions after noncurrentVersions", () => {
    const rule = (c: string): (typeof policy.rules)[number] => {
      const r = policy.rules.find((x) => x.definition.filters.prefixMatch.includes(`${c}/`));
      assert.ok(r !== undefined, c);
      return r;
    };
    assert.equal(rule("metrics").definition.actions.baseBlob.delete.daysAfterModificationGreaterThan, 365);
    assert.equal(rule("logs").definition.actions.baseBlob.delete.daysAfterModificationGreaterThan, 30);
    for (const c of ["metrics", "logs"]) {
      assert.equal(rule(c).definition.actions.version.delete.daysAfterCreationGreaterThan, 7);
      assert.deepEqual(rule(c).definition.filters.blobTypes, ["blockBlob"]);
      assert.equal(rule(c).enabled, true);
      assert.match(rule(c).name, /^[A-Za-z0-9]+$/, "rule names are alphanumeric");
    }
    assert.equal(containerRetentionDays("metrics", { ...retention, raw: "400d" }), 400, "raw longer than every other tier wins");
  });

  it("only rules for the containers the stack owns", () => {
    assert.deepEqual(renderManagementPolicy(["metrics"], retention).rules.map((r) => r.definition.filters.prefixMatch), [["metrics/"]]);
  });

  it("uses only fields the provider knows", () => {
    const r = policy.rules[0];
    assertFields(r, "ManagementPolicyRuleArgs");
    assertFields(r.definition, "ManagementPolicyDefinitionArgs");
    assertFields(r.definition.filters, "ManagementPolicyFilterArgs");
    assertFields(r.definition.actions, "ManagementPolicyActionArgs");
    assertFields(r.definition.actions.baseBlob, "ManagementPolicyBaseBlobArgs");
    assertFields(r.definition.actions.baseBlob.delete, "DateAfterModificationArgs");
    assertFields(r.definition.actions.version.delete, "DateAfterCreationArgs");
  });

  it("soft delete is exactly noncurrentVersions; more than Azure's 365 days is refused, never silently capped", () => {
    assert.equal(softDeleteDays(retention), 7);
    assert.equal(MAX_SOFT_DELETE_DAYS, 365, "DeleteRetentionPolicy.days: 1-365 (azure-native DeleteRetentionPolicyArgs)");
    // The old plan capped 2y to 365 days: a recovery window shorter than configured, without a word.
    assert.throws(() => softDeleteDays({ ...retention, noncurrentVersions: "2y" }), /at most 365 days/);
  });
});

/**
 * Azure's documented rules, as a model of one blob: written on day `written`, deleted or
 * overwritten on day `replaced` (it becomes a previous version then), for the rules rendered here.
 * - A version's age counts from its creation, i.e. its write ("For a blob snapshot or version, the
 *   condition that is checked is the number of days since the snapshot or version was created",
 *   https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-policy-configure).
 * - Lifecycle runs at least once a day; a delete in an account with blob soft delete puts the
 *   version in the soft-deleted state for the retention period, and lifecycle never touches
 *   soft-deleted data (https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-policy-delete).
 * - A soft-deleted version is restorable until its retention expires, unless permanent delete is
 *   allowed (DeleteRetentionPolicy.allowPermanentDelete, https://learn.microsoft.com/azure/storage/blobs/soft-delete-blob-overview).
 * Returns the days during which the replaced data can still be recovered, counted from the replacement.
 */
function azureRecoverableDays(versionDeleteDays: number, softDelete: { days: number; allowPermanentDelete: boolean }, written: number, replaced: number): number {
  if (softDelete.allowPermanentDelete) return 0; // anyone with delete can purge the soft-deleted versions
  // First lifecycle run at which the version's age (since its write) exceeds the rule.
  const versionDeleted = Math.max(replaced, Math.floor(written + versionDeleteDays) + 1);
  return versionDeleted - replaced + softDelete.days;
}

describe("recovery window after a delete or overwrite (Azure rules)", () => {
  const retention = { raw: "15d", fiveMinutes: "90d", oneHour: "1y", logs: "30d", local: "12h", noncurrentVersions: "7d" };
  const policy = renderManagementPolicy(["metrics"], retention);
  const versionDays = policy.rules[0].definition.actions.version.delete.daysAfterCreationGreaterThan;
  const softDelete = { days: softDeleteDays(retention), allowPermanentDelete: false };

  it("a previous version counts from its write: a block written long before its delete is a previous version for at most a day", () => {
    assert.equal(azureRecoverableDays(versionDays, { days: 0, allowPermanentDelete: false }, 0, 300), 0, "without soft delete nothing would remain");
  });

  it("for every write-to-delete gap the data stays recoverable at least recoveryWindowDays, and that is noncurrentVersions", () => {
    const window = recoveryWindowDays(retention);
    assert.equal(window, durationDays(retention.noncurrentVersions));
    let min = Infinity;
    for (let gap = 0; gap <= containerRetentionDays("metrics", retention); gap++) min = Math.min(min, azureRecoverableDays(versionDays, softDelete, 0, gap));
    assert.equal(min, window, "the guaranteed window is the soft-delete retention, reached by old blobs");
  });

  it("the window is only real while permanent delete of soft-deleted versions stays off", () => {
    assert.equal(azureRecoverableDays(versionDays, { ...softDelete, allowPermanentDelete: true }, 0, 300), 0);
  });
});

describe("hub reader SAS", () => {
  it("a new SAS each window, and the one the hub holds outlives the boundary by one window", () => {
    const days = 30;
    const start = Date.UTC(2026, 0, 1);
    let prev = readerSasWindow(new Date(start), days);
    for (let d = 1; d < 400; d++) {
      const now = new Date(start + d * 86400_000);
      const w = readerSasWindow(now, days);
      assert.ok(Date.parse(w.start) <= now.getTime() && now.getTime() < Date.parse(w.expiry), "valid when issued");
      assert.equal(Date.parse(w.expiry) - Date.parse(w.start), 2 * days * 86400_000);
      if (w.window === prev.window) assert.deepEqual(w, prev, "same window, same parameters: the same token, no churn");
      else {
        assert.equal(w.window, prev.window + 1);
        assert.ok(Date.parse(prev.expiry) - now.getTime() >= (days - 1) * 86400_000, "the previous SAS stays valid for about a window");
      }
      prev = w;
    }
    assert.throws(() => readerSasWindow(new Date(), 0));
  });

  it("container scope, read+list, HTTPS only, signed with key1, IP-bound", () => {
    const p = renderReaderSasParameters({ accountName: "obsacct", resourceGroupName: "rg", container: "metrics", hubIps: ["203.0.113.10"], now: new Date(Date.UTC(2026, 5, 1)), rotationDays: 30 });
    assert.equal(p.canonicalizedResource, "/blob/obsacct/metrics");
    assert.equal(p.resource, "c");
    assert.equal(p.permissions, "rl");
    assert.equal(p.protocols, "https");
    assert.equal(p.keyToSign, "key1");
    assert.equal(p.iPAddressOrRange, "203.0.113.10");
  });

  it("signedIp binds exactly the hub's addresses or is left out (the firewall binds)", () => {
    // "Create a service SAS", sip: one IP address or one inclusive range a-b, nothing else
    // (https://learn.microsoft.com/rest/api/storageservices/create-service-sas). The admitted set of a value:
    const admitted = (sip: string): number => {
      const [lo, hi = lo] = sip.split("-");
      const n = (ip: string): number => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
      return n(hi) - n(lo) + 1;
    };
    assert.equal(sasSignedIp(["203.0.113.10"]), "203.0.113.10");
    assert.equal(sasSignedIp(["203.0.113.11", "203.0.113.10/32"]), "203.0.113.10-203.0.113.11");
    // Within one /24 but not adjacent: the old plan signed 203.0.113.10-203.0.113.12, admitting .11, which is not the hub's.
    assert.equal(sasSignedIp(["203.0.113.12", "203.0.113.10/32"]), undefined);
    assert.equal(sasSignedIp(["203.0.113.10", "198.51.100.7"]), undefined);
    assert.equal(sasSignedIp([]), undefined);
    for (const ips of [["203.0.113.10"], ["203.0.113.11", "203.0.113.10", "203.0.113.12"], ["198.51.100.255", "198.51.101.0"]]) {
      const sip = sasSignedIp(ips);
      assert.ok(sip !== undefined, ips.join());
      assert.equal(admitted(sip), ips.length, `${sip} admits exactly ${ips.join(", ")}`);
    }
  });

  it("the account's SAS policy blocks anything valid longer than a reader SAS", () => {
    const policy = renderSasPolicy(30);
    assert.equal(policy.expirationAction, "Block");
    const m = /^([0-9]+)\.00:00:00$/.exec(policy.sasExpirationPeriod);
    assert.ok(m !== null);
    const w = readerSasWindow(new Date(), 30);
    const validDays = (Date.parse(w.expiry) - Date.parse(w.start)) / 86400_000;
    assert.ok(Number(m[1]) >= validDays && Number(m[1]) <= validDays + 1);
    assertFields(policy, "SasPolicyArgs");
  });
});

describe("Thanos objstore and Loki values against the reference", () => {
  const reference = referenceYaml("thanos-v0.42.4/objstore-azure.yaml");

  it("writer config: type AZURE, account and container, no secret, no user_assigned_id, no container creation", () => {
    const doc = parse(renderAzureObjstore({ storageAccount: "obsacct", container: "metrics" })) as { type: string; config: Record<string, unknown> };
    assert.equal(doc.type, (reference as { type: string }).type);
    assert.deepEqual(doc.config, { storage_account: "obsacct", container: "metrics", endpoint: "blob.core.windows.net", storage_create_container: false });
    assert.deepEqual(unknownKeyPaths(doc, reference), []);
  });

  it("reader config: the SAS in a connection string without an account key", () => {
    const doc = parse(renderAzureObjstore({ storageAccount: "obsacct", container: "metrics", sasToken: "?sv=2022-11-02&sr=c&sp=rl&sig=abc%3D" })) as { config: Record<string, unknown> };
    assert.equal(doc.config.storage_connection_string, "BlobEndpoint=https://obsacct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sr=c&sp=rl&sig=abc%3D");
    assert.equal(doc.config.storage_account_key, undefined);
    assert.equal(doc.config.storage_account, "obsacct", "Thanos requires the account name even with a connection string");
    assert.deepEqual(unknownKeyPaths(doc, reference), []);
  });

  it("Loki storage values are known to the loki 18.11.0 chart", () => {
    const text = readFileSync(join(REFERENCE_DIR, "charts/loki-18.11.0/values.yaml"), "utf8");
    const values = parse(text) as { loki: { storage: Record<string, unknown> } };
    // bucketNames is documented as a commented block in the chart's values; take its keys from there.
    const block = /^ {4}# bucketNames:\n((?: {4}# {3}\w+: .*\n)+)/m.exec(text);
    assert.ok(block !== null, "the chart documents loki.storage.bucketNames");
    const bucketNames = Object.fromEntries([...block[1].matchAll(/# {3}(\w+):/g)].map((m) => [m[1], "x"]));
    const ref = { loki: { ...values.loki, storage: { ...values.loki.storage, bucketNames } } };
    const doc = { loki: renderLokiAzureStorage("obsacct", "logs") };
    assert.deepEqual(unknownKeyPaths(doc, ref), []);
    assert.equal(doc.loki.storage.type, "azure");
    assert.deepEqual(doc.loki.storage.bucketNames, { chunks: "logs", ruler: "logs" });
    assert.deepEqual(doc.loki.storage.azure, { accountName: "obsacct", useManagedIdentity: false, useFederatedToken: true });
  });
});

describe("names", () => {
  it("storage account names are valid, stable, and differ across subscriptions and stacks", () => {
    const a = storageAccountName("stag-01", SUB);
    assert.match(a, STORAGE_ACCOUNT_NAME);
    assert.equal(a, storageAccountName("stag-01", SUB));
    assert.notEqual(a, storageAccountName("stag-01", "11111111-1111-4111-8111-111111111111"));
    assert.notEqual(a, storageAccountName("stag-02", SUB));
    assert.match(storageAccountName("a-very-long-stack-name-that-goes-on-01", SUB), STORAGE_ACCOUNT_NAME);
    assert.match(keyVaultName("a-very-long-stack-name-that-goes-on-01", SUB), KEY_VAULT_NAME);
  });

  it("role assignment names are name-based GUIDs of scope, principal and role", () => {
    const g = roleAssignmentGuid("/scope", "p1", CONTRIBUTOR);
    assert.match(g, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(g, roleAssignmentGuid("/scope", "p1", CONTRIBUTOR));
    assert.notEqual(g, roleAssignmentGuid("/scope", "p2", CONTRIBUTOR));
    assert.notEqual(g, roleAssignmentGuid("/scope", "p1", READER));
    assert.notEqual(g, roleAssignmentGuid("/scope2", "p1", CONTRIBUTOR));
  });

  it("zone-redundant storage where the region has zones, never geo-redundant", () => {
    assert.equal(storageSku("germanywestcentral"), "Standard_ZRS");
    assert.equal(storageSku("germanynorth"), "Standard_LRS");
  });
});

describe("NAT attachment drift", () => {
  const nat = "/subscriptions/s/resourceGroups/rg-net/providers/Microsoft.Network/natGateways/ng-stag-01-egress";
  it("passes while the subnet uses this NAT gateway (ARM ids compare case-insensitively)", () => {
    assert.equal(subnetNatDrift("stag-01", "aks-nodes", { natGateway: { id: nat.toUpperCase() } }, nat), undefined);
  });
  it("fails with the fix when the subnet's owner dropped or replaced the NAT gateway", () => {
    for (const subnet of [{}, { natGateway: { id: nat.replace("ng-stag-01", "ng-other") } }]) {
      const m = subnetNatDrift("stag-01", "aks-nodes", subnet, nat) ?? "";
      assert.match(m, /subnet aks-nodes .*not .*ng-stag-01-egress.*hub allowlists.*az network vnet subnet update --nat-gateway/);
    }
  });
});

describe("Azure recovery window in the configuration", () => {
  it("refuses retention.noncurrentVersions beyond blob soft delete's 365 days, naming the key", () => {
    const file = readStackFile(REPO_DIR, "stag-01");
    const values = structuredClone(file.values);
    (values.retention as Record<string, unknown>).noncurrentVersions = "400d";
    const r = validateStackConfig(values, { stack: "stag-01", secretKeys: file.secretKeys });
    assert.ok(!r.ok && r.issues.some((i) => i.key === "observability:retention.noncurrentVersions" && /at most 365d on Azure/.test(i.message)), JSON.stringify(r));
  });
});
