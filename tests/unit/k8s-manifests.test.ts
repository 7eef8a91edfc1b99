/**
 * Offline checks of deploy/k8s: both overlays build with `kubectl kustomize` and every object
 * passes schema validation and the strict checks in k8s-checks.ts. The second half feeds each
 * strict check a deliberately broken object, so that a check that can never fail is noticed.
 */
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

// -------------------------------------------------------------------------------------------
// Each strict check must be able to fail: feed it something deliberately broken.

function worker(name = 'mapper'): K8sObject & Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'ns', labels: { 'app.kubernetes.io/name': name } },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': name } },
        spec: {
          terminationGracePeriodSeconds: 120,
          securityContext: { runAsNonRoot: true },
          containers: [
            {
              name,
              image: 'registry.example.com/llmxmapreduce:0.1.0',
              args: [name],
              envFrom: [{ configMapRef: { name: 'llmxmr-env' } }],
              env: [{ name: 'MR_CONCURRENCY', value: '8' }],
              ports: [{ name: 'metrics', containerPort: 9464 }],
              livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' } },
              readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' } },
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '1Gi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
            },
          ],
        },
      },
    },
  };
}

function envMap(data: Record<string, string> = { NATS_URL: 'nats://nats:4222', METRICS_PORT: '9464' }): K8sObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'llmxmr-env', namespace: 'ns' }, data };
}

function natsHeadless(): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'nats-headless', namespace: 'ns' },
    spec: { clusterIP: 'None', selector: { app: 'nats' }, ports: [{ name: 'monitor', port: 8222 }] },
  };
}

function scaled(consumer = 'mapper', target = 'mapper', extra: Record<string, string> = {}): K8sObject & Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: target, namespace: 'ns' },
    spec: {
      scaleTargetRef: { name: target },
      minReplicaCount: 1,
      maxReplicaCount: 4,
      triggers: [
        {
          type: 'nats-jetstream',
          metadata: {
            natsServerMonitoringEndpoint: 'nats-headless.ns.svc.cluster.local:8222',
            account: '$G',
            stream: 'MR_TASKS',
            consumer,
            lagThreshold: '16',
            activationLagThreshold: '1',
            ...extra,
          },
        },
      ],
    },
  };
}

describe('the strict checks pass on good objects', () => {
  it('accepts a well-formed worker, its ConfigMap and its ScaledObject', () => {
    const objs = [worker(), envMap(), natsHeadless(), scaled()];
    expect(objs.flatMap(objectProblems)).toEqual([]);
    expect(envProblems(objs, ENV_KEYS)).toEqual([]);
    expect(consumerProblems(objs, names('mr'))).toEqual([]);
  });
});

