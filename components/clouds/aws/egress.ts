/**
 * Static egress of an AWS stack: Elastic IPs on NAT gateways that every private route table
 * defaults to, so everything the cluster sends leaves from addresses the peer can allowlist.
 */
import { isIP } from "node:net";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CloudContext, EgressArgs, EgressOutputs } from "../types";
import { asAws } from "./context";

/** Arguments of {@link AwsEgress}: the seam's egress arguments plus the stack's AWS context. */
export interface AwsEgressArgs extends EgressArgs {
  context: CloudContext;
}

/** Which NAT gateway each private route table defaults to: spread round-robin. */
export function routeAssignment(routeTables: number, gateways: number): number[] {
  if (gateways < 1) throw new Error("at least one NAT gateway is needed");
  return Array.from({ length: routeTables }, (_, i) => i % gateways);
}

/** Which public subnet each NAT gateway sits in: round-robin, so gateways spread over zones. */
export function subnetAssignment(gateways: number, subnets: number): number[] {
  if (subnets < 1) throw new Error("at least one public subnet is needed");
  return Array.from({ length: gateways }, (_, i) => i % subnets);
}

/**
 * The stack's static egress addresses.
 *
 * `create`: `count` Elastic IPs (protected and retained: peers allowlist them, losing one
 * breaks every allowlist), each on a NAT gateway in the public subnets, and a default route
 * (0.0.0.0/0) in each private route table to one of them. A route table that already has a
 * default route must be freed first (AWS refuses a second one), or its NAT's addresses adopted
 * with `existing`.
 *
 * `existing`: the given addresses are adopted (allocation ids `eipalloc-…`, or public IPs) and
 * only read; the NAT and routes that use them are left alone.
 */
export class AwsEgress extends pulumi.ComponentResource implements EgressOutputs {
  public readonly egressIps: pulumi.Output<string[]>;
  /** NAT gateway ids (empty when adopting). */
  public readonly natGatewayIds: pulumi.Output<string[]>;
  /** Allocation ids of the egress addresses. */
  public readonly allocationIds: pulumi.Output<string[]>;

  constructor(name: string, args: AwsEgressArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:aws:Egress", name, {}, opts);
    const ctx = asAws(args.context);
    const { network } = ctx.config;
    const { egress } = args;
    const child = { parent: this, provider: ctx.provider };

    if (egress.mode === "existing") {
      const adopted = egress.addresses.map((address, i) => {
        if (isIP(address) !== 0) {
          const eip = aws.ec2.getElasticIpOutput({ publicIp: address }, child);
          return { publicIp: eip.publicIp, allocationId: eip.id };
        }
        // Read, not managed: the adopted address outlives this stack whatever happens to it.
        const eip = aws.ec2.Eip.get(`${name}-eip-${i}`, address, undefined, child);
        return { publicIp: eip.publicIp, allocationId: eip.allocationId };
      });
      this.egressIps = pulumi.all(adopted.map((a) => a.publicIp));
      this.allocationIds = pulumi.all(adopted.map((a) => a.allocationId));
      this.natGatewayIds = pulumi.output([]);
    } else {
      const subnets = subnetAssignment(egress.count, network.publicSubnetIds.length);
      const eips: aws.ec2.Eip[] = [];
      const nats: aws.ec2.NatGateway[] = [];
      for (let i = 0; i < egress.count; i++) {
        const eip = new aws.ec2.Eip(`${name}-eip-${i}`, {
          domain: "vpc",
          tags: { ...ctx.labels, Name: `${ctx.stack}-egress-${i}` },
        }, { ...child, protect: true, retainOnDelete: true });
        const nat = new aws.ec2.NatGateway(`${name}-nat-${i}`, {
          allocationId: eip.allocationId,
          subnetId: network.publicSubnetIds[subnets[i]],
          connectivityType: "public",
          tags: { ...ctx.labels, Name: `${ctx.stack}-egress-${i}` },
        }, child);
        eips.push(eip);
        nats.push(nat);
      }
      routeAssignment(network.privateRouteTableIds.length, nats.length).forEach((g, j) => {
        new aws.ec2.Route(`${name}-default-route-${j}`, {
          routeTableId: network.privateRouteTableIds[j],
          destinationCidrBlock: "0.0.0.0/0",
          natGatewayId: nats[g].id,
        }, child);
      });
      this.egressIps = pulumi.all(eips.map((e) => e.publicIp));
      this.allocationIds = pulumi.all(eips.map((e) => e.allocationId));
      this.natGatewayIds = pulumi.all(nats.map((n) => n.id));
    }

    this.registerOutputs({ egressIps: this.egressIps, natGatewayIds: this.natGatewayIds, allocationIds: this.allocationIds });
  }
}
