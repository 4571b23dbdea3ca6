/**
 * A web-identity trust policy (`sts:AssumeRoleWithWebIdentity` from an EKS issuer's IAM OIDC
 * provider) evaluated with the IAM policy evaluator, as STS would for a token's `sub` and `aud`.
 *
 * The evaluator knows the `:sub`/`:aud` condition keys of a fixed list of identity providers only
 * and drops EKS's `<host>/id/<id>:sub`; the issuer prefix is therefore renamed to one it knows,
 * consistently in the policy and in the request (a pure renaming: the statement is as rendered),
 * and the decision fails when any condition key was still dropped.
 */
import assert from "node:assert/strict";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { PolicyDocument } from "../../components/clouds/aws";

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

const ALIAS = "accounts.google.com";

/** How STS decides a web-identity request for the role `roleArn` whose trust is `trust`. */
export async function webIdentityDecision(args: {
  trust: PolicyDocument;
  /** The issuer's host and path, the prefix of the trust's condition keys. */
  issuerHostPath: string;
  roleArn: string;
  accountId: string;
  /** The IAM OIDC provider the token comes through. */
  provider: string;
  claims: { sub: string; aud: string };
}): Promise<Decision> {
  const prefix = `${args.issuerHostPath}:`;
  const renamed = JSON.parse(JSON.stringify(args.trust).split(prefix).join(`${ALIAS}:`)) as PolicyDocument;
  assert.notDeepEqual(renamed, args.trust, "the rendered policy conditions on the issuer's keys");
  const r = await runSimulation({
    request: {
      principal: args.provider,
      action: "sts:AssumeRoleWithWebIdentity",
      resource: { resource: args.roleArn, accountId: args.accountId },
      contextVariables: { [`${ALIAS}:sub`]: args.claims.sub, [`${ALIAS}:aud`]: args.claims.aud },
    },
    identityPolicies: [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: renamed,
  }, {});
  if (r.resultType === "error") throw new Error(JSON.stringify(r.errors));
  assert.deepEqual(r.resultType === "single" ? r.result.ignoredContextKeys : [], [], "no condition key may be dropped");
  return r.overallResult as Decision;
}
