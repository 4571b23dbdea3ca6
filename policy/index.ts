/**
 * The `sovereign-observability` CrossGuard policy pack. Run it with the real CLI:
 *
 *   pulumi preview --policy-pack policy --policy-pack-config <(npx tsx policy/stack-config.ts <stack>) -s <stack>
 *
 * The policies themselves live in ./policies (the offline plan evaluates the same objects).
 */
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./policies";

new PolicyPack("sovereign-observability", {
  description:
    "Sovereignty (data residency, no replication out of the zone, local writers, an ephemeral hub read path), the hardening checklist for S3, GCS, Azure Storage, mTLS and exposure, " +
    "and the keyless hub reader (no stored reader credential in a federated spoke, Azure shared key only for the hub's SAS, issuer trust bound to exactly one subject and audience).",
  policies: allPolicies,
});
