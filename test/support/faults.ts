import { inject } from 'vitest';
import type { Conditions, FaultMode } from '../../scripts/local/neon-http-endpoint.ts';
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

/** Sets the platform's conditions on the test-only SQL endpoint (limits, cold start); {} is Neon's own. */
export async function setConditions(conditions: Partial<Conditions>): Promise<void> {
  const response = await fetch(`${inject('faultySqlEndpoint').controlUrl}/conditions`, {
    method: 'POST',
    body: JSON.stringify(conditions),
  });
  if (!response.ok) throw new Error(`the endpoint refused the conditions: ${response.status}`);
}

/**
 * Runs `sql` (a LOCK or a SELECT … FOR UPDATE) in a transaction of its own, over a session of its own,
 * and keeps it open `ms`: a lock another request needs, held the way a long transaction would. Resolves
 * once the locks are taken. (On PGlite, one session in all, it holds every other statement back.)
 */
export async function holdLock(sql: string, ms: number): Promise<void> {
  const response = await fetch(`${inject('faultySqlEndpoint').controlUrl}/hold`, {
    method: 'POST',
    body: JSON.stringify({ sql, ms }),
  });
  if (!response.ok) throw new Error(`the endpoint could not take the lock: ${response.status}`);
}
