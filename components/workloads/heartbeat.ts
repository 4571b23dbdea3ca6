/**
 * The edge's dead man's switch. An agent-mode Prometheus evaluates no rules, so there is no
 * always-firing Watchdog to route to a heartbeat receiver; and anything the spoke evaluated about
 * the edge would fail silently together with the spoke. Instead a CronJob on the edge reads the
 * agent's own `/metrics` (agent mode has no query API) and pings the edge's dead man's switch
 * URL only while the agent is ready and its remote write is progressing. The switch alerts when
 * the pings stop: the edge is down, its agent is, or its samples no longer reach the receiver.
 *
 * Metric names of Prometheus v3.14.0 (namespace `prometheus`, subsystem `remote_storage`,
 * constant labels `remote_name` and `url`; storage/remote/queue_manager.go newQueueManagerMetrics):
 * - `prometheus_remote_storage_queue_highest_sent_timestamp_seconds`: "Highest timestamp
 *   successfully sent by this queue". It stays put while sends fail with recoverable errors (a
 *   refused connection, a 5xx: sendWriteRequestWithBackoff retries without returning), so its age
 *   is how far remote write is behind;
 * - `prometheus_remote_storage_samples_failed_total`: samples that failed with non-recoverable
 *   errors (a 4xx from the receiver, e.g. a refused tenant). The highest-sent timestamp advances
 *   past such a batch too (queue_manager.go sendSamplesWithBackoff sets it after the send,
 *   whatever the error), so a failing queue must be caught by this counter growing.
 * The agent serves `/metrics` and `/-/ready` in agent mode (web/web.go of v3.14.0).
 */
import type { Profile } from "../config";
import { containerResources } from "./resources";
import type { Json } from "./values/types";

/**
 * The heartbeat image: the official curl image at its release 8.21.0 (curl/curl-container tag
 * 8.21.0, pushed as `docker.io/curlimages/curl:8.21.0` by .github/workflows/
 * build_latest_release_multi.yml). It is Alpine 3.24.1 (Makefile `base`), so busybox's `sh`,
 * `awk`, `date` and `sleep` are there, and runs as `curl_user`, created by `adduser -S`
 * (create_base_image.sh), Alpine's first system UID 100 in group `curl_group` (101); the pod
 * sets the numeric user so the kubelet can verify `runAsNonRoot`.
 */
export const HEARTBEAT_IMAGE = { image: "curlimages/curl:8.21.0", uid: 100, gid: 101 } as const;

/** Defaults of the check: how stale the last sent sample may be, and how long failures are watched. */
export const EDGE_HEARTBEAT_DEFAULTS = {
  /**
   * Scrape interval (30s, the operator's default) + the largest batch send deadline (10s,
   * `small`) + one minimum backoff round, doubled: a healthy queue is never this far behind.
   */
  maxLagSeconds: 120,
  /** Two readings this far apart: failed samples must not grow between them. */
  windowSeconds: 15,
  /** Every five minutes: the switch's grace period should be at least two periods. */
  schedule: "*/5 * * * *",
} as const;

/** What the heartbeat script checks. */
export interface HeartbeatCheck {
  /** Base URL of the agent's web server, e.g. `http://kps-prometheus.observability.svc:9090`. */
  agentUrl: string;
  /** The remote-write queue's `remote_name` (EDGE_REMOTE_WRITE_NAME). */
  remoteName: string;
  maxLagSeconds: number;
  windowSeconds: number;
}

/** Environment variable the script reads the dead man's switch URL from (a Secret, never in the manifest). */
export const HEARTBEAT_URL_ENV = "DEAD_MANS_SWITCH_URL";

/** A single-quoted sh word. */
function shQuote(v: string): string {
  return `'${v.replace(/'/g, `'"'"'`)}'`;
}

