/**
 * The fleet's DNS: one authoritative resolver per cluster (each cluster has its own
 * `cluster.local`, as CoreDNS gives every Kubernetes cluster), plus the public names the plan
 * publishes (`thanos.<spoke>.obs.example.eu`, `alertmanager.<hub>.obs.example.eu`), answered by
 * every resolver. Records follow the Kubernetes DNS specification
 * (https://github.com/kubernetes/dns/blob/master/docs/specification.md): a Service name has A
 * records, each named port `_<port>._<proto>.<svc>.<ns>.svc.<zone>` has SRV records, and a
 * headless Service's SRV records name each ready pod (`<hostname>.<subdomain>...` for pods whose
 * subdomain is that Service, `<a-b-c-d>.<svc>...` otherwise). Thanos resolves `dnssrv+` and
 * `dns+` addresses through these records, so DNS discovery runs for real.
 */
import { createSocket, type Socket } from "node:dgram";
import * as packet from "dns-packet";

/** One record set. */
export type DnsRecord = { type: "A"; address: string } | { type: "SRV"; target: string; port: number };

/** A zone: lower-case fully qualified names (no trailing dot) to records. */
export class Zone {
  private readonly names = new Map<string, DnsRecord[]>();
  /** Names whose A records are rotated on each answer (a ClusterIP spreads connections over its pods). */
  private readonly rotate = new Set<string>();

  add(name: string, rec: DnsRecord, opts: { rotate?: boolean } = {}): void {
    const n = name.toLowerCase().replace(/\.$/, "");
    const list = this.names.get(n) ?? [];
    if (!list.some((r) => JSON.stringify(r) === JSON.stringify(rec))) list.push(rec);
    this.names.set(n, list);
    if (opts.rotate === true) this.rotate.add(n);
  }

  has(name: string): boolean {
    return this.names.has(name.toLowerCase().replace(/\.$/, ""));
  }

  lookup(name: string): DnsRecord[] | undefined {
    const n = name.toLowerCase().replace(/\.$/, "");
    const list = this.names.get(n);
    if (list === undefined) return undefined;
    if (this.rotate.has(n) && list.length > 1) list.push(list.shift() as DnsRecord);
    return [...list];
  }

  /** Every name with its records, for the printed table. */
  entries(): [string, DnsRecord[]][] {
    return [...this.names.entries()].sort(([a], [b]) => a.localeCompare(b));
  }
}

/** A query the resolvers answered (for the DNS-discovery assertions). */
export interface DnsQueryLog {
  resolver: string;
  name: string;
  type: string;
  answered: number;
}

/** UDP resolvers on the given addresses (port 53), each answering its zones in order. */
export class FleetDns {
  private readonly sockets: Socket[] = [];
  readonly log: DnsQueryLog[] = [];

  constructor(private readonly resolvers: { address: string; zones: Zone[] }[]) {}

  async start(): Promise<void> {
    for (const r of this.resolvers) {
      const sock = createSocket("udp4");
      sock.on("message", (msg, rinfo) => {
        let q: packet.DecodedPacket;
        try {
          q = packet.decode(msg);
        } catch {
          return;
        }
        const question = q.questions?.[0];
        if (question === undefined) return;
        const answers: packet.Answer[] = [];
        const additionals: packet.Answer[] = [];
        let known = false;
        for (const zone of r.zones) {
          const recs = zone.lookup(question.name);
          if (recs === undefined) continue;
          known = true;
          for (const rec of recs) {
            if (rec.type === "A" && (question.type === "A")) answers.push({ type: "A", name: question.name, ttl: 5, data: rec.address });
            if (rec.type === "SRV" && (question.type === "SRV")) {
              answers.push({ type: "SRV", name: question.name, ttl: 5, data: { priority: 0, weight: 100, port: rec.port, target: rec.target } });
              for (const z of r.zones) for (const a of z.lookup(rec.target) ?? []) if (a.type === "A") additionals.push({ type: "A", name: rec.target, ttl: 5, data: a.address });
            }
          }
          break;
        }
        this.log.push({ resolver: r.address, name: question.name, type: question.type, answered: answers.length });
        const NXDOMAIN = 3;
        const reply = packet.encode({
          type: "response",
          id: q.id,
          flags: packet.AUTHORITATIVE_ANSWER | ((q.flags ?? 0) & packet.RECURSION_DESIRED) | (known ? 0 : NXDOMAIN),
          questions: [question],
          answers,
          additionals,
        });
        sock.send(reply, rinfo.port, rinfo.address);
      });
      await new Promise<void>((resolve, reject) => {
        sock.once("error", reject);
        sock.bind(53, r.address, () => resolve());
      });
      this.sockets.push(sock);
    }
  }

  stop(): void {
    for (const s of this.sockets) s.close();
    this.sockets.length = 0;
  }
}

/** The `resolv.conf` of a pod in `namespace` of a cluster whose resolver is `resolver` (kubelet's ClusterFirst policy). */
export function podResolvConf(resolver: string, namespace: string): string {
  // kubelet writes the pod's search path as <ns>.svc.<zone> svc.<zone> <zone> with ndots:5
  // (https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-dns-config).
  return `nameserver ${resolver}\nsearch ${namespace}.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`;
}
