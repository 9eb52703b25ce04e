import { inject } from 'vitest';
import type { FaultMode } from '../../scripts/local/neon-http-endpoint.ts';
import { throughWorker } from './api.ts';

/** Switches the fault on the test-only SQL endpoint; requests sent with `throughFaultyEndpoint` meet it. */
export async function setFault(fault: FaultMode): Promise<void> {
  const response = await fetch(`${inject('faultySqlEndpoint').controlUrl}/faults`, {
    method: 'POST',
    body: JSON.stringify(fault),
  });
  if (!response.ok) throw new Error(`the endpoint refused the fault: ${response.status}`);
}

/** Sends the request through the Worker, its statements to the fault-injecting endpoint. */
export function throughFaultyEndpoint(request: Request): Promise<Response> {
  return throughWorker(request, { DATABASE_URL: inject('faultySqlEndpoint').databaseUrl });
}