function checkParams(p: HeartbeatCheck): void {
  if (!URL.canParse(p.agentUrl) || !/^https?:$/.test(new URL(p.agentUrl).protocol)) throw new Error(`agent URL must be http(s): ${p.agentUrl}`);
  if (!/^[a-zA-Z0-9_-]+$/.test(p.remoteName)) throw new Error(`remote name must be a plain word: ${p.remoteName}`);
  for (const [k, v] of [["maxLagSeconds", p.maxLagSeconds], ["windowSeconds", p.windowSeconds]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer, got ${v}`);
  }
  if (p.windowSeconds >= p.maxLagSeconds) throw new Error("windowSeconds must be shorter than maxLagSeconds");
}

/**
 * The POSIX sh script of the heartbeat (busybox ash in the image; dash or bash elsewhere). It
 * pings `$DEAD_MANS_SWITCH_URL` only when all hold:
 * 1. the agent answers `/-/ready`;
 * 2. its queue `remote_name` exposes both metrics above (the queue exists);
 * 3. the highest timestamp sent is at most `maxLagSeconds` old at the second reading;
 * 4. `samples_failed_total` did not grow between two readings `windowSeconds` apart.
 * Exit status 0 only after a successful ping; the reason for not pinging goes to stderr (the
 * edge's logs, shipped to the spoke). The switch URL is never printed.
 */
export function heartbeatScript(p: HeartbeatCheck): string {
  checkParams(p);
  const agent = p.agentUrl.replace(/\/+$/, "");
  return `set -eu
agent=${shQuote(agent)}
queue=${shQuote(p.remoteName)}
max_lag=${p.maxLagSeconds}
window=${p.windowSeconds}

skip() {
  echo "heartbeat: not pinging: $*" >&2
  exit 1
}

[ -n "\${${HEARTBEAT_URL_ENV}:-}" ] || skip "${HEARTBEAT_URL_ENV} is not set"

# One reading of the queue: "<highest sent timestamp> <failed samples>", or nothing when the
# queue's metrics are missing.
reading() {
  body=$(curl -fsS -m 10 "$agent/metrics") || return 1
  printf '%s\\n' "$body" | awk -v q="remote_name=\\"$queue\\"" '
    function value(line) { sub(/^[^}]*\\}[ \\t]*/, "", line); split(line, f, /[ \\t]+/); return f[1] }
    index($0, q) == 0 { next }
    /^prometheus_remote_storage_queue_highest_sent_timestamp_seconds\\{/ { hs = value($0); has_hs = 1 }
    /^prometheus_remote_storage_samples_failed_total\\{/ { failed = value($0); has_failed = 1 }
    END { if (has_hs && has_failed) printf "%s %s\\n", hs, failed }'
}

curl -fsS -m 5 -o /dev/null "$agent/-/ready" || skip "the agent is not ready"
first=$(reading) || skip "cannot read the agent's metrics"
[ -n "$first" ] || skip "no remote-write queue $queue"
sleep "$window"
second=$(reading) || skip "cannot read the agent's metrics"
[ -n "$second" ] || skip "no remote-write queue $queue"

verdict=$(printf '%s %s %s\\n' "$first" "$second" "$(date +%s)" | awk -v max_lag="$max_lag" '{
  failed0 = $2 + 0; sent = $3 + 0; failed1 = $4 + 0; now = $5 + 0
  if (sent <= 0) { print "nothing sent yet"; exit }
  if (now - sent > max_lag) { printf "last sample sent %ds ago (more than %ds)\\n", now - sent, max_lag; exit }
  if (failed1 != failed0) { printf "failed samples went from %d to %d\\n", failed0, failed1; exit }
  print "ok"
}')
[ "$verdict" = "ok" ] || skip "$verdict"

curl -fsS -m 10 --retry 2 --retry-delay 2 -o /dev/null "\$${HEARTBEAT_URL_ENV}" || skip "the dead man's switch did not accept the ping"
echo "heartbeat: agent ready, remote write progressing; pinged" >&2
`;
}

/** The CronJob as plain data (a type literal, so it passes wherever a rendered object does). */
export type HeartbeatManifest = {
  apiVersion: "batch/v1";
  kind: "CronJob";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { [key: string]: Json };
};

/** Everything the heartbeat CronJob depends on. */
export interface EdgeHeartbeatParams extends Partial<Pick<HeartbeatCheck, "maxLagSeconds" | "windowSeconds">> {
  profile: Profile;
  namespace: string;
  /** The agent's Service base URL (HTTP in the cluster). */
  agentUrl: string;
  remoteName: string;
  /** The Secret key holding the dead man's switch URL (config `alerting.deadMansSwitch.url`). */
  urlSecret: { name: string; key: string };
  labels?: Record<string, string>;
  schedule?: string;
  name?: string;
}

/**
 * The heartbeat CronJob: one run at a time, never catching up missed runs in a burst, no
 * ServiceAccount token (it talks to the agent only), the project's pod hardening (non-root,
 * read-only root filesystem, no capabilities, seccomp RuntimeDefault; cf. thanos.ts
 * renderPodTemplate), and the switch URL from a Secret.
 */
export function edgeHeartbeatCronJob(p: EdgeHeartbeatParams): HeartbeatManifest {
  const check: HeartbeatCheck = {
    agentUrl: p.agentUrl,
    remoteName: p.remoteName,
    maxLagSeconds: p.maxLagSeconds ?? EDGE_HEARTBEAT_DEFAULTS.maxLagSeconds,
    windowSeconds: p.windowSeconds ?? EDGE_HEARTBEAT_DEFAULTS.windowSeconds,
  };
  const script = heartbeatScript(check);
  const r = containerResources(p.profile, "edge-heartbeat");
  const labels = { "app.kubernetes.io/name": "edge-heartbeat", ...(p.labels ?? {}) };
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: p.name ?? "edge-heartbeat", namespace: p.namespace, labels },
    spec: {
      schedule: p.schedule ?? EDGE_HEARTBEAT_DEFAULTS.schedule,
      // A late run is worth nothing once the next one is due; overlapping runs would double-ping.
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 60,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels },
        spec: {
          // A failed check is an answer, not an error to retry: the switch notices the silence.
          backoffLimit: 0,
          activeDeadlineSeconds: check.windowSeconds + 90,
          ttlSecondsAfterFinished: 3600,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: "Never",
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: { runAsNonRoot: true, runAsUser: HEARTBEAT_IMAGE.uid, runAsGroup: HEARTBEAT_IMAGE.gid, seccompProfile: { type: "RuntimeDefault" } },
              containers: [
                {
                  name: "heartbeat",
                  image: HEARTBEAT_IMAGE.image,
                  imagePullPolicy: "IfNotPresent",
                  command: ["/bin/sh", "-c", script],
                  env: [{ name: HEARTBEAT_URL_ENV, valueFrom: { secretKeyRef: { name: p.urlSecret.name, key: p.urlSecret.key } } }],
                  resources: { requests: { ...r.requests }, limits: { ...r.limits } },
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                },
              ],
            },
          },
        },
      },
    },
  };
}