describe('each strict check catches a broken object', () => {
  it('schema: a wrong type is reported (kubernetes-models)', () => {
    const d = worker();
    d.spec.template.spec.containers[0].name = 42;
    expect(schemaProblems(d).join('\n')).toMatch(/must be string/);
  });

  it('schema: a kind without a model is reported', () => {
    const o: K8sObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
    expect(schemaProblems(o).join('\n')).toMatch(/no schema for example.com\/v1\/Widget/);
  });

  it('schema: a ServiceMonitor without endpoints is reported', () => {
    const o: K8sObject = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'm' },
      spec: { selector: {}, endpoints: [] },
    };
    expect(schemaProblems(o).join('\n')).toMatch(/at least one endpoint/);
  });

  it('unknown keys: a typo that schema validation accepts is reported, with a suggestion', () => {
    const d = worker();
    d.spec.template.spec.containers[0].resource = d.spec.template.spec.containers[0].resources;
    expect(schemaProblems(d)).toEqual([]); // the models do not notice
    const problems = unknownKeyProblems(d).join('\n');
    expect(problems).toMatch(/unknown key "spec.template.spec.containers\[0\].resource"/);
    expect(problems).toMatch(/did you mean "resources"/);
  });

  it('unknown keys: also inside KEDA objects and ServiceMonitors', () => {
    const so = scaled();
    so.spec.maxReplicas = 3;
    expect(unknownKeyProblems(so).join('\n')).toMatch(/unknown key "spec.maxReplicas"/);
    const sm: K8sObject = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'm' },
      spec: { selector: {}, endpoints: [{ port: 'metrics', intervall: '15s' }] },
    };
    expect(unknownKeyProblems(sm).join('\n')).toMatch(/unknown key "spec.endpoints\[0\].intervall"/);
  });

  it('names: invalid object, container, port and label names are reported', () => {
    const d = worker('Mapper_1');
    d.spec.template.spec.containers[0].ports[0].name = 'metrics-port-too-long';
    d.metadata.labels!['bad key!'] = 'x';
    const problems = nameProblems(d).join('\n');
    expect(problems).toMatch(/name "Mapper_1" is not a DNS-1123 subdomain/);
    expect(problems).toMatch(/container name "Mapper_1"/);
    expect(problems).toMatch(/port name "metrics-port-too-long"/);
    expect(problems).toMatch(/label key "bad key!"/);
    const svc = natsHeadless();
    svc.metadata.name = 'nats.headless';
    expect(nameProblems(svc).join('\n')).toMatch(/not a DNS-1123 label/);
  });

  it('triggers: missing nats-jetstream metadata and unknown trigger types are reported', () => {
    const so = scaled();
    delete so.spec.triggers[0].metadata.natsServerMonitoringEndpoint;
    delete so.spec.triggers[0].metadata.lagThreshold;
    so.spec.triggers.push({ type: 'nats-jetstreem', metadata: {} });
    const problems = triggerProblems(so).join('\n');
    expect(problems).toMatch(/metadata.natsServerMonitoringEndpoint is missing/);
    expect(problems).toMatch(/metadata.lagThreshold is missing/);
    expect(problems).toMatch(/unknown trigger type "nats-jetstreem"/);
    const withScheme = scaled('mapper', 'mapper', { natsServerMonitoringEndpoint: 'http://nats:8222', lagThreshold: 'ten' });
    const more = triggerProblems(withScheme).join('\n');
    expect(more).toMatch(/without a scheme/);
    expect(more).toMatch(/lagThreshold must be an integer/);
  });

  it('images: untagged and latest images are reported', () => {
    const d = worker();
    d.spec.template.spec.containers[0].image = 'registry.example.com:5000/llmxmapreduce';
    d.spec.template.spec.containers.push({ ...d.spec.template.spec.containers[0], name: 'side', image: 'nats:latest' });
    const problems = imageProblems(d).join('\n');
    expect(problems).toMatch(/"registry.example.com:5000\/llmxmapreduce" has no tag/);
    expect(problems).toMatch(/"nats:latest" uses the "latest" tag/);
    const pinned = worker();
    pinned.spec.template.spec.containers[0].image = 'nats@sha256:' + 'a'.repeat(64);
    expect(imageProblems(pinned)).toEqual([]);
  });

  it('workloads: missing probes, resources and a short grace period are reported', () => {
    const d = worker();
    const c = d.spec.template.spec.containers[0];
    delete c.readinessProbe;
    delete c.resources.limits.memory;
    c.livenessProbe.httpGet.path = '/';
    c.securityContext.readOnlyRootFilesystem = false;
    d.spec.template.spec.terminationGracePeriodSeconds = 30;
    const problems = workloadProblems(d).join('\n');
    expect(problems).toMatch(/no readinessProbe/);
    expect(problems).toMatch(/no resources.limits.memory/);
    expect(problems).toMatch(/livenessProbe must GET \/healthz/);
    expect(problems).toMatch(/readOnlyRootFilesystem/);
    expect(problems).toMatch(/terminationGracePeriodSeconds must be at least 60/);
  });

  it('env: variables the services do not accept, bad values and a wrong probe port are reported', () => {
    const d = worker();
    d.spec.template.spec.containers[0].env.push({ name: 'OPENAI_BASE', value: 'http://x' });
    const objs = [d, envMap({ NATS_URL: 'nats://nats:4222', METRICS_PORT: '9464', MR_CONCURRENCY_MAX: '3' })];
    const problems = envProblems(objs, ENV_KEYS).join('\n');
    expect(problems).toMatch(/OPENAI_BASE is not accepted/);
    expect(problems).toMatch(/MR_CONCURRENCY_MAX is not accepted/);

    const badValue = worker();
    badValue.spec.template.spec.containers[0].env = [{ name: 'MR_CONCURRENCY', value: 'many' }];
    expect(envProblems([badValue, envMap()], ENV_KEYS).join('\n')).toMatch(/MR_CONCURRENCY/);

    const otherPort = [worker(), envMap({ METRICS_PORT: '9100' })];
    expect(envProblems(otherPort, ENV_KEYS).join('\n')).toMatch(/but METRICS_PORT is 9100/);

    const missingMap = [worker()];
    expect(envProblems(missingMap, ENV_KEYS).join('\n')).toMatch(/ConfigMap "llmxmr-env" is not in the build/);
  });

  it('consumers: a consumer or stream that the code does not create is reported', () => {
    const wrong = [worker(), envMap(), natsHeadless(), scaled('map-workers')];
    expect(consumerProblems(wrong, names('mr')).join('\n')).toMatch(/consumer "map-workers" but mapper creates the durable "mapper"/);

    const otherPrefix = [worker(), envMap(), natsHeadless(), scaled()];
    expect(consumerProblems(otherPrefix, names('test')).join('\n')).toMatch(/stream "MR_TASKS" but mapper consumes from "TEST_TASKS"/);
  });

  it('consumers: a renamed target, a missing ScaledObject and a foreign namespace are reported', () => {
    const renamed = scaled();
    renamed.spec.scaleTargetRef.name = 'prod-mapper';
    expect(consumerProblems([worker(), natsHeadless(), renamed], names('mr')).join('\n')).toMatch(
      /scaleTargetRef Deployment\/prod-mapper is not in the build/,
    );
    expect(consumerProblems([worker('reducer'), natsHeadless()], names('mr')).join('\n')).toMatch(
      /worker "reducer" has no ScaledObject/,
    );
    const elsewhere = scaled('mapper', 'mapper', { natsServerMonitoringEndpoint: 'nats-headless.other.svc.cluster.local:8222' });
    expect(consumerProblems([worker(), natsHeadless(), elsewhere], names('mr')).join('\n')).toMatch(
      /points at namespace "other"/,
    );
  });

  it('NATS cluster: routes that do not match the replicas are reported', () => {
    const sts = (replicas: number): K8sObject => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'nats', namespace: 'ns' },
      spec: {
        replicas,
        serviceName: 'nats-headless',
        template: {
          spec: {
            containers: [{ name: 'nats', image: 'nats:2.10.24-alpine', env: [{ name: 'POD_NAME', value: 'x' }] }],
            volumes: [{ name: 'config', configMap: { name: 'nats-config' } }],
          },
        },
      },
    });
    const conf = (routes: string[]): K8sObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'nats-config', namespace: 'ns' },
      data: {
        'nats.conf': `server_name: $POD_NAME\njetstream {\n store_dir: /data\n}\ncluster {\n routes: [\n${routes
          .map((r) => `  nats://${r}:6222`)
          .join('\n')}\n ]\n}\n`,
      },
    });
    expect(natsClusterProblems([sts(3), conf(['nats-0.nats-headless', 'nats-1.nats-headless', 'nats-2.nats-headless'])])).toEqual([]);
    expect(natsClusterProblems([sts(3), conf(['nats-0.nats-headless', 'nats-1.nats-headless'])]).join('\n')).toMatch(
      /no route to nats-2.nats-headless/,
    );
    expect(natsClusterProblems([sts(1), conf(['nats-0.nats-headless', 'nats-1.nats-headless'])]).join('\n')).toMatch(
      /one replica, but the NATS config routes/,
    );
    const withAuth = conf([]);
    (withAuth as any).data['nats.conf'] += 'lame_duck_duration: 10s\nauthorization { users: [ { user: $NATS_CLIENT_USER } ] }\n'; // eslint-disable-line @typescript-eslint/no-explicit-any
    const problems = natsClusterProblems([sts(1), withAuth]).join('\n');
    expect(problems).toMatch(/uses \$NATS_CLIENT_USER, which the nats container's env does not set/);
    expect(problems).toMatch(/lame_duck_duration 10s is below/);
  });

  it('routing file: unknown models and in-cluster hosts without a Service are reported', () => {
    const cm: K8sObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'llmxmr-models', namespace: 'ns' },
      data: {
        'models.yaml':
          'models:\n  m1:\n    endpoints:\n      - url: http://vllm-gone:8000/v1\nstages:\n  map:\n    model: m2\n',
      },
    };
    const problems = routingProblems([cm]).join('\n');
    expect(problems).toMatch(/Service "vllm-gone", which is not in the build/);
    expect(problems).toMatch(/stage "map" uses unknown model "m2"/);
  });
});
