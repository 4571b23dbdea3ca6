/**
 * The mTLS proxy in front of the hub Alertmanager: a ghostunnel release that exists, an image
 * tag that release publishes, a user the kubelet accepts under runAsNonRoot, and only flags that
 * ghostunnel has at that release.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HUB_ALERTMANAGER } from "../components/endpoints";
import { TLS_PROXY } from "../components/workloads/hub";
import { hubAlertmanagerValues, tlsProxyArgs } from "../components/workloads/values";

/**
 * `server`-mode flags of ghostunnel v1.11.1, from main.go at tag v1.11.1
 * (github.com/ghostunnel/ghostunnel): the `server` command's own flags (`serverCommand.Flag`)
 * and the global ones (`app.Flag`) the proxy uses. `listen` and `target` are `.Required()`.
 */
const GHOSTUNNEL_V1_11_1 = {
  serverRequired: ["listen", "target"],
  server: ["listen", "target", "target-status", "proxy-protocol", "proxy-protocol-mode", "unsafe-target", "allow-all", "allow-cn", "allow-ou", "allow-dns", "allow-uri", "allow-spki-pin", "allow-policy", "allow-query", "disable-authentication", "auto-acme-cert", "auto-acme-email", "auto-acme-agree-to-tos", "auto-acme-ca", "auto-acme-testca"],
  global: ["keystore", "cert", "key", "storepass", "cacert", "use-workload-api", "use-workload-api-addr", "use-workload-api-timeout", "timed-reload", "shutdown-timeout", "connect-timeout", "close-timeout", "max-conn-lifetime", "max-concurrent-conns", "metrics-graphite", "metrics-url", "metrics-prefix", "metrics-interval", "status", "enable-pprof", "enable-shutdown", "quiet", "skip-resolve", "disable-landlock"],
} as const;

describe("ghostunnel pin", () => {
  it("pins the v1.11.1 release (the newest tag upstream; v1.11.3 does not exist) in a tag its release pipeline pushes", () => {
    assert.equal(TLS_PROXY.release, "v1.11.1");
    // magefile.go at v1.11.1 (buildDocker/getDockerTags): a tag push publishes `<tag>` and
    // `<tag>-alpine` from Dockerfile-alpine, `<tag>-debian`, `<tag>-distroless`.
    assert.ok([`ghostunnel/ghostunnel:${TLS_PROXY.release}`, ...["alpine", "debian", "distroless"].map((v) => `ghostunnel/ghostunnel:${TLS_PROXY.release}-${v}`)].includes(TLS_PROXY.image));
    // Dockerfile-distroless at v1.11.1 builds on gcr.io/distroless/base-nossl:nonroot (uid 65532);
    // the kubelet verifies runAsNonRoot only against a numeric, non-zero user.
    assert.ok(TLS_PROXY.image.endsWith("-distroless") && TLS_PROXY.uid === 65532);
  });

  it("the proxy container passes only ghostunnel v1.11.1 server flags, the required ones included, to a localhost target", () => {
    const v = hubAlertmanagerValues({ profile: "medium", configSecret: "c", tlsSecret: "t", tlsProxyImage: TLS_PROXY.image, tlsProxyUid: TLS_PROXY.uid });
    const containers = (v.alertmanager as { alertmanagerSpec: { containers: { name: string; image: string; args: string[]; securityContext: { runAsUser?: number; runAsNonRoot?: boolean } }[] } }).alertmanagerSpec.containers;
    const proxy = containers.find((c) => c.name === "tls-proxy");
    assert.ok(proxy !== undefined);
    assert.equal(proxy.image, TLS_PROXY.image);
    assert.equal(proxy.securityContext.runAsNonRoot, true);
    assert.equal(proxy.securityContext.runAsUser, TLS_PROXY.uid);
    const [command, ...flags] = proxy.args;
    assert.equal(command, "server");
    assert.deepEqual(proxy.args, tlsProxyArgs({ listenPort: HUB_ALERTMANAGER.targetPort, targetPort: 9093, tlsDir: "/etc/tls/alertmanager" }));
    const names = flags.map((f) => /^--([a-z0-9-]+)(=|$)/.exec(f)?.[1] ?? f);
    const known = new Set<string>([...GHOSTUNNEL_V1_11_1.server, ...GHOSTUNNEL_V1_11_1.global]);
    assert.deepEqual(names.filter((n) => !known.has(n)), [], "flags ghostunnel v1.11.1 does not have");
    for (const r of GHOSTUNNEL_V1_11_1.serverRequired) assert.ok(names.includes(r), `--${r} is required`);
    // Without --unsafe-target ghostunnel refuses a target other than localhost/127.0.0.1/[::1]/unix (main.go).
    assert.ok(!names.includes("unsafe-target"));
    assert.match(flags.find((f) => f.startsWith("--target=")) ?? "", /^--target=127\.0\.0\.1:9093$/);
    // Client certificates stay mandatory: --allow-all admits any certificate that chains to --cacert.
    assert.ok(names.includes("cacert") && !names.includes("disable-authentication"));
  });
});
