/**
 * Allowlisted exposure and static egress across the example fleet, as the offline engine
 * records it: every LoadBalancer admits exactly its peers' egress addresses, NetworkPolicies
 * admit those and the cluster's own ranges only, each cloud gets its load-balancer
 * annotations, a spoke that cannot read the hub exposes nothing (and the hub refuses it), and
 * the egress addresses are reserved, protected and exported per cloud.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { asReference, planFleet, reveal, runStack, SPOKES_ENV, type FleetPlan, type RecordedResource, type StackRun } from "../offline";
import { at, output, outputs, pemBlocks, record, recordedCa, str, strings, T } from "./fixtures/recorded";

const HUB = "ops-01";
const SPOKES = ["dev-01", "edge-otc-01", "prod-01", "stag-01"] as const;
const HUB_TLS_SECRETS = ["thanos-grpc-tls", "loki-gateway-tls", "alertmanager-hub-client-tls"];

/** What each cloud's public L4 load balancer needs, spelled out independently of the code. */
const LB_ANNOTATIONS: Record<string, Record<string, string>> = {
  aws: {
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    // IP targets over TCP/TLS do not preserve the client address by default ("Edit target group
    // attributes for your Network Load Balancer", Client IP preservation,
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html);
    // without it the pods' ipBlock allowlists see the NLB's private address.
    "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes": "preserve_client_ip.enabled=true",
  },
  gcp: { "cloud.google.com/l4-rbs": "enabled" },
  azure: { "service.beta.kubernetes.io/azure-load-balancer-internal": "false" },
  // Cloud s3 adopts the operator's annotations verbatim (Pulumi.edge-otc-01.yaml network.loadBalancerAnnotations).
  s3: { "kubernetes.io/elb.class": "performance", "kubernetes.io/elb.id": "7b3a1c2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" },
};
const FOREIGN_ANNOTATION: Record<string, RegExp> = {
  aws: /cloud\.google\.com|azure/,
  gcp: /aws-load-balancer|azure/,
  azure: /aws-load-balancer|cloud\.google\.com/,
  s3: /aws-load-balancer|cloud\.google\.com|azure/,
};

let plan: FleetPlan;
let hubAsRead: StackRun;
let hub: StackRun;

function runOf(stack: string): StackRun {
  const run = plan.runs.find((r) => r.stack === stack);
  assert.ok(run !== undefined, `no run of ${stack}`);
  assert.equal(run.error, undefined, `${stack} failed: ${run.error?.message}`);
  return run;
}

function plain(r: RecordedResource): Record<string, unknown> {
  return record(reveal(r.inputs), `${r.name} inputs`);
}

/** LoadBalancer Services of a run (whatever else the stack adds). */
function loadBalancers(run: StackRun): RecordedResource[] {
  return run.resources.filter((r) => r.type === T.service && at(plain(r), "spec", "type") === "LoadBalancer");
}

function cidrs(ips: readonly string[]): string[] {
  return [...new Set(ips)].map((ip) => `${ip}/32`).sort();
}

function clusterCidrs(run: StackRun): string[] {
  return strings(at(run.config, "network", "cidrs"), `${run.stack} network.cidrs`);
}

/** Resources of a type named `<stack>-egress-<prefix><i>`, in index order. */
function egressResources(run: StackRun, type: string, prefix: string): RecordedResource[] {
  const re = new RegExp(`^${run.stack}-egress-${prefix}(\\d+)$`);
  return run.resources
    .filter((r) => r.type === type && re.test(r.name))
    .sort((a, b) => Number(re.exec(a.name)?.[1]) - Number(re.exec(b.name)?.[1]));
}

before(async () => {
  plan = await planFleet();
  assert.ok(plan.bootstrap !== undefined);
  hubAsRead = plan.bootstrap;
  hub = runOf(HUB);
  for (const s of SPOKES) runOf(s);
});

