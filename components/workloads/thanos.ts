/**
 * Thanos components as typed Kubernetes resources on the upstream image: a ServiceAccount
 * bound to the component's cloud identity, its config, a Deployment or StatefulSet, a
 * Service and a PodDisruptionBudget. Manifests are rendered by pure functions.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GRPC_PORT, HTTP_PORT } from "../thanos/args";
import type { ContainerResources } from "./resources";


/** A volume of a Thanos pod. */
export type ThanosVolume =
  | { name: string; mountPath: string; kind: "secret"; secretName: string }
  | { name: string; mountPath: string; kind: "configMap"; configMapName: string }
  /** RAM-backed scratch space: nothing written there survives the pod. */
  | { name: string; mountPath: string; kind: "memory"; sizeLimit: string }
  /** A persistent claim per replica (StatefulSet only; spoke compactor). */
  | { name: string; mountPath: string; kind: "claim"; size: string }
  /**
   * A projected ServiceAccount token for one audience, written as `<mountPath>/token` and refreshed
   * by kubelet (Kubernetes "Projected Volumes", serviceAccountToken). The federated reader's only credential.
   */
  | { name: string; mountPath: string; kind: "token"; audience: string; expirationSeconds: number };

/** File name of a projected token inside its mount. */
export const TOKEN_FILE = "token";

/** Everything a Thanos pod is made of. */
export interface ThanosWorkloadParams {
  name: string;
  namespace: string;
  image: string;
  args: string[];
  replicas: number;
  kind: "Deployment" | "StatefulSet";
  /** Stable selector labels (also on the Service and PDB). */
  selector: Record<string, string>;
  labels: Record<string, string>;
  /** Extra pod labels, e.g. Azure's `azure.workload.identity/use`. */
  podLabels: Record<string, string>;
  /** Extra pod annotations (digests of mounted Secrets). */
  podAnnotations?: Record<string, string>;
  /** Extra environment of the container (the federated reader's credential chain). */
  env?: { name: string; value: string }[];
  serviceAccountName: string;
  resources: ContainerResources;
  volumes: ThanosVolume[];
  /** Expose gRPC (StoreAPI) as well as HTTP. */
  grpc: boolean;
  /** Hash of the mounted config, so a change rolls the pods (except reloadable files). */
  configHash?: string;
  /**
   * A headless Service (`clusterIP: None`), for components a Thanos Query discovers with
   * `dnssrv+`/`dns+`: only a headless Service has one DNS record per ready pod; a ClusterIP
   * Service resolves to its single virtual IP, so the query would see one endpoint behind a
   * load balancer instead of every replica (Kubernetes DNS specification,
   * https://github.com/kubernetes/dns/blob/master/docs/specification.md, 2.4.1 vs 2.4.2).
   */
  headless?: boolean;
}

/** The pod template of a Thanos component. */
export function renderPodTemplate(p: ThanosWorkloadParams): k8s.types.input.core.v1.PodTemplateSpec {
  if (p.kind === "Deployment" && p.volumes.some((v) => v.kind === "claim")) throw new Error(`${p.name}: persistent claims need a StatefulSet`);
  return {
    metadata: { labels: { ...p.labels, ...p.selector, ...p.podLabels }, annotations: { ...(p.configHash ? { "checksum/config": p.configHash } : {}), ...p.podAnnotations } },
    spec: {
      serviceAccountName: p.serviceAccountName,
      automountServiceAccountToken: true,
      securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
      affinity: p.replicas > 1
        ? { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: p.selector } } }] } }
        : undefined,
      containers: [
        {
          name: "thanos",
          image: p.image,
          args: p.args,
          env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }, ...(p.env ?? [])],
          ports: [{ name: "http", containerPort: HTTP_PORT }, ...(p.grpc ? [{ name: "grpc", containerPort: GRPC_PORT }] : [])],
          livenessProbe: { httpGet: { path: "/-/healthy", port: "http" }, periodSeconds: 30, failureThreshold: 4 },
          readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 10 },
          resources: p.resources,
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
          volumeMounts: p.volumes.map((v) => ({ name: v.name, mountPath: v.mountPath, readOnly: v.kind === "secret" || v.kind === "configMap" || v.kind === "token" })),
        },
      ],
      volumes: p.volumes
        .filter((v) => v.kind !== "claim")
        .map((v) =>
          v.kind === "secret"
            ? { name: v.name, secret: { secretName: v.secretName } }
            : v.kind === "configMap"
              ? { name: v.name, configMap: { name: v.configMapName } }
              : v.kind === "token"
                ? { name: v.name, projected: { sources: [{ serviceAccountToken: { audience: v.audience, expirationSeconds: v.expirationSeconds, path: TOKEN_FILE } }] } }
                : { name: v.name, emptyDir: { medium: "Memory", sizeLimit: v.kind === "memory" ? v.sizeLimit : undefined } },
        ),
    },
  };
}

