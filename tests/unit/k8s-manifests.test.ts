/**
 * Offline checks of deploy/k8s: both overlays build with `kubectl kustomize` and every object
 * passes schema validation and the strict checks in k8s-checks.ts. The second half feeds each
 * strict check a deliberately broken object, so that a check that can never fail is noticed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_KEYS } from '../../shared/config/env.ts';
import { names } from '../../shared/protocol/names.ts';
import { K8S_USERS, k8sAuthConf, k8sPasswordVar } from '../../shared/security/auth-init.ts';
import {
  REPO_ROOT,
  consumerProblems,
  envProblems,
  imageProblems,
  kubectlAvailable,
  kustomizeBuild,
  nameProblems,
  natsClusterProblems,
  objectProblems,
  parseStream,
  prefixOf,
  routingProblems,
  schemaProblems,
  triggerProblems,
  unknownKeyProblems,
  workloadProblems,
  type K8sObject,
} from '../helpers/k8s-checks.ts';
import { egressOf, podLabelsOf, unrestrictedEgress } from '../helpers/k8s-netpol.ts';

const HAVE_KUBECTL = kubectlAvailable();
if (!HAVE_KUBECTL) {
  console.warn(
    '\n[k8s-manifests] NOTICE: kubectl is not installed; the kustomize builds of deploy/k8s/overlays ' +
      'are SKIPPED. The strict checks are still exercised on hand-made objects.\n',
  );
}

const overlays = ['dev', 'prod'] as const;
const built = new Map<string, K8sObject[]>();
function render(overlay: string): K8sObject[] {
  let objs = built.get(overlay);
  if (!objs) {
    objs = parseStream(kustomizeBuild(path.join(REPO_ROOT, 'deploy/k8s/overlays', overlay)));
    built.set(overlay, objs);
  }
  return objs;
}

const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const named = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} is not in the build`);
  return o as K8sObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
};
const envConfig = (objs: K8sObject[]) =>
  (objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('llmxmr-env')) as unknown as { data: Record<string, string> })
    .data;

describe.skipIf(!HAVE_KUBECTL).each(overlays)('overlay %s', (overlay) => {
  it('builds with kubectl kustomize into a namespaced stream of objects', () => {
    const objs = render(overlay);
    expect(objs.length).toBeGreaterThan(20);
    for (const o of objs) {
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBeTruthy();
    }
    const keys = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(keys).size, 'duplicate objects').toBe(keys.length);
  }, 60_000);

  it('validates every object (schemas, unknown keys, names, triggers, images, probes, resources)', () => {
    const problems = render(overlay).flatMap(objectProblems);
    expect(problems).toEqual([]);
  }, 60_000);

  it('uses only environment variables the services accept, with values they parse', () => {
    expect(envProblems(render(overlay), ENV_KEYS)).toEqual([]);
  });

  it('scales each worker on the durable consumer that the code creates', () => {
    const objs = render(overlay);
    expect(consumerProblems(objs, names(prefixOf(objs)))).toEqual([]);
    const consumers = byKind(objs, 'ScaledObject')
      .flatMap((so) => (so as any).spec.triggers) // eslint-disable-line @typescript-eslint/no-explicit-any
      .filter((t: { type: string }) => t.type === 'nats-jetstream')
      .map((t: { metadata: { consumer: string } }) => t.metadata.consumer)
      .sort();
    expect(consumers).toEqual(['convolver', 'mapper', 'reducer']);
  });

  it('keeps the NATS configuration in step with the StatefulSet, and model routes with Services', () => {
    const objs = render(overlay);
    expect(natsClusterProblems(objs)).toEqual([]);
    expect(routingProblems(objs)).toEqual([]);
  });

  it('runs the four services from one image with a coordinator pair', () => {
    const objs = render(overlay);
    for (const svc of ['coordinator', 'mapper', 'convolver', 'reducer']) {
      const d = named(objs, 'Deployment', svc);
      expect(d.spec.template.spec.containers[0].args).toEqual([svc]);
    }
    expect(named(objs, 'Deployment', 'coordinator').spec.replicas).toBe(2);
    for (const w of ['mapper', 'convolver', 'reducer']) {
      expect(named(objs, 'Deployment', w).spec.replicas, `${w} replicas belong to KEDA`).toBeUndefined();
      expect(named(objs, 'Deployment', w).spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(120);
    }
  });

  it('gives every service its own NATS credential, and the administrator’s only to the provisioning step', () => {
    const objs = render(overlay);
    // kustomize may suffix generated Secret names with a content hash
    const secretOf = (c: { env?: { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[] }, v: string) =>
      c.env?.find((e) => e.name === v)?.valueFrom?.secretKeyRef?.name?.replace(/-[a-z0-9]{10}$/, '');
    for (const svc of ['coordinator', 'mapper', 'convolver', 'reducer']) {
      const pod = named(objs, 'Deployment', svc).spec.template.spec;
      expect([secretOf(pod.containers[0], 'NATS_USER'), secretOf(pod.containers[0], 'NATS_PASS')], svc).toEqual([`llmxmr-nats-${svc}`, `llmxmr-nats-${svc}`]);
      const init = (pod.initContainers ?? []) as { name: string; env?: never[] }[];
      expect(init.map((c) => secretOf(c, 'NATS_PASS'))).toEqual(svc === 'coordinator' ? ['llmxmr-nats-admin'] : []);
    }
    const nats = named(objs, 'StatefulSet', 'nats').spec.template.spec.containers[0];
    for (const u of K8S_USERS) expect(secretOf(nats, `${k8sPasswordVar(u)}_RAW`), u).toBe(`llmxmr-nats-${u}`);
    const conf = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('nats-config')) as unknown as { data: Record<string, string> };
    expect(conf.data['nats.conf']).toContain('include "nats-auth.conf"');
    expect(conf.data['nats-auth.conf']).toBe(k8sAuthConf('mr'));
  });
});

describe.skipIf(!HAVE_KUBECTL)('overlay differences', () => {
  it('dev: one NATS node, no GPU fleet, offline engine, no ServiceMonitors', () => {
    const objs = render('dev');
    expect(named(objs, 'StatefulSet', 'nats').spec.replicas).toBe(1);
    expect(JSON.stringify(objs)).not.toContain('nvidia.com/gpu');
    expect(objs.some((o) => o.metadata.name.startsWith('vllm'))).toBe(false);
    expect(envConfig(objs).OPENAI_BASE_URL).toBeUndefined();
    expect(byKind(objs, 'ServiceMonitor')).toEqual([]);
  }, 60_000);

  it('prod: three NATS nodes, the GPU fleet scaled on queued requests, services routed to it', () => {
    const objs = render('prod');
    expect(named(objs, 'StatefulSet', 'nats').spec.replicas).toBe(3);
    const vllm = named(objs, 'Deployment', 'vllm').spec.template.spec.containers[0];
    expect(vllm.image).toMatch(/^vllm\/vllm-openai:v\d+\.\d+\.\d+$/);
    expect(vllm.resources.limits['nvidia.com/gpu']).toBe('1');
    expect(vllm.readinessProbe.httpGet.path).toBe('/health');
    expect(named(objs, 'Service', 'vllm-pods').spec.clusterIP).toBe('None');
    const trigger = named(objs, 'ScaledObject', 'vllm').spec.triggers[0];
    expect(trigger.type).toBe('prometheus');
    expect(trigger.metadata.query).toContain('vllm:num_requests_waiting');
    // The workers' pools keep vLLM's queues short: the calls they hold back count too.
    expect(trigger.metadata.query).toContain('llmxmr_model_calls_waiting');
    expect(trigger.metadata.query.split(`namespace="${named(objs, 'ScaledObject', 'vllm').metadata.namespace}"`).length - 1).toBe(2);
    const env = envConfig(objs);
    expect(env.OPENAI_BASE_URL).toBe('http://vllm:8000/v1');
    expect(vllm.args).toContain(`--served-model-name=${env.LLM_MODEL}`);
    expect(byKind(objs, 'ServiceMonitor').map((o) => o.metadata.name).sort()).toEqual(['llmxmr-services', 'nats', 'vllm']);
    for (const o of objs) expect(imageProblems(o)).toEqual([]);
    const ours = named(objs, 'Deployment', 'mapper').spec.template.spec.containers[0].image as string;
    expect(ours).toMatch(/^[a-z0-9.-]+\/llmxmapreduce:\d+\.\d+\.\d+$/);
  }, 60_000);
});

describe.skipIf(!HAVE_KUBECTL).each(overlays)('egress of overlay %s', (overlay) => {
  const reach = (objs: K8sObject[], kind: string, name: string) => egressOf(objs, podLabelsOf(named(objs, kind, name))).allowed;
  const NATS = ['dns :53/TCP', 'dns :53/UDP', 'pod app.kubernetes.io/name=nats :4222/TCP'];

  it('restricts where every pod may connect', () => {
    expect(unrestrictedEgress(render(overlay))).toEqual([]);
  });

  it('lets the coordinator reach NATS only, and the workers NATS and the model servers only', () => {
    const objs = render(overlay);
    expect(reach(objs, 'Deployment', 'coordinator')).toEqual(NATS);
    for (const w of ['mapper', 'convolver', 'reducer']) {
      expect(reach(objs, 'Deployment', w), w).toEqual([...NATS, 'pod app.kubernetes.io/name=vllm :8000/TCP', 'public :443/TCP'].sort());
    }
    expect(reach(objs, 'StatefulSet', 'nats')).toEqual(['dns :53/TCP', 'dns :53/UDP', 'pod app.kubernetes.io/name=nats :6222/TCP']);
    if (overlay === 'prod') expect(reach(objs, 'Deployment', 'vllm')).toEqual(['dns :53/TCP', 'dns :53/UDP', 'public :443/TCP']);
  });
});

describe('the image', () => {
  // End of life of each Node.js LTS line (nodejs.org release schedule).
  const NODE_EOL: Record<number, string> = { 20: '2026-04-30', 22: '2027-04-30', 24: '2028-04-30' };

  it('is built on a Node.js LTS line that is still supported', () => {
    const text = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const m = /^ARG NODE_IMAGE=node:(\d+)\.(\d+)\.(\d+)-[a-z]+-slim$/m.exec(text);
    expect(m, 'ARG NODE_IMAGE=node:<major>.<minor>.<patch>-<debian>-slim').not.toBeNull();
    const major = Number(m![1]);
    expect(major % 2, 'LTS lines have even major versions').toBe(0);
    expect(NODE_EOL[major], `add the end-of-life date of Node ${major} to this test`).toBeDefined();
    expect(new Date(NODE_EOL[major]).getTime()).toBeGreaterThan(Date.now());
    // the services run as the numeric user the manifests check (runAsNonRoot needs a number)
    expect(text).toMatch(/^USER 1000:1000$/m);
  });
});

