/**
 * Offline checks of the Kubernetes manifests in deploy/k8s (used by k8s-manifests.test.ts).
 *
 * `kubectl kustomize` renders an overlay; every object is then validated with the
 * kubernetes-models / @kubernetes-models/keda classes, plus strict checks those classes do not
 * make: unknown keys (against the property lists in the models' own type declarations, read
 * with the TypeScript compiler API), DNS names, KEDA trigger metadata, and consistency with
 * the code (durable consumer names, environment variables, the metrics port).
 *
 * Every check returns a list of problems, each starting with "Kind/name", so that a failing
 * test says exactly what to fix. An empty list means the check passed.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import ts from 'typescript';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { EnvSchema } from '../../shared/config/env.ts';
import { TASK_KINDS, WORKER_OF, type Names } from '../../shared/protocol/names.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** One rendered object: what every check looks at. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [key: string]: unknown;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The services the image runs (`node bin/llmxmr.js service <name>`). */
export const SERVICES = ['coordinator', ...TASK_KINDS.map((k) => WORKER_OF[k])] as const;
/** The repository name of our image, whatever the registry and tag. */
export const OUR_IMAGE = 'llmxmapreduce';

export const id = (o: { kind?: unknown; metadata?: { name?: unknown } }) =>
  `${String(o.kind)}/${String(o.metadata?.name)}`;

// ---------------------------------------------------------------------------------------------
// Rendering

export function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

