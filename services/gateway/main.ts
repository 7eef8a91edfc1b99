/** The HTTP gateway as its own process (the `gateway` Deployment on Kubernetes). */
import { loadEnv } from '../../shared/config/env.ts';
import { runRoleMain } from '../role.ts';

await runRoleMain('gateway', loadEnv());