describe("exposure: LoadBalancers admit exactly the peers' egress addresses", () => {
  it("the hub's egress addresses are stable across its bootstrap and final runs", () => {
    assert.deepEqual(strings(at(outputs(hub), "egressIps"), "egressIps"), strings(at(outputs(hubAsRead), "egressIps"), "egressIps"));
  });

  for (const s of SPOKES) {
    it(`${s}: both hub endpoints are LoadBalancers whose source ranges are the hub's egress IPs as /32, sorted`, () => {
      const run = runOf(s);
      assert.equal(at(outputs(run), "exposed"), true);
      const lbs = loadBalancers(run);
      assert.deepEqual(lbs.map((r) => r.name).filter((n) => n.endsWith("-hub")).sort(), ["loki-gateway-hub", "thanos-query-hub"]);
      const hubIps = strings(at(outputs(hubAsRead), "egressIps"), "hub egressIps");
      const expected = cidrs(hubIps);
      assert.equal(expected.length, 2);
      // The edges the spoke's receiver accepts push logs through the gateway and write to the receiver.
      const accepted = (at(outputs(run), "receiver") === undefined ? [] : strings(at(outputs(run), "receiver", "edges"), `${s} receiver.edges`));
      const edgeIps = accepted.flatMap((e) => strings(at(outputs(runOf(e)), "egressIps"), `${e} egressIps`));
      assert.equal(lbs.some((r) => r.name === "thanos-receive-edges"), edgeIps.length > 0, `${s}: a receiver LoadBalancer exactly when an edge is accepted`);
      if (s === "dev-01") assert.deepEqual(accepted, ["edge-dev-01"]);
      for (const lb of lbs) {
        const want = lb.name === "thanos-receive-edges" ? cidrs(edgeIps) : lb.name === "loki-gateway-hub" ? cidrs([...hubIps, ...edgeIps]) : expected;
        assert.deepEqual(at(plain(lb), "spec", "loadBalancerSourceRanges"), want, `${s} ${lb.name}`);
        assert.equal(at(plain(lb), "spec", "externalTrafficPolicy"), "Local", `${s} ${lb.name} keeps client addresses`);
      }
    });
  }

  it("the hub's Alertmanager LoadBalancer admits exactly the exposed spokes' egress IPs", () => {
    const lbs = loadBalancers(hub);
    assert.deepEqual(lbs.map((r) => r.name), ["alertmanager-spokes"]);
    const spokeIps = SPOKES.flatMap((s) => strings(at(outputs(runOf(s)), "egressIps"), `${s} egressIps`));
    assert.equal(spokeIps.length, 7);
    assert.deepEqual(at(plain(lbs[0]), "spec", "loadBalancerSourceRanges"), cidrs(spokeIps));
  });

  for (const s of [...SPOKES, HUB]) {
    it(`${s}: on each exposed endpoint's target ports, the NetworkPolicy admits its peers' /32 and the cluster CIDRs only, and no pod`, () => {
      // Policies come from the flow table now (components/exposure/flows.ts); the old
      // per-endpoint policy also admitted every pod of the namespace on these ports (the defect).
      const run = s === HUB ? hub : runOf(s);
      const lbs = loadBalancers(run);
      assert.ok(lbs.length > 0);
      for (const lb of lbs) {
        const svc = plain(lb);
        const selector = at(svc, "spec", "selector");
        const nps = run.resources.filter((r) => r.type === T.networkPolicy && JSON.stringify(at(plain(r), "spec", "podSelector", "matchLabels")) === JSON.stringify(selector));
        assert.equal(nps.length, 1, `${s}: one NetworkPolicy selects the pods of ${lb.name}`);
        const spec = record(at(plain(nps[0]), "spec"), "spec");
        assert.deepEqual(spec.policyTypes, ["Ingress"]);
        const targetPorts = (at(svc, "spec", "ports") as unknown[]).map((p) => at(p, "targetPort"));
        const rules = (spec.ingress as unknown[]).map((r) => record(r, "rule")).filter((r) => (r.ports as unknown[]).some((p) => targetPorts.includes(at(p, "port"))));
        const from = rules.flatMap((r) => r.from as unknown[]);
        const blocks = from.filter((f) => at(f, "ipBlock") !== undefined).map((f) => record(at(f, "ipBlock"), "ipBlock"));
        for (const b of blocks) assert.deepEqual(Object.keys(b), ["cidr"], `${s} ${lb.name}: no except clauses`);
        const peers = strings(at(svc, "spec", "loadBalancerSourceRanges"), "sourceRanges");
        assert.deepEqual(blocks.map((b) => b.cidr).sort(), [...peers, ...clusterCidrs(run)].sort(), `${s} ${lb.name}: peers and cluster ranges`);
        assert.deepEqual(from.filter((f) => at(f, "ipBlock") === undefined), [], `${s} ${lb.name}: no pod is admitted on the exposed ports`);
        for (const r of rules) for (const p of r.ports as unknown[]) assert.deepEqual(p, { port: at(p, "port"), protocol: "TCP" });
      }
    });
  }

  for (const s of [...SPOKES, HUB]) {
    it(`${s}: LoadBalancers carry the annotations of its cloud and none of another's`, () => {
      const run = s === HUB ? hub : runOf(s);
      const cloud = str(at(run.config, "cloud"), "cloud");
      for (const lb of loadBalancers(run)) {
        const ann = record(at(plain(lb), "metadata", "annotations"), "annotations");
        for (const [k, v] of Object.entries(LB_ANNOTATIONS[cloud])) assert.equal(ann[k], v, `${s} ${lb.name} ${k}`);
        for (const k of Object.keys(ann)) assert.doesNotMatch(k, FOREIGN_ANNOTATION[cloud], `${s} ${lb.name}`);
      }
    });
  }
});

