/**
 * Static egress on GCP: reserved external addresses on a Cloud NAT with `MANUAL_ONLY`
 * allocation, so every connection from the cluster leaves from addresses the hub can allowlist.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { CloudContext, EgressArgs, EgressOutputs } from "../types";
import { asGcp, networkProject } from "./context";

/** Arguments of {@link GcpEgress}: the seam's {@link EgressArgs} plus the stack context. */
export interface GcpEgressArgs extends EgressArgs {
  context: CloudContext;
}

const COMPUTE = "https://www.googleapis.com/compute/v1";

/** Self link of a VPC network, the form GCP stores (no perpetual diff). */
export function networkSelfLink(project: string, network: string): string {
  return `${COMPUTE}/projects/${project}/global/networks/${network}`;
}

/** Self link of a regional subnetwork. */
export function subnetworkSelfLink(project: string, region: string, subnetwork: string): string {
  return `${COMPUTE}/projects/${project}/regions/${region}/subnetworks/${subnetwork}`;
}

/** Cloud NAT settings that do not depend on resources (a pure renderer; tests read it). */
export function renderNatSettings(subnetwork: string): {
  natIpAllocateOption: "MANUAL_ONLY";
  sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS";
  subnetworks: { name: string; sourceIpRangesToNats: string[] }[];
  logConfig: { enable: boolean; filter: "ERRORS_ONLY" };
} {
  return {
    // MANUAL_ONLY: Cloud NAT never adds auto-allocated addresses the hub does not know.
    natIpAllocateOption: "MANUAL_ONLY",
    sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
    // Nodes and pods (secondary ranges) of the cluster subnetwork only.
    subnetworks: [{ name: subnetwork, sourceIpRangesToNats: ["ALL_IP_RANGES"] }],
    logConfig: { enable: true, filter: "ERRORS_ONLY" },
  };
}

/**
 * A Cloud Router and Cloud NAT for the cluster's subnetwork, with `count` reserved regional
 * external addresses (protected, retained on delete: the hub allowlists them) or, with
 * `egress.mode: existing`, the named addresses adopted. NAT, router and addresses live in the
 * VPC's project (the shared VPC host project when `network.project` is set) and region.
 * One NAT per subnetwork: if the network already has a NAT covering this subnetwork, GCP
 * refuses the second one; adopt by removing the old NAT's mapping first.
 */
export class GcpEgress extends pulumi.ComponentResource implements EgressOutputs {
  public readonly egressIps: pulumi.Output<string[]>;
  /** Self links of the NAT addresses. */
  public readonly addressSelfLinks: pulumi.Output<string[]>;
  public readonly routerName: pulumi.Output<string>;
  public readonly natName: pulumi.Output<string>;

  constructor(name: string, args: GcpEgressArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:gcp:Egress", name, {}, opts);
    const ctx = asGcp(args.context);
    const { config } = ctx;
    const project = networkProject(ctx);
    const region = config.region;
    const child = { parent: this, provider: ctx.provider };
    const { egress } = args;

    let addresses: { address: pulumi.Output<string>; selfLink: pulumi.Output<string> }[];
    if (egress.mode === "create") {
      addresses = Array.from({ length: egress.count }, (_, i) => {
        const a = new gcp.compute.Address(
          `${name}-ip-${i}`,
          {
            name: `${ctx.stack}-egress-${i}`,
            project,
            region,
            addressType: "EXTERNAL",
            networkTier: "PREMIUM",
            description: `Static egress ${i} of stack ${ctx.stack} (allowlisted by the hub)`,
            labels: ctx.labels,
          },
          { ...child, protect: true, retainOnDelete: true },
        );
        return { address: a.address, selfLink: a.selfLink };
      });
    } else {
      // Adopted addresses are read, not managed: destroying the stack never releases them.
      addresses = egress.addresses.map((addressName) => {
        const a = gcp.compute.getAddressOutput({ name: addressName, project, region }, { parent: this, provider: ctx.provider });
        return { address: a.address, selfLink: a.selfLink };
      });
    }

    const router = new gcp.compute.Router(
      `${name}-router`,
      { name: `${ctx.stack}-egress`, project, region, network: networkSelfLink(project, config.network.network), description: `Cloud NAT router of stack ${ctx.stack}` },
      child,
    );
    const nat = new gcp.compute.RouterNat(
      `${name}-nat`,
      {
        name: `${ctx.stack}-egress`,
        project,
        region,
        router: router.name,
        natIps: addresses.map((a) => a.selfLink),
        ...renderNatSettings(subnetworkSelfLink(project, region, config.network.subnetwork)),
      },
      child,
    );

    this.egressIps = pulumi.all(addresses.map((a) => a.address));
    this.addressSelfLinks = pulumi.all(addresses.map((a) => a.selfLink));
    this.routerName = router.name;
    this.natName = nat.name;
    this.registerOutputs({ egressIps: this.egressIps, addressSelfLinks: this.addressSelfLinks, routerName: this.routerName, natName: this.natName });
  }
}
