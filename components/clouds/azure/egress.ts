/**
 * Static egress on Azure: Standard public IPs on a NAT gateway attached to the cluster's node
 * subnet, so every connection from the cluster leaves from addresses the hub can allowlist.
 */
import * as network from "@pulumi/azure-native/network";
import * as resources from "@pulumi/azure-native/resources";
import * as pulumi from "@pulumi/pulumi";
import type { CloudContext, EgressArgs, EgressOutputs } from "../types";
import { asAzure } from "./context";
import { natGatewayName, parseArmId } from "./names";
import { renderSubnetNatTemplate, subnetNatDrift } from "./render";

/** Arguments of {@link AzureEgress}: the seam's {@link EgressArgs} plus the stack context. */
export interface AzureEgressArgs extends EgressArgs {
  context: CloudContext;
}

/** Public IP settings of one egress address (a pure renderer; tests read it). */
export function renderPublicIpSettings(): {
  sku: { name: "Standard"; tier: "Regional" };
  publicIPAllocationMethod: "Static";
  publicIPAddressVersion: "IPv4";
  idleTimeoutInMinutes: number;
} {
  // Standard + Static: the only combination a NAT gateway accepts, and an address that never changes.
  return { sku: { name: "Standard", tier: "Regional" }, publicIPAllocationMethod: "Static", publicIPAddressVersion: "IPv4", idleTimeoutInMinutes: 4 };
}

/**
 * Egress of one stack.
 *
 * `mode: create`: `count` Standard static public IPs (protected, retained on delete: the hub
 * allowlists them) on a Standard NAT gateway, both in the network's resource group and region,
 * attached to the cluster's node subnet. The subnet belongs to whoever owns the VNet, so it is
 * not managed here (a `network.Subnet` of the same name would take it over, and a property this
 * program does not know would be reset): the attachment is an ARM deployment that reads the
 * subnet as it is and writes it back with `natGateway` set (see {@link renderSubnetNatTemplate}).
 * Outbound traffic of a subnet with a NAT gateway uses the NAT gateway before any load balancer
 * outbound rule; for AKS, switch the cluster to `--outbound-type userAssignedNATGateway` once
 * attached so that AKS stops provisioning outbound IPs of its own. The NAT gateway and the
 * attachment are retained on delete: removing either would change the cluster's egress address.
 * Because the attachment writes the subnet once, every run reads the subnet back
 * (`network.getSubnet`, after the attachment exists) and fails with {@link subnetNatDrift}'s
 * message when the subnet no longer uses the NAT gateway: the network owner must keep it set.
 *
 * `mode: existing`: the cluster already leaves through the given public IPs (its own NAT gateway
 * or load balancer outbound IPs), named by ARM id; they are read, not managed, and nothing is
 * attached.
 */
export class AzureEgress extends pulumi.ComponentResource implements EgressOutputs {
  public readonly egressIps: pulumi.Output<string[]>;
  /** ARM ids of the egress public IPs. */
  public readonly publicIpIds: pulumi.Output<string[]>;
  /** ARM id of the NAT gateway (`mode: create`). */
  public readonly natGatewayId?: pulumi.Output<string>;

  constructor(name: string, args: AzureEgressArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:azure:Egress", name, {}, opts);
    const ctx = asAzure(args.context);
    const { config } = ctx;
    const { network: net, cluster } = config;
    const location = config.region;
    const child = { parent: this, provider: ctx.provider };
    const { egress } = args;

    if (egress.mode === "create") {
      const ips = Array.from(
        { length: egress.count },
        (_, i) =>
          new network.PublicIPAddress(
            `${name}-ip-${i}`,
            { publicIpAddressName: `pip-${ctx.stack}-egress-${i}`, resourceGroupName: net.resourceGroup, location, ...renderPublicIpSettings(), tags: ctx.labels },
            { ...child, protect: true, retainOnDelete: true },
          ),
      );
      const nat = new network.NatGateway(
        `${name}-nat`,
        {
          natGatewayName: natGatewayName(ctx.stack),
          resourceGroupName: net.resourceGroup,
          location,
          sku: { name: "Standard" },
          idleTimeoutInMinutes: 4,
          publicIpAddresses: ips.map((ip) => ({ id: ip.id })),
          tags: ctx.labels,
        },
        { ...child, retainOnDelete: true },
      );
      const attachment = new resources.Deployment(
        `${name}-subnet-nat`,
        {
          deploymentName: `${ctx.stack}-egress-subnet-nat`,
          resourceGroupName: net.resourceGroup,
          properties: {
            mode: "Incremental",
            template: renderSubnetNatTemplate(),
            parameters: { virtualNetworkName: { value: net.virtualNetwork }, subnetName: { value: net.subnet }, natGatewayId: { value: nat.id } },
          },
        },
        { ...child, retainOnDelete: true },
      );
      this.natGatewayId = nat.id;
      // Read after the attachment (its name gates the invoke on the first run), then on every run.
      const subnet = network.getSubnetOutput(
        { resourceGroupName: attachment.name.apply(() => net.resourceGroup), virtualNetworkName: net.virtualNetwork, subnetName: net.subnet },
        { parent: this, provider: ctx.provider },
      );
      const attached = pulumi.all([subnet, nat.id]).apply(([s, natId]) => {
        const drift = subnetNatDrift(ctx.stack, net.subnet, s, natId);
        if (drift !== undefined) throw new Error(drift);
        return natId;
      });
      // The exported egress addresses are true only while the subnet uses the NAT gateway.
      this.egressIps = pulumi.all([attached, ...ips.map((ip) => ip.ipAddress.apply((a) => a ?? ""))]).apply(([, ...addresses]) => addresses);
      this.publicIpIds = pulumi.all(ips.map((ip) => ip.id));
    } else {
      const adopted = egress.addresses.map((id) => {
        const parsed = parseArmId(id, "Microsoft.Network/publicIPAddresses");
        if (parsed.subscriptionId.toLowerCase() !== cluster.subscriptionId.toLowerCase()) {
          throw new Error(`egress address ${id} lies in subscription ${parsed.subscriptionId}, not the stack's ${cluster.subscriptionId}`);
        }
        const ip = network.getPublicIPAddressOutput({ resourceGroupName: parsed.resourceGroup, publicIpAddressName: parsed.name }, { parent: this, provider: ctx.provider });
        return ip.apply((r) => {
          if (r.ipAddress === undefined || r.ipAddress === "") throw new Error(`egress address ${id} has no IP address allocated`);
          return r.ipAddress;
        });
      });
      this.egressIps = pulumi.all(adopted);
      this.publicIpIds = pulumi.output([...egress.addresses]);
    }
    this.registerOutputs({ egressIps: this.egressIps, publicIpIds: this.publicIpIds, natGatewayId: this.natGatewayId });
  }
}