describe("exposure: a spoke that cannot read the hub fails closed", () => {
  const closed = new Map<string, StackRun>();
  let hubWithClosed: StackRun;

  before(async () => {
    const runs = await Promise.all(SPOKES.map((s) => runStack({ stack: s, references: {} })));
    for (const r of runs) closed.set(r.stack, r);
    hubWithClosed = await runStack({
      stack: HUB,
      references: { "dev-01": asReference(closed.get("dev-01") as StackRun), "prod-01": asReference(runOf("prod-01")), "stag-01": asReference(runOf("stag-01")) },
      env: { [SPOKES_ENV]: null },
    });
  });

  for (const s of SPOKES) {
    it(`${s}: no LoadBalancer, no allowlist policy, no secret trusting anything but its own CA, and exposed = false`, () => {
      const run = closed.get(s);
      assert.ok(run !== undefined);
      assert.equal(run.error, undefined, run.error?.message);
      assert.equal(at(outputs(run), "exposed"), false);
      assert.deepEqual(loadBalancers(run).map((r) => r.name), []);
      assert.deepEqual(run.resources.filter((r) => r.type === "sovereign:exposure:ExposedEndpoint").map((r) => r.name), []);
      // The flow policies remain (in-cluster isolation), but none admits an address outside the cluster.
      for (const np of run.resources.filter((r) => r.type === T.networkPolicy)) {
        const cidrsAdmitted = ((at(plain(np), "spec", "ingress") as unknown[]) ?? []).flatMap((r) => (at(r, "from") as unknown[]).map((f) => at(f, "ipBlock", "cidr"))).filter((c) => c !== undefined);
        assert.deepEqual(cidrsAdmitted, [], `${s} ${np.name} admits no address`);
      }
      const secrets = run.resources.filter((r) => r.type === T.secret);
      assert.deepEqual(secrets.filter((r) => r.name === "alertmanager-hub-client-tls").map((r) => r.name), [], "no client of the hub's Alertmanager");
      // Secrets the workloads mount may exist (the hub-facing servers' included), but they trust
      // no CA except the spoke's own: nothing outside the spoke can authenticate.
      const own = pemBlocks(output(run, "thanos", "caPem"));
      assert.deepEqual(own, pemBlocks(recordedCa(run, `${s}-pki-ca-cert`).certPem));
      let checked = 0;
      for (const sec of secrets) {
        for (const field of ["stringData", "data"]) {
          const ca = at(plain(sec), field, "ca.crt");
          if (typeof ca !== "string") continue;
          const pem = field === "data" ? Buffer.from(ca, "base64").toString("utf8") : ca;
          for (const block of pemBlocks(pem)) assert.ok(own.includes(block), `${s} secret ${sec.name} trusts a CA that is not the spoke's own`);
          if (HUB_TLS_SECRETS.includes(sec.name)) checked++;
        }
      }
      // Whichever hub-facing server secrets exist were among those checked.
      assert.equal(checked, secrets.filter((r) => HUB_TLS_SECRETS.includes(r.name)).length);
      // The spoke's own contract is still published, so the hub can name it.
      assert.equal(output(run, "name"), s);
    });
  }

  it("the hub refuses the closed spoke, naming it and the fix, before registering any workload resource", () => {
    assert.ok(hubWithClosed.error !== undefined, "the hub must not deploy with a spoke that exposes nothing");
    const msg = hubWithClosed.error.message;
    assert.match(msg, /'dev-01'/);
    assert.match(msg, /exposed/);
    assert.match(msg, /pulumi up -s dev-01/);
    assert.doesNotMatch(msg, /prod-01|stag-01/, "only the broken spoke is named");
    const registered = hubWithClosed.resources.filter((r) => r.type === T.service || r.type === T.secret || r.type.startsWith("tls:"));
    assert.deepEqual(registered.map((r) => r.name), []);
  });
});

