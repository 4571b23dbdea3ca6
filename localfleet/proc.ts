/**
 * Process supervision for the loopback fleet. Every upstream process runs in its own process
 * group and its own private mount namespace (`unshare --mount --propagation private`, util-linux),
 * where the harness bind-mounts the pod's `resolv.conf` over `/etc/resolv.conf` (the pod's
 * cluster DNS), mounts a tmpfs for each `emptyDir: {medium: Memory}` volume (what kubelet does
 * for that medium) and remounts a bucket directory read-only where a reader must not write.
 * Stopping sends SIGTERM to the group, then SIGKILL after a grace period; `stopAll` runs on
 * exit, SIGINT, SIGTERM and uncaught errors (see index.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A mount set up inside the process's private mount namespace before it starts. */
export type PodMount =
  | { kind: "resolv"; source: string }
  | { kind: "tmpfs"; target: string; size?: string }
  | { kind: "readonly"; target: string };

export interface ProcSpec {
  /** `<cluster>/<pod>/<container>`: unique. */
  id: string;
  cluster: string;
  pod: string;
  bin: string;
  args: string[];
  env: Record<string, string>;
  mounts: PodMount[];
  cwd?: string;
}

export interface Proc {
  spec: ProcSpec;
  child: ChildProcess;
  pid: number;
  log: string;
  exited: Promise<number | null>;
  exitCode?: number | null;
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Kubernetes' `$(VAR)` expansion of container args (kubelet; `$$` escapes). */
export function expandArgs(args: readonly string[], env: Record<string, string>): string[] {
  return args.map((a) => a.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => (m === "$$" ? "$" : name !== undefined && env[name] !== undefined ? env[name] : m)));
}

export class Supervisor {
  readonly procs: Proc[] = [];
  private stopping = false;

  constructor(readonly root: string) {
    mkdirSync(join(root, "logs"), { recursive: true });
    mkdirSync(join(root, "launch"), { recursive: true });
  }

  /** Starts one process. */
  start(spec: ProcSpec): Proc {
    if (this.stopping) throw new Error("the fleet is stopping");
    const safe = spec.id.replace(/[^A-Za-z0-9._-]+/g, "_");
    const script = [
      "#!/bin/sh",
      "set -e",
      ...spec.mounts.map((m) => {
        if (m.kind === "resolv") return `mount --bind ${q(m.source)} /etc/resolv.conf`;
        if (m.kind === "tmpfs") return `mkdir -p ${q(m.target)} && mount -t tmpfs -o ${q(`size=${m.size ?? "512m"},mode=0700`)} tmpfs ${q(m.target)}`;
        return `mount --bind ${q(m.target)} ${q(m.target)} && mount -o remount,bind,ro ${q(m.target)}`;
      }),
      `exec ${[spec.bin, ...spec.args].map(q).join(" ")}`,
      "",
    ].join("\n");
    const launch = join(this.root, "launch", `${safe}.sh`);
    writeFileSync(launch, script, { mode: 0o700 });
    const log = join(this.root, "logs", `${safe}.log`);
    const fd = openSync(log, "a");
    const child = spawn("unshare", ["--mount", "--propagation", "private", "/bin/sh", launch], {
      cwd: spec.cwd ?? this.root,
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: this.root, ...spec.env },
      stdio: ["ignore", fd, fd],
      detached: true,
    });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`${spec.id}: could not start ${spec.bin}`);
    const p: Proc = {
      spec,
      child,
      pid: child.pid,
      log,
      exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
    };
    void p.exited.then((c) => (p.exitCode = c));
    this.procs.push(p);
    return p;
  }

  running(): Proc[] {
    return this.procs.filter((p) => p.exitCode === undefined);
  }

  /** The tail of a process's log (for failure messages). */
  tail(p: Proc, lines = 15): string {
    try {
      return readFileSync(p.log, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }

  /** Stops the given processes: SIGTERM to each group, SIGKILL after `graceMs`. */
  async stop(procs: readonly Proc[], graceMs = 5000): Promise<void> {
    const live = procs.filter((p) => p.exitCode === undefined);
    for (const p of live) signal(p, "SIGTERM");
    await Promise.race([Promise.all(live.map((p) => p.exited)), new Promise((r) => setTimeout(r, graceMs))]);
    for (const p of live) if (p.exitCode === undefined) signal(p, "SIGKILL");
    await Promise.race([Promise.all(live.map((p) => p.exited)), new Promise((r) => setTimeout(r, 2000))]);
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    await this.stop([...this.procs].reverse());
  }

  /** Synchronous last resort (process 'exit' handler): SIGKILL every group still running. */
  killAllSync(): void {
    for (const p of this.procs) if (p.exitCode === undefined) signal(p, "SIGKILL");
  }
}

function signal(p: Proc, sig: NodeJS.Signals): void {
  try {
    process.kill(-p.pid, sig);
  } catch {
    // already gone
  }
}