/** The controller (Deployment or StatefulSet) of a Thanos component. */
export function renderController(p: ThanosWorkloadParams):
  | { apiVersion: "apps/v1"; kind: "StatefulSet"; metadata: k8s.types.input.meta.v1.ObjectMeta; spec: k8s.types.input.apps.v1.StatefulSetSpec }
  | { apiVersion: "apps/v1"; kind: "Deployment"; metadata: k8s.types.input.meta.v1.ObjectMeta; spec: k8s.types.input.apps.v1.DeploymentSpec } {
  const claims = p.volumes.filter((v): v is Extract<ThanosVolume, { kind: "claim" }> => v.kind === "claim");
  const common = { replicas: p.replicas, selector: { matchLabels: p.selector }, template: renderPodTemplate(p) };
  const metadata = { name: p.name, namespace: p.namespace, labels: { ...p.labels, ...p.selector } };
  if (p.kind === "StatefulSet") {
    return {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata,
      spec: {
        ...common,
        serviceName: p.name,
        podManagementPolicy: "Parallel",
        ...(claims.length > 0
          ? { volumeClaimTemplates: claims.map((c) => ({ metadata: { name: c.name }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: c.size } } } })) }
          : {}),
      },
    };
  }
  return { apiVersion: "apps/v1", kind: "Deployment", metadata, spec: { ...common, strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } } };
}

/** The in-cluster Service of a Thanos component. */
export function renderService(p: ThanosWorkloadParams): { apiVersion: "v1"; kind: "Service"; metadata: k8s.types.input.meta.v1.ObjectMeta; spec: k8s.types.input.core.v1.ServiceSpec } {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: p.name, namespace: p.namespace, labels: { ...p.labels, ...p.selector } },
    spec: {
      type: "ClusterIP",
      ...(p.headless === true ? { clusterIP: "None" } : {}),
      selector: p.selector,
      ports: [{ name: "http", port: HTTP_PORT, targetPort: "http" }, ...(p.grpc ? [{ name: "grpc", port: GRPC_PORT, targetPort: "grpc" }] : [])],
    },
  };
}

/** The `monitoring.coreos.com/v1` ServiceMonitor of a Thanos component. */
export interface ServiceMonitorManifest {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "ServiceMonitor";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    selector: { matchLabels: Record<string, string> };
    namespaceSelector: { matchNames: string[] };
    endpoints: { port: string; path: string; interval: string }[];
  };
}

/**
 * Scrapes the component's `http` port (`/metrics`, where every Thanos component serves its
 * metrics). No `jobLabel`: the Prometheus Operator then sets `job` to the Service's name
 * (prometheus-operator v0.93.1 ServiceMonitor CRD, `spec.jobLabel`: "If the value of this field is
 * empty or if the label doesn't exist for the given Service, the job label of the metrics
 * defaults to the name of the associated Kubernetes `Service`"), which the alert rules' job
 * selectors match (components/alerting/scrapes.ts).
 */
export function renderServiceMonitor(p: ThanosWorkloadParams, labels: Record<string, string>): ServiceMonitorManifest {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: { name: p.name, namespace: p.namespace, labels: { ...p.labels, ...p.selector, ...labels } },
    spec: {
      selector: { matchLabels: { ...p.selector } },
      namespaceSelector: { matchNames: [p.namespace] },
      endpoints: [{ port: "http", path: "/metrics", interval: "30s" }],
    },
  };
}

/** Keeps one replica up during voluntary disruptions (a single replica may not be evicted without notice). */
export function renderPdb(p: ThanosWorkloadParams): { apiVersion: "policy/v1"; kind: "PodDisruptionBudget"; metadata: k8s.types.input.meta.v1.ObjectMeta; spec: k8s.types.input.policy.v1.PodDisruptionBudgetSpec } {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: p.name, namespace: p.namespace, labels: { ...p.labels, ...p.selector } },
    spec: { selector: { matchLabels: p.selector }, ...(p.replicas > 1 ? { minAvailable: 1 } : { maxUnavailable: 1 }) },
  };
}