describe("egress: static addresses per cloud, protected and exported", () => {
  const protectedBoth = (r: RecordedResource): void => {
    assert.equal(r.options.protect, true, `${r.name} protect`);
    assert.equal(r.options.retainOnDelete, true, `${r.name} retainOnDelete`);
  };
  const egressCount = (run: StackRun): number => Number(at(run.config, "egress", "count"));

  for (const s of ["dev-01", HUB]) {
    it(`${s} (AWS): Elastic IPs in the VPC, one NAT gateway each, protected, exported as egressIps`, () => {
      for (const run of s === HUB ? [hubAsRead, hub] : [runOf(s)]) {
        const eips = egressResources(run, "aws:ec2/eip:Eip", "eip-");
        assert.equal(eips.length, egressCount(run));
        for (const e of eips) {
          protectedBoth(e);
          assert.equal(plain(e).domain, "vpc");
        }
        const nats = egressResources(run, "aws:ec2/natGateway:NatGateway", "nat-");
        assert.equal(nats.length, eips.length);
        assert.deepEqual(nats.map((n) => plain(n).allocationId), eips.map((e) => e.outputs.allocationId), "each NAT uses its EIP");
        const subnets = strings(at(run.config, "network", "publicSubnetIds"), "publicSubnetIds");
        for (const n of nats) {
          assert.equal(plain(n).connectivityType, "public");
          assert.ok(subnets.includes(str(plain(n).subnetId, "subnetId")), `${n.name} sits in a public subnet`);
        }
        assert.deepEqual(at(outputs(run), "egressIps"), eips.map((e) => e.outputs.publicIp));
      }
    });
  }

  it("prod-01 (GCP): reserved external addresses on a MANUAL_ONLY Cloud NAT, protected, exported as egressIps", () => {
    const run = runOf("prod-01");
    const addresses = egressResources(run, "gcp:compute/address:Address", "ip-");
    assert.equal(addresses.length, egressCount(run));
    for (const a of addresses) {
      protectedBoth(a);
      assert.equal(plain(a).addressType, "EXTERNAL");
      assert.equal(plain(a).region, at(run.config, "region"));
    }
    const nat = run.resources.find((r) => r.type === "gcp:compute/routerNat:RouterNat" && r.name === "prod-01-egress-nat");
    assert.ok(nat !== undefined);
    assert.equal(plain(nat).natIpAllocateOption, "MANUAL_ONLY");
    assert.deepEqual(plain(nat).natIps, addresses.map((a) => a.outputs.selfLink));
    assert.deepEqual(at(outputs(run), "egressIps"), addresses.map((a) => a.outputs.address));
  });

  it("stag-01 (Azure): Standard static public IPs on a NAT gateway, protected, exported as egressIps", () => {
    const run = runOf("stag-01");
    const ips = egressResources(run, "azure-native:network:PublicIPAddress", "ip-");
    assert.equal(ips.length, egressCount(run));
    for (const ip of ips) {
      protectedBoth(ip);
      assert.equal(at(plain(ip), "sku", "name"), "Standard");
      assert.equal(plain(ip).publicIPAllocationMethod, "Static");
      assert.equal(plain(ip).publicIPAddressVersion, "IPv4");
    }
    const nat = run.resources.find((r) => r.type === "azure-native:network:NatGateway" && r.name === "stag-01-egress-nat");
    assert.ok(nat !== undefined);
    assert.equal(at(plain(nat), "sku", "name"), "Standard");
    assert.deepEqual(plain(nat).publicIpAddresses, ips.map((ip) => ({ id: ip.id })));
    assert.deepEqual(at(outputs(run), "egressIps"), ips.map((ip) => ip.outputs.ipAddress));
  });
});
