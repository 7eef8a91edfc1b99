/** Checks that the manifests agree with the code: environment, consumers, NATS config, model routes. */
import { parse as parseYaml } from 'yaml';
import { EnvSchema } from '../../shared/config/env.ts';
import { TASK_KINDS, WORKER_OF, type Names } from '../../shared/protocol/names.ts';
import { id, type Json, type K8sObject } from './k8s-base.ts';
import { ourContainers, serviceOf } from './k8s-checks.ts';

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
/** Variables read by the Node.js runtime itself rather than by shared/config/env.ts. */
const RUNTIME_ENV = new Set(['NODE_OPTIONS']);

export function envProblems(objs: K8sObject[], envKeys: readonly string[]): string[] {
  const allowed = new Set(envKeys);
  const out: string[] = [];
  for (const o of objs) {
    for (const c of ourContainers(o)) {
      const where = `${id(o)}: container "${c.name}"`;
      const env = effectiveEnv(objs, c, out, where);
      for (const k of Object.keys(env)) {
        if (!allowed.has(k) && !RUNTIME_ENV.has(k)) out.push(`${where}: environment variable ${k} is not accepted by shared/config/env.ts`);
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
      if (svc !== 'coordinator' && svc !== 'gateway' && !scaled.has(o.metadata.name)) { // the gateway consumes no tasks
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

