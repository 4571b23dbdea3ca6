/**
 * Egress of a cluster next to an S3-compatible service: adopted. The network is the operator's
 * (on-premises, or a sovereign cloud's VPC this program does not manage), so the addresses its
 * traffic leaves from are declared, never created.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CloudContext, EgressArgs, EgressOutputs } from "../types";
import { asS3 } from "./context";

/** Arguments of {@link S3CompatibleEgress}: the seam's {@link EgressArgs} plus the stack context. */
export interface S3CompatibleEgressArgs extends EgressArgs {
  context: CloudContext;
}

/** The declared egress addresses (`egress.mode: existing`, `egress.addresses`): the hub allowlists them. */
export class S3CompatibleEgress extends pulumi.ComponentResource implements EgressOutputs {
  public readonly egressIps: pulumi.Output<string[]>;

  constructor(name: string, args: S3CompatibleEgressArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:s3:Egress", name, {}, opts);
    const ctx = asS3(args.context);
    if (args.egress.mode !== "existing") throw new Error(`stack ${ctx.stack}: cloud s3 adopts its egress (egress.mode: existing)`);
    this.egressIps = pulumi.output([...args.egress.addresses]);
    this.registerOutputs({ egressIps: this.egressIps });
  }
}
