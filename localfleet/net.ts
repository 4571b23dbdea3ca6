/**
 * The in-harness network pieces: what a cloud load balancer does for a `type: LoadBalancer`
 * Service (forward its port to the pods' target port), the ghostunnel TLS sidecar of the hub
 * Alertmanager (ghostunnel is not built here), the webhook receiver every Alertmanager receiver
 * URL points to, the synthetic scrape target, and a Unix-socket bridge that lets
 * `npm run fleet:local` publish the query frontend outside the fleet's network namespace.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";

/** Closes every server it was given. */
export class Servers {
  private readonly all: (Server | NetServer)[] = [];
  private readonly sockets = new Set<Socket>();

  track<T extends Server | NetServer>(s: T): T {
    this.all.push(s);
    s.on("connection", (c: Socket) => {
      this.sockets.add(c);
      c.once("close", () => this.sockets.delete(c));
    });
    return s;
  }

  async closeAll(): Promise<void> {
    for (const c of this.sockets) c.destroy();
    await Promise.all(this.all.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

async function listen(s: Server | NetServer, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.listen(port, host, () => resolve());
  });
}

const pipe = (a: Socket, b: Socket): void => {
  a.pipe(b);
  b.pipe(a);
  a.on("error", () => b.destroy());
  b.on("error", () => a.destroy());
  a.on("close", () => b.destroy());
  b.on("close", () => a.destroy());
};

/**
 * A Service of `type: LoadBalancer`: `host:port` forwarded to the backends' target port, a
 * new connection to the next backend (the cloud LB spreads connections). A backend that refuses
 * is skipped, as a health-checked LB would.
 */
export async function loadBalancer(servers: Servers, host: string, port: number, backends: () => { host: string; port: number }[]): Promise<void> {
  let next = 0;
  const s = servers.track(
    createNetServer((client) => {
      const list = backends();
      const tryAt = (i: number): void => {
        if (i >= list.length) {
          client.destroy();
          return;
        }
        const b = list[(next + i) % list.length];
        const up = connect(b.port, b.host);
        let connected = false;
        up.once("connect", () => {
          connected = true;
          next = (next + i + 1) % Math.max(1, list.length);
          pipe(client, up);
        });
        up.once("error", () => {
          if (!connected) tryAt(i + 1);
        });
      };
      tryAt(0);
    }),
  );
  await listen(s, host, port);
}

/** One connection the TLS sidecar accepted or refused. */
export interface TlsConnLog {
  at: number;
  listener: string;
  authorized: boolean;
  subject?: string;
  error?: string;
}

/**
 * The plan's ghostunnel sidecar (`server --listen --target --cert --key --cacert --allow-all`):
 * a TLS listener that requires a client certificate verified against `--cacert` (ghostunnel's
 * server mode, https://github.com/ghostunnel/ghostunnel#readme: `--allow-all` admits any client
 * whose certificate verifies) and forwards the plain stream to `--target`.
 */
export async function ghostunnelServer(servers: Servers, args: readonly string[], log: TlsConnLog[]): Promise<{ listen: string; target: string }> {
  const flag = (n: string): string => {
    const a = args.find((x) => x.startsWith(`--${n}=`));
    if (a === undefined) throw new Error(`ghostunnel args lack --${n}: ${args.join(" ")}`);
    return a.slice(n.length + 3);
  };
  if (args[0] !== "server" || !args.includes("--allow-all")) throw new Error(`unsupported ghostunnel invocation: ${args.join(" ")}`);
  const listenAddr = flag("listen");
  const target = flag("target");
  const split = (hp: string): { host: string; port: number } => {
    const i = hp.lastIndexOf(":");
    return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
  };
  const l = split(listenAddr);
  const t = split(target);
  const s = createTlsServer(
    { cert: readFileSync(flag("cert")), key: readFileSync(flag("key")), ca: readFileSync(flag("cacert")), requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.2" },
    (sock: TLSSocket) => {
      const peer = sock.getPeerCertificate();
      log.push({ at: Date.now(), listener: listenAddr, authorized: sock.authorized, subject: typeof peer.subject?.CN === "string" ? peer.subject.CN : undefined });
      pipe(sock, connect(t.port, t.host));
    },
  );
  s.on("tlsClientError", (e: Error) => log.push({ at: Date.now(), listener: listenAddr, authorized: false, error: e.message }));
  servers.track(s);
  await listen(s, l.host, l.port);
  return { listen: listenAddr, target };
}

/** One webhook notification (Alertmanager webhook payload v4). */
export interface Notification {
  at: number;
  path: string;
  status: string;
  receiver: string;
  groupKey: string;
  alerts: { status: string; labels: Record<string, string>; startsAt: string; endsAt: string; fingerprint?: string }[];
}

/** The webhook receiver every receiver URL of the plan is pointed to; keeps the request path. */
export async function webhookReceiver(servers: Servers, host: string, port: number, out: Notification[]): Promise<void> {
  const s = servers.track(
    createHttpServer((req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        try {
          const j = JSON.parse(body) as Omit<Notification, "at" | "path">;
          out.push({ at: Date.now(), path: req.url ?? "/", status: j.status, receiver: j.receiver, groupKey: j.groupKey, alerts: j.alerts });
        } catch {
          // not a webhook payload
        }
        res.writeHead(200).end();
      });
    }),
  );
  await listen(s, host, port);
}

/** The synthetic scrape target of a spoke: a counter and a gauge in the Prometheus text format. */
export async function syntheticTarget(servers: Servers, host: string, port: number, cluster: string): Promise<void> {
  const started = Date.now();
  let hits = 0;
  const s = servers.track(
    createHttpServer((req, res) => {
      if (req.url !== "/metrics") {
        res.writeHead(404).end();
        return;
      }
      hits++;
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(
        [
          "# HELP loopback_synthetic_requests_total Scrapes served by the synthetic target.",
          "# TYPE loopback_synthetic_requests_total counter",
          `loopback_synthetic_requests_total ${hits}`,
          "# HELP loopback_synthetic_uptime_seconds Seconds since the synthetic target started.",
          "# TYPE loopback_synthetic_uptime_seconds gauge",
          `loopback_synthetic_uptime_seconds{spoke="${cluster}"} ${(Date.now() - started) / 1000}`,
          "",
        ].join("\n"),
      );
    }),
  );
  await listen(s, host, port);
}

/** A Unix socket forwarding to `host:port` (reachable from outside the network namespace). */
export async function unixBridge(servers: Servers, path: string, host: string, port: number): Promise<void> {
  const s = servers.track(createNetServer((c) => pipe(c, connect(port, host))));
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.listen(path, () => resolve());
  });
}

/** The other end: a loopback TCP port outside the namespace forwarding to a Unix socket. */
export async function tcpToUnix(servers: Servers, host: string, port: number, path: string): Promise<void> {
  const s = servers.track(createNetServer((c) => pipe(c, connect(path))));
  await listen(s, host, port);
}