export function kustomizeBuild(dir: string): string {
  return execFileSync('kubectl', ['kustomize', dir], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 32 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function parseStream(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`YAML error: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error('a YAML document is not an object');
    out.push(value as K8sObject);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Schema validation (kubernetes-models)

interface ModelClass {
  new (data: never): { validate(): void };
}

const MODELS: Record<string, ModelClass> = {
  'v1/ConfigMap': ConfigMap as unknown as ModelClass,
  'v1/Secret': Secret as unknown as ModelClass,
  'v1/Service': Service as unknown as ModelClass,
  'v1/Namespace': Namespace as unknown as ModelClass,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim as unknown as ModelClass,
  'apps/v1/Deployment': Deployment as unknown as ModelClass,
  'apps/v1/StatefulSet': StatefulSet as unknown as ModelClass,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as ModelClass,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as unknown as ModelClass,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject as unknown as ModelClass,
};

const gvk = (o: K8sObject) => `${o.apiVersion}/${o.kind}`;

/**
 * Validates against the model of the object's apiVersion/kind. ServiceMonitor has no model
 * installed: its required fields are checked by hand. Any other kind is a problem, so that
 * a new kind cannot slip in unchecked.
 */
export function schemaProblems(o: K8sObject): string[] {
  const key = gvk(o);
  if (key === 'monitoring.coreos.com/v1/ServiceMonitor') {
    const spec = (o as Json).spec;
    const problems: string[] = [];
    if (!spec?.selector || typeof spec.selector !== 'object') problems.push(`${id(o)}: spec.selector is required`);
    if (!Array.isArray(spec?.endpoints) || spec.endpoints.length === 0) {
      problems.push(`${id(o)}: spec.endpoints needs at least one endpoint`);
    } else {
      spec.endpoints.forEach((e: Json, i: number) => {
        if (!e?.port && !e?.targetPort) problems.push(`${id(o)}: spec.endpoints[${i}] needs port or targetPort`);
      });
    }
    return problems;
  }
  const Model = MODELS[key];
  if (!Model) return [`${id(o)}: no schema for ${key} (add its model to tests/helpers/k8s-checks.ts)`];
  try {
    new Model(o as never).validate();
    return [];
  } catch (err) {
    return [`${id(o)}: ${(err as Error).message}`];
  }
}

// ---------------------------------------------------------------------------------------------
// Unknown keys: walk each object alongside the TypeScript type that kubernetes-models declares
// for its kind. ServiceMonitor gets a hand-written type covering the fields a ServiceMonitor
// commonly uses (anything else is reported, and must be added here on purpose).

const TYPE_SOURCE = `
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import type { ILabelSelector } from '@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector';

interface SecretKey { name?: string; key: string; optional?: boolean }
interface Relabel {
  sourceLabels?: string[]; separator?: string; targetLabel?: string; regex?: string;
  modulus?: number; replacement?: string; action?: string;
}
interface SafeTls {
  ca?: { secret?: SecretKey; configMap?: SecretKey }; cert?: { secret?: SecretKey; configMap?: SecretKey };
  keySecret?: SecretKey; serverName?: string; insecureSkipVerify?: boolean;
}
interface MonitorEndpoint {
  port?: string; targetPort?: string | number; path?: string; scheme?: string;
  params?: { [name: string]: string[] }; interval?: string; scrapeTimeout?: string;
  honorLabels?: boolean; honorTimestamps?: boolean; followRedirects?: boolean; enableHttp2?: boolean;
  filterRunning?: boolean; relabelings?: Relabel[]; metricRelabelings?: Relabel[];
  bearerTokenSecret?: SecretKey; tlsConfig?: SafeTls & { caFile?: string; certFile?: string; keyFile?: string };
}
interface IServiceMonitor {
  apiVersion: 'monitoring.coreos.com/v1'; kind: 'ServiceMonitor'; metadata?: IObjectMeta;
  spec: {
    selector: ILabelSelector; endpoints: MonitorEndpoint[];
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    jobLabel?: string; targetLabels?: string[]; podTargetLabels?: string[];
    sampleLimit?: number; targetLimit?: number; labelLimit?: number;
    attachMetadata?: { node?: boolean };
  };
}

export interface Kinds {
  'v1/ConfigMap': IConfigMap;
  'v1/Secret': ISecret;
  'v1/Service': IService;
  'v1/Namespace': INamespace;
  'v1/PersistentVolumeClaim': IPersistentVolumeClaim;
  'apps/v1/Deployment': IDeployment;
  'apps/v1/StatefulSet': IStatefulSet;
  'policy/v1/PodDisruptionBudget': IPodDisruptionBudget;
  'networking.k8s.io/v1/NetworkPolicy': INetworkPolicy;
  'keda.sh/v1alpha1/ScaledObject': IScaledObject;
  'monitoring.coreos.com/v1/ServiceMonitor': IServiceMonitor;
}
`;

interface TypeIndex {
  checker: ts.TypeChecker;
  kinds: Map<string, ts.Type>;
}

let typeIndex: TypeIndex | undefined;

function loadTypes(): TypeIndex {
  if (typeIndex) return typeIndex;
  // A virtual file inside the repository so that module resolution finds node_modules.
  const root = path.join(REPO_ROOT, 'tests', 'unit', '__k8s_kinds__.ts');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
    strict: true,
    types: [],
    lib: ['lib.es5.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const same = (f: string) => path.resolve(f) === root;
  host.getSourceFile = (f, lang, ...rest) =>
    same(f) ? ts.createSourceFile(f, TYPE_SOURCE, lang) : getSourceFile(f, lang, ...rest);
  host.fileExists = (f) => same(f) || fileExists(f);
  const program = ts.createProgram([root], options, host);
  const errors = ts.getPreEmitDiagnostics(program);
  if (errors.length) {
    const text = errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n');
    throw new Error(`cannot load the kubernetes-models type declarations:\n${text}`);
  }
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(root);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  const kindsSymbol = moduleSymbol && checker.getExportsOfModule(moduleSymbol).find((s) => s.name === 'Kinds');
  if (!kindsSymbol) throw new Error('internal: Kinds interface not found');
  const kindsType = checker.getDeclaredTypeOfSymbol(kindsSymbol);
  const kinds = new Map<string, ts.Type>();
  for (const p of checker.getPropertiesOfType(kindsType)) kinds.set(p.name, checker.getTypeOfSymbol(p));
  typeIndex = { checker, kinds };
  return typeIndex;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function walk(ix: TypeIndex, value: unknown, type: ts.Type, at: string, out: string[]): void {
  const { checker } = ix;
  if (value === null || value === undefined || typeof value !== 'object') return;
  const t = checker.getNonNullableType(type);
  if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
  if (t.isUnion()) {
    // e.g. IntOrString, or an object type mixed with primitives: try every object member.
    const members = t.types.filter((m) => m.flags & ts.TypeFlags.Object);
    if (members.length === 0) return;
    let best: string[] | undefined;
    for (const m of members) {
      const attempt: string[] = [];
      walk(ix, value, m, at, attempt);
      if (!best || attempt.length < best.length) best = attempt;
    }
    out.push(...(best ?? []));
    return;
  }
  if (Array.isArray(value)) {
    const element = checker.getIndexInfoOfType(t, ts.IndexKind.Number)?.type;
    if (!element) return; // a type mismatch, which schema validation reports
    value.forEach((v, i) => walk(ix, v, element, `${at}[${i}]`, out));
    return;
  }
  if (!(t.flags & ts.TypeFlags.Object)) return; // a primitive expected: schema validation reports it
  const stringIndex = checker.getIndexInfoOfType(t, ts.IndexKind.String)?.type;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const where = at ? `${at}.${key}` : key;
    const prop = checker.getPropertyOfType(t, key);
    if (prop) {
      walk(ix, child, checker.getTypeOfSymbol(prop), where, out);
    } else if (stringIndex) {
      walk(ix, child, stringIndex, where, out);
    } else {
      const known = checker.getPropertiesOfType(t).map((p) => p.name);
      const near = known.filter((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
      out.push(`unknown key "${where}"${near.length ? ` (did you mean ${near.map((n) => `"${n}"`).join(' or ')}?)` : ''}`);
    }
  }
}

/** Keys that the kind's type does not declare (typos such as "resource" for "resources"). */
export function unknownKeyProblems(o: K8sObject): string[] {
  const ix = loadTypes();
  const type = ix.kinds.get(gvk(o));
  if (!type) return [`${id(o)}: no type for ${gvk(o)} to check keys against`];
  const out: string[] = [];
  walk(ix, o, type, '', out);
  return out.map((p) => `${id(o)}: ${p}`);
}

// ---------------------------------------------------------------------------------------------
// Names

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export const isDnsLabel = (s: string) => s.length <= 63 && DNS_LABEL.test(s);
export const isDnsSubdomain = (s: string) => s.length <= 253 && DNS_SUBDOMAIN.test(s);
/** IANA service name, as Kubernetes requires for port names. */
export const isPortName = (s: string) =>
  s.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');

function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return `label key "${key}" has an invalid prefix`;
  if (name.length > 63 || !LABEL_NAME.test(name)) return `label key "${key}" is invalid`;
  return undefined;
}

/** Kinds whose names end up as DNS labels (Service names, pod hostnames of a StatefulSet). */
const LABEL_NAMED = new Set(['Service', 'Namespace', 'StatefulSet']);

function podSpecOf(o: K8sObject): Json | undefined {
  const spec = (o as Json).spec;
  if (o.kind === 'Deployment' || o.kind === 'StatefulSet') return spec?.template?.spec;
  return undefined;
}

function containersOf(o: K8sObject): Json[] {
  const pod = podSpecOf(o);
  if (!pod) return [];
  return [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
}

/** DNS-1123 object, container, volume and port names; label keys and values. */
export function nameProblems(o: K8sObject): string[] {
  const out: string[] = [];
  const name = String(o.metadata?.name ?? '');
  const nameOk = LABEL_NAMED.has(o.kind) ? isDnsLabel(name) : isDnsSubdomain(name);
  if (!nameOk) {
    out.push(`name "${name}" is not a DNS-1123 ${LABEL_NAMED.has(o.kind) ? 'label' : 'subdomain'}`);
  }
  if (o.metadata?.namespace !== undefined && !isDnsLabel(o.metadata.namespace)) {
    out.push(`namespace "${o.metadata.namespace}" is not a DNS-1123 label`);
  }
  const labelSets: [string, Record<string, unknown> | undefined][] = [['metadata.labels', o.metadata?.labels]];
  const spec = (o as Json).spec;
  if (spec?.selector?.matchLabels) labelSets.push(['spec.selector.matchLabels', spec.selector.matchLabels]);
  if (spec?.template?.metadata?.labels) labelSets.push(['spec.template.metadata.labels', spec.template.metadata.labels]);
  for (const [where, labels] of labelSets) {
    for (const [k, v] of Object.entries(labels ?? {})) {
      const keyProblem = labelKeyProblem(k);
      if (keyProblem) out.push(`${where}: ${keyProblem}`);
      if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
        out.push(`${where}: label value ${JSON.stringify(v)} of "${k}" is invalid`);
      }
    }
  }
  for (const c of containersOf(o)) {
    if (!isDnsLabel(String(c.name ?? ''))) out.push(`container name "${c.name}" is not a DNS-1123 label`);
    for (const p of c.ports ?? []) {
      if (p.name !== undefined && !isPortName(String(p.name))) out.push(`port name "${p.name}" is not a valid port name`);
    }
  }
  for (const v of podSpecOf(o)?.volumes ?? []) {
    if (!isDnsLabel(String(v.name ?? ''))) out.push(`volume name "${v.name}" is not a DNS-1123 label`);
  }
  if (o.kind === 'Service') {
    for (const p of spec?.ports ?? []) {
      if (p.name !== undefined && !isPortName(String(p.name))) out.push(`port name "${p.name}" is not a valid port name`);
    }
  }
  return out.map((p) => `${id(o)}: ${p}`);
}

// ---------------------------------------------------------------------------------------------
// KEDA triggers

/** Trigger types we deploy, with the metadata keys KEDA needs for each. */
export const TRIGGER_METADATA: Record<string, string[]> = {
  'nats-jetstream': ['natsServerMonitoringEndpoint', 'account', 'stream', 'consumer', 'lagThreshold'],
  prometheus: ['serverAddress', 'query', 'threshold'],
};

const INTEGER = /^[0-9]+$/;
const NUMBER = /^[0-9]+(\.[0-9]+)?$/;

/** Known trigger types, required metadata present and well-formed. */
export function triggerProblems(o: K8sObject): string[] {
  if (o.kind !== 'ScaledObject') return [];
  const out: string[] = [];
  const triggers: Json[] = (o as Json).spec?.triggers ?? [];
  if (triggers.length === 0) out.push('has no triggers');
  triggers.forEach((t, i) => {
    const at = `trigger ${i} (${t.type})`;
    const required = TRIGGER_METADATA[t.type];
    if (!required) {
      out.push(`${at}: unknown trigger type "${t.type}"`);
      return;
    }
    const md: Record<string, unknown> = t.metadata ?? {};
    for (const key of required) {
      if (typeof md[key] !== 'string' || md[key] === '') out.push(`${at}: metadata.${key} is missing`);
    }
    if (t.type === 'nats-jetstream') {
      const endpoint = md.natsServerMonitoringEndpoint;
      if (typeof endpoint === 'string' && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}$/.test(endpoint)) {
        out.push(`${at}: natsServerMonitoringEndpoint "${endpoint}" must be host:port without a scheme`);
      }
      for (const key of ['lagThreshold', 'activationLagThreshold']) {
        const v = md[key];
        if (v !== undefined && (typeof v !== 'string' || !INTEGER.test(v))) out.push(`${at}: ${key} must be an integer string`);
      }
      if (md.lagThreshold === '0') out.push(`${at}: lagThreshold must be above 0`);
    }
    if (t.type === 'prometheus') {
      for (const key of ['threshold', 'activationThreshold']) {
        const v = md[key];
        if (v !== undefined && (typeof v !== 'string' || !NUMBER.test(v))) out.push(`${at}: ${key} must be a number string`);
      }
      if (typeof md.serverAddress === 'string' && !/^https?:\/\//.test(md.serverAddress)) {
        out.push(`${at}: serverAddress must be an http(s) URL`);
      }
    }
  });
  return out.map((p) => `${id(o)}: ${p}`);
}

// ---------------------------------------------------------------------------------------------
// Our workloads

function imageRepo(image: string): string {
  const noDigest = image.split('@')[0];
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const repo = colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
  return repo.slice(repo.lastIndexOf('/') + 1);
}

/** The service a container of ours runs (its first argument), or undefined for other images. */
export function serviceOf(c: Json): string | undefined {
  if (typeof c.image !== 'string' || imageRepo(c.image) !== OUR_IMAGE) return undefined;
  if (Array.isArray(c.command)) return undefined; // another command than `service` (e.g. auth provision)
  const arg = Array.isArray(c.args) ? c.args[0] : undefined;
  return typeof arg === 'string' ? arg : 'mapper'; // the image's CMD
}

export function ourContainers(o: K8sObject): Json[] {
  return containersOf(o).filter((c) => serviceOf(c) !== undefined);
}

/** Every image has an explicit tag (not "latest") or a digest. */
export function imageProblems(o: K8sObject): string[] {
  const out: string[] = [];
  for (const c of containersOf(o)) {
    const image = c.image;
    if (typeof image !== 'string' || image === '') {
      out.push(`container "${c.name}" has no image`);
      continue;
    }
    if (image.includes('@sha256:')) continue;
    const lastSlash = image.lastIndexOf('/');
    const colon = image.lastIndexOf(':');
    const tag = colon > lastSlash ? image.slice(colon + 1) : '';
    if (!tag) out.push(`container "${c.name}": image "${image}" has no tag`);
    else if (tag === 'latest') out.push(`container "${c.name}": image "${image}" uses the "latest" tag`);
  }
  return out.map((p) => `${id(o)}: ${p}`);
}

/** Every container of a Deployment or StatefulSet has both probes and cpu/memory requests and limits. */
export function workloadProblems(o: K8sObject): string[] {
  if (o.kind !== 'Deployment' && o.kind !== 'StatefulSet') return [];
  const out: string[] = [];
  const pod = podSpecOf(o) ?? {};
  for (const c of pod.containers ?? []) {
    const n = `container "${c.name}"`;
    if (!c.livenessProbe) out.push(`${n} has no livenessProbe`);
    if (!c.readinessProbe) out.push(`${n} has no readinessProbe`);
    for (const part of ['requests', 'limits'] as const) {
      for (const res of ['cpu', 'memory']) {
        if (c.resources?.[part]?.[res] === undefined) out.push(`${n} has no resources.${part}.${res}`);
      }
    }
    if (c.securityContext?.allowPrivilegeEscalation !== false) out.push(`${n} must set allowPrivilegeEscalation: false`);
    if (serviceOf(c)) {
      if (c.livenessProbe?.httpGet?.path !== '/healthz') out.push(`${n}: livenessProbe must GET /healthz`);
      if (c.readinessProbe?.httpGet?.path !== '/readyz') out.push(`${n}: readinessProbe must GET /readyz`);
      if (c.securityContext?.readOnlyRootFilesystem !== true) out.push(`${n} must set readOnlyRootFilesystem: true`);
      const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
      if (nonRoot !== true) out.push(`${n} must run with runAsNonRoot: true`);
    }
  }
  if (ourContainers(o).length > 0) {
    const grace = pod.terminationGracePeriodSeconds;
    if (typeof grace !== 'number' || grace < 60) {
      out.push(`terminationGracePeriodSeconds must be at least 60 to let a service drain (is ${grace ?? 'unset (30)'})`);
    }
  }
  return out.map((p) => `${id(o)}: ${p}`);
}

// ---------------------------------------------------------------------------------------------
// Consistency with the code

const find = (objs: K8sObject[], kind: string, name: string) =>
  objs.find((o) => o.kind === kind && o.metadata?.name === name);

/**
 * The environment each container of ours gets (envFrom ConfigMaps, then env). Values from
 * Secrets or the downward API are represented by a placeholder string.
 */
function effectiveEnv(objs: K8sObject[], c: Json, problems: string[], where: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = find(objs, 'ConfigMap', from.configMapRef.name) as Json | undefined;
      if (!cm) {
        if (!from.configMapRef.optional) problems.push(`${where}: envFrom ConfigMap "${from.configMapRef.name}" is not in the build`);
        continue;
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) env[(from.prefix ?? '') + k] = String(v);
    } else if (from.secretRef) {
      // Keys of a Secret are unknown offline: name variables one by one with secretKeyRef instead.
      problems.push(`${where}: envFrom Secret "${from.secretRef.name}" hides which variables it sets; use env with secretKeyRef`);
    }
  }
  for (const e of c.env ?? []) env[e.name] = e.value !== undefined ? String(e.value) : 'from-a-reference';
  return env;
}

/**
 * Variables our containers receive are names the services accept (ENV_KEYS) and parse with
 * the service's own schema; probes point at a container port equal to METRICS_PORT.
 */
export function envProblems(objs: K8sObject[], envKeys: readonly string[]): string[] {
  const allowed = new Set(envKeys);
  const out: string[] = [];
  for (const o of objs) {
    for (const c of ourContainers(o)) {
      const where = `${id(o)}: container "${c.name}"`;
      const env = effectiveEnv(objs, c, out, where);
      for (const k of Object.keys(env)) {
        if (!allowed.has(k)) out.push(`${where}: environment variable ${k} is not accepted by shared/config/env.ts`);
      }
      const picked = Object.fromEntries(Object.entries(env).filter(([k]) => allowed.has(k)));
      const parsed = EnvSchema.safeParse(picked);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) out.push(`${where}: ${issue.path.join('.')}: ${issue.message}`);
        continue;
      }
      const metricsPort = parsed.data.METRICS_PORT;
      for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const probe = c[probeName];
        if (!probe?.httpGet) continue;
        const port = probe.httpGet.port;
        const number =
          typeof port === 'number' ? port : (c.ports ?? []).find((p: Json) => p.name === port)?.containerPort;
        if (number !== metricsPort) {
          out.push(`${where}: ${probeName} targets port ${String(port)} (${number ?? 'not a container port'}), but METRICS_PORT is ${metricsPort}`);
        }
      }
    }
  }
  return out;
}

/** The MR_PREFIX our containers run with (the first one found; default "mr"). */
export function prefixOf(objs: K8sObject[]): string {
  for (const o of objs) {
    for (const c of ourContainers(o)) {
      const env = effectiveEnv(objs, c, [], '');
      return env.MR_PREFIX ?? 'mr';
    }
  }
  return 'mr';
}

/**
 * ScaledObjects and the code agree: each nats-jetstream trigger names the stream and durable
 * consumer that the target's service creates (shared/protocol/names.ts); each scaleTargetRef
 * names a Deployment in the build; every worker Deployment is autoscaled on its consumer; the
 * monitoring endpoint is a Service in the ScaledObject's own namespace with that port.
 */
export function consumerProblems(objs: K8sObject[], nm: Names): string[] {
  const out: string[] = [];
  const expected: Record<string, { stream: string; consumer: string }> = {
    coordinator: { stream: nm.streams.jobs, consumer: nm.consumers.coordinator },
  };
  for (const kind of TASK_KINDS) expected[WORKER_OF[kind]] = { stream: nm.streams.tasks, consumer: nm.consumers[kind] };

  const scaled = new Set<string>();
  for (const so of objs.filter((o) => o.kind === 'ScaledObject') as Json[]) {
    const where = id(so as K8sObject);
    const ref = so.spec?.scaleTargetRef ?? {};
    const targetKind = ref.kind ?? 'Deployment';
    const target = find(objs, targetKind, ref.name);
    if (!target) {
      out.push(`${where}: scaleTargetRef ${targetKind}/${ref.name} is not in the build`);
      continue;
    }
    const services = [...new Set(ourContainers(target).map((c) => serviceOf(c)!))];
    for (const t of (so.spec?.triggers ?? []) as Json[]) {
      if (t.type !== 'nats-jetstream') continue;
      if (services.length !== 1) {
        out.push(`${where}: nats-jetstream trigger on ${id(target)}, which does not run exactly one llmxmapreduce service`);
        continue;
      }
      const want = expected[services[0]];
      if (!want) {
        out.push(`${where}: service "${services[0]}" has no durable consumer`);
        continue;
      }
      scaled.add(target.metadata.name);
      if (t.metadata?.stream !== want.stream) {
        out.push(`${where}: stream "${t.metadata?.stream}" but ${services[0]} consumes from "${want.stream}"`);
      }
      if (t.metadata?.consumer !== want.consumer) {
        out.push(`${where}: consumer "${t.metadata?.consumer}" but ${services[0]} creates the durable "${want.consumer}"`);
      }
      const endpoint = String(t.metadata?.natsServerMonitoringEndpoint ?? '');
      const [host, port] = endpoint.split(':');
      const [svcName, ns] = host.split('.');
      const svc = find(objs, 'Service', svcName) as Json | undefined;
      if (!svc) out.push(`${where}: natsServerMonitoringEndpoint names Service "${svcName}", which is not in the build`);
      else if (!(svc.spec?.ports ?? []).some((p: Json) => String(p.port) === port)) {
        out.push(`${where}: Service "${svcName}" has no port ${port}`);
      }
      const ownNs = so.metadata?.namespace;
      if (ownNs !== undefined && ns !== ownNs) {
        out.push(`${where}: natsServerMonitoringEndpoint points at namespace "${ns}", but the ScaledObject is in "${ownNs}"`);
      }
    }
  }
  for (const o of objs.filter((x) => x.kind === 'Deployment')) {
    for (const c of ourContainers(o)) {
      const svc = serviceOf(c)!;
      if (svc !== 'coordinator' && !scaled.has(o.metadata.name)) {
        out.push(`${id(o)}: worker "${svc}" has no ScaledObject with a nats-jetstream trigger`);
      }
    }
  }
  return out;
}

/**
 * The NATS StatefulSet and its configuration agree: with N > 1 replicas the config has a
 * cluster block with a route to each of the N pods; with one replica it has no routes.
 */
export function natsClusterProblems(objs: K8sObject[]): string[] {
  const out: string[] = [];
  for (const sts of objs.filter((o) => o.kind === 'StatefulSet') as Json[]) {
    const container = (sts.spec?.template?.spec?.containers ?? []).find((c: Json) => /(^|\/)nats:/.test(String(c.image)));
    if (!container) continue;
    const where = id(sts as K8sObject);
    const volume = (sts.spec.template.spec.volumes ?? []).find((v: Json) => v.configMap);
    const cm = volume && (find(objs, 'ConfigMap', volume.configMap.name) as Json | undefined);
    // nats.conf is the server's file; other keys (nats-auth.conf) are files it includes
    const conf: string | undefined = cm && ((cm.data?.['nats.conf'] as string | undefined) ?? (Object.values(cm.data ?? {}).find((v) => typeof v === 'string') as string | undefined));
    const allText = cm ? (Object.values(cm.data ?? {}).filter((v) => typeof v === 'string') as string[]).join('\n') : '';
    if (!conf) {
      out.push(`${where}: no NATS configuration ConfigMap in the build`);
      continue;
    }
    const replicas: number = sts.spec.replicas ?? 1;
    const lines = conf.split('\n').map((l) => l.replace(/#.*$/, ''));
    const routes = lines.flatMap((l) => [...l.matchAll(/nats:\/\/([a-z0-9.-]+):6222/g)].map((m) => m[1]));
    if (replicas > 1) {
      const name = sts.metadata.name;
      const want = Array.from({ length: replicas }, (_, i) => `${name}-${i}.${sts.spec.serviceName}`);
      for (const w of want) if (!routes.includes(w)) out.push(`${where}: NATS config has no route to ${w}`);
      for (const r of routes) if (!want.includes(r)) out.push(`${where}: NATS route to ${r}, which is not a pod of this StatefulSet`);
      if (!lines.some((l) => /^\s*jetstream\s*\{/.test(l))) out.push(`${where}: NATS config does not enable JetStream`);
    } else if (routes.length > 0) {
      out.push(`${where}: one replica, but the NATS config routes to ${routes.join(', ')} (JetStream would wait for a quorum)`);
    }
    if (!/server_name:\s*\$POD_NAME/.test(conf)) {
      out.push(`${where}: server_name must be $POD_NAME (KEDA locates consumer leaders by node name)`);
    }
    const envNames = new Set((container.env ?? []).map((e: Json) => e.name));
    const allLines = allText.split('\n').map((l) => l.replace(/#.*$/, ''));
    for (const v of new Set(allLines.flatMap((l) => [...l.matchAll(/(?<!["\w.])\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1])))) {
      if (!envNames.has(v)) out.push(`${where}: the NATS config uses $${v}, which the nats container's env does not set`);
    }
    const ldm = /^\s*lame_duck_duration:\s*"?(\d+)s"?/m.exec(lines.join('\n'));
    if (ldm && Number(ldm[1]) < 30) out.push(`${where}: lame_duck_duration ${ldm[1]}s is below the server's minimum of 30s`);
  }
  return out;
}

