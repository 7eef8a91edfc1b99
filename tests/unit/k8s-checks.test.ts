/**
 * Each strict check of tests/helpers/k8s-checks.ts must be able to fail: every one is fed a
 * deliberately broken object and has to report it (and accepts the well-formed version).
 */
import { describe, expect, it } from 'vitest';
import { ENV_KEYS } from '../../shared/config/env.ts';
import { names } from '../../shared/protocol/names.ts';
import {
  consumerProblems,
  envProblems,
  imageProblems,
  nameProblems,
  natsClusterProblems,
  objectProblems,
  routingProblems,
  schemaProblems,
  triggerProblems,
  unknownKeyProblems,
  workloadProblems,
  type K8sObject,
} from '../helpers/k8s-checks.ts';
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
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
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
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
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

  it('hardening: any container (a model server too) running as root, writable, with capabilities or unconfined is reported', () => {
    const d = worker('vllm');
    const c = d.spec.template.spec.containers[0];
    c.image = 'vllm/vllm-openai:v0.9.2';
    delete c.securityContext.readOnlyRootFilesystem;
    delete c.securityContext.capabilities;
    c.securityContext.runAsUser = 0;
    d.spec.template.spec.securityContext = {};
    const problems = workloadProblems(d).join('\n');
    expect(problems).toMatch(/"vllm" must set readOnlyRootFilesystem: true/);
    expect(problems).toMatch(/"vllm" must run with runAsNonRoot: true/);
    expect(problems).toMatch(/"vllm" must not set runAsUser: 0/);
    expect(problems).toMatch(/"vllm" must drop ALL capabilities/);
    expect(problems).toMatch(/"vllm" must use seccompProfile RuntimeDefault/);
    const init = worker();
    init.spec.template.spec.initContainers = [{ name: 'provision', image: 'llmxmapreduce:0.1.0', command: ['node'], securityContext: {} }];
    expect(workloadProblems(init).join('\n')).toMatch(/"provision" must set allowPrivilegeEscalation: false/);
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
