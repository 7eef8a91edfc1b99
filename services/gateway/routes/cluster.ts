/**
 * GET /api/cluster: workers alive per kind (the presence bucket), per durable consumer the
 * messages waiting (lag) and delivered but not yet acknowledged (in flight), and the number of
 * dead letters. Read from the server's stream and consumer info; nothing is stored here.
 */
import type { FastifyInstance } from 'fastify';
import type { Bus } from '../../../shared/bus/bus.ts';
import { TASK_KINDS, WORKER_OF } from '../../../shared/protocol/names.ts';

export interface ConsumerLoad {
  stream: string;
  consumer: string;
  /** Worker role that serves it. */
  role: string;
  /** Messages not yet delivered to any worker: the consumer's lag. */
  pending: number;
  /** Delivered and not yet acknowledged: work in flight. */
  inFlight: number;
  redelivered: number;
}

export async function clusterView(bus: Bus) {
  const n = bus.names;
  const live = await bus.liveRoles();
  const targets: { stream: string; consumer: string; role: string }[] = [
    { stream: n.streams.jobs, consumer: n.consumers.coordinator, role: 'coordinator' },
    ...TASK_KINDS.map((k) => ({ stream: n.streams.tasks, consumer: n.consumers[k], role: WORKER_OF[k] })),
  ];
  const consumers: ConsumerLoad[] = await Promise.all(
    targets.map(async (t) => {
      const info = await bus.jsm.consumers.info(t.stream, t.consumer);
      return { ...t, pending: info.num_pending, inFlight: info.num_ack_pending, redelivered: info.num_redelivered };
    }),
  );
  const streamInfo = async (s: string) => {
    const i = await bus.jsm.streams.info(s);
    return { stream: s, messages: i.state.messages, bytes: i.state.bytes };
  };
  const [jobs, tasks, dlq] = await Promise.all([streamInfo(n.streams.jobs), streamInfo(n.streams.tasks), streamInfo(n.streams.dlq)]);
  const workers = Object.fromEntries(['coordinator', ...TASK_KINDS.map((k) => WORKER_OF[k]), ...[...live.keys()].filter((r) => r !== 'coordinator' && !Object.values(WORKER_OF).includes(r as never))].map((r) => [r, live.get(r) ?? 0]));
  return { prefix: n.prefix, workers, consumers, streams: [jobs, tasks], deadLetters: dlq.messages };
}

export function registerClusterRoutes(app: FastifyInstance, o: { bus: Bus }): void {
  app.get('/cluster', async () => clusterView(o.bus));
}