/** In-cluster hosts in the routing file (models.yaml) are Services of the build with that port. */
export function routingProblems(objs: K8sObject[]): string[] {
  const out: string[] = [];
  for (const cm of objs.filter((o) => o.kind === 'ConfigMap') as Json[]) {
    const text = cm.data?.['models.yaml'];
    if (typeof text !== 'string') continue;
    const where = id(cm as K8sObject);
    let doc: Json;
    try {
      doc = parseYaml(text) as Json;
    } catch (err) {
      out.push(`${where}: models.yaml does not parse: ${(err as Error).message}`);
      continue;
    }
    const models: Json = doc?.models ?? {};
    for (const [stage, s] of Object.entries((doc?.stages ?? {}) as Json)) {
      if (s?.model !== undefined && !(s.model in models)) out.push(`${where}: stage "${stage}" uses unknown model "${s.model}"`);
      if (s?.fallback !== undefined && !(s.fallback in models)) out.push(`${where}: stage "${stage}" falls back to unknown model "${s.fallback}"`);
    }
    for (const [model, m] of Object.entries(models)) {
      for (const e of (m?.endpoints ?? []) as Json[]) {
        let url: URL;
        try {
          url = new URL(String(e.url));
        } catch {
          out.push(`${where}: model "${model}" has an invalid endpoint URL ${JSON.stringify(e.url)}`);
          continue;
        }
        if (url.hostname.includes('.')) continue; // outside the namespace: not ours to check
        const svc = find(objs, 'Service', url.hostname) as Json | undefined;
        const port = url.port || (url.protocol === 'https:' ? '443' : '80');
        if (!svc) out.push(`${where}: model "${model}" routes to Service "${url.hostname}", which is not in the build`);
        else if (!(svc.spec?.ports ?? []).some((p: Json) => String(p.port) === port)) {
          out.push(`${where}: Service "${url.hostname}" has no port ${port}`);
        }
      }
    }
  }
  return out;
}

/** All per-object checks of one object. */
export function objectProblems(o: K8sObject): string[] {
  return [
    ...schemaProblems(o),
    ...unknownKeyProblems(o),
    ...nameProblems(o),
    ...triggerProblems(o),
    ...imageProblems(o),
    ...workloadProblems(o),
  ];
}
