/**
 * Every policy of the `sovereign-observability` pack, exported one by one (for tests and the
 * offline plan) and as the list the pack serves.
 */
import type { Policies } from "@pulumi/policy";
import { awsPolicies } from "./aws";
import { gcpAzurePolicies } from "./gcp-azure";
import { hubReaderPolicies } from "./hub-reader";
import { platformPolicies } from "./platform";
import { s3CompatiblePolicies } from "./s3-compatible";
import { sovereigntyPolicies } from "./sovereignty";

export * from "./aws";
export * from "./gcp-azure";
export * from "./hub-reader";
export * from "./platform";
export * from "./s3-compatible";
export * from "./sovereignty";

/** The pack's policies: sovereignty first, then hardening per cloud, the hub's read access, then the platform. */
export const allPolicies: Policies = [...sovereigntyPolicies, ...awsPolicies, ...gcpAzurePolicies, ...s3CompatiblePolicies, ...hubReaderPolicies, ...platformPolicies];