export interface ThanosWorkloadArgs {
  /** Known when the component is built: the shape of the workload is not an Output. */
  params: ThanosWorkloadParams;
  /** ServiceAccount annotations binding the pod to its cloud identity. */
  serviceAccountAnnotations: pulumi.Input<Record<string, string>>;
  /**
   * `existing`: run as a ServiceAccount another release creates (the zone receiver's ingesters
   * upload with the Prometheus ServiceAccount, bound to the spoke's sidecar writer identity);
   * no ServiceAccount is created and `serviceAccountAnnotations` must be empty.
   */
  serviceAccount?: "create" | "existing";
  /** Pod labels the cloud identity needs (Azure workload identity), known only after the identity exists. */
  podLabels?: pulumi.Input<Record<string, string>>;
  /** Pod annotations known only at deployment (digests of mounted Secrets, so a change rolls the pods). */
  podAnnotations?: pulumi.Input<Record<string, string>>;
  /** Files of the component's config Secret (objstore config may hold credentials). */
  configFiles?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Name of the config Secret (mounted by a `secret` volume in params). */
  configSecretName?: string;
  /** Files of a ConfigMap the component reloads without restarting (endpoint config). */
  reloadableFiles?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  reloadableConfigMapName?: string;
  /**
   * Scrape the component: a ServiceMonitor with these labels (the ones the Prometheus's
   * `serviceMonitorSelector` matches), created after `dependsOn` (the release installing the
   * Prometheus Operator CRDs: without them the API server rejects the resource).
   */
  monitoring?: { labels: Record<string, string>; dependsOn: pulumi.Input<pulumi.Resource>[] };
}

/** One Thanos component in a cluster. */
export class ThanosWorkload extends pulumi.ComponentResource {
  public readonly serviceName: pulumi.Output<string>;

  constructor(name: string, args: ThanosWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:workloads:ThanosWorkload", name, {}, opts);
    const p = args.params;
    const deps: pulumi.Resource[] = [];
    if (args.serviceAccount !== "existing") {
      deps.push(new k8s.core.v1.ServiceAccount(`${name}-sa`, {
        metadata: { name: p.serviceAccountName, namespace: p.namespace, labels: p.labels, annotations: args.serviceAccountAnnotations },
      }, { parent: this }));
    }
    if (args.configFiles !== undefined && args.configSecretName !== undefined) {
      deps.push(new k8s.core.v1.Secret(`${name}-config`, { metadata: { name: args.configSecretName, namespace: p.namespace, labels: p.labels }, stringData: args.configFiles }, { parent: this }));
    }
    if (args.reloadableFiles !== undefined && args.reloadableConfigMapName !== undefined) {
      deps.push(new k8s.core.v1.ConfigMap(`${name}-reloadable`, { metadata: { name: args.reloadableConfigMapName, namespace: p.namespace, labels: p.labels }, data: args.reloadableFiles }, { parent: this }));
    }
    const childOpts = { parent: this, dependsOn: deps };
    const rendered = pulumi
      .all([args.podLabels ?? {}, args.podAnnotations ?? {}])
      .apply(([extra, annotations]) => renderController({ ...p, podLabels: { ...p.podLabels, ...extra }, podAnnotations: { ...p.podAnnotations, ...annotations } }));
    const metadata = renderController(p).metadata;
    if (p.kind === "StatefulSet") {
      const spec = rendered.apply((c) => {
        if (c.kind !== "StatefulSet") throw new Error(`${p.name}: expected a StatefulSet`);
        return c.spec;
      });
      new k8s.apps.v1.StatefulSet(name, { metadata, spec }, childOpts);
    } else {
      const spec = rendered.apply((c) => {
        if (c.kind !== "Deployment") throw new Error(`${p.name}: expected a Deployment`);
        return c.spec;
      });
      new k8s.apps.v1.Deployment(name, { metadata, spec }, childOpts);
    }
    const svc = renderService(p);
    const service = new k8s.core.v1.Service(`${name}-svc`, { metadata: svc.metadata, spec: svc.spec }, { parent: this });
    const pdb = renderPdb(p);
    new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, { metadata: pdb.metadata, spec: pdb.spec }, { parent: this });
    if (args.monitoring !== undefined) {
      const sm = renderServiceMonitor(p, args.monitoring.labels);
      new k8s.apiextensions.CustomResource(`${name}-servicemonitor`, { ...sm }, { parent: this, dependsOn: [service, ...args.monitoring.dependsOn] });
    }
    this.serviceName = service.metadata.name;
    this.registerOutputs({ serviceName: this.serviceName });
  }
}
