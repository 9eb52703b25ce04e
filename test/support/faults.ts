import { inject } from 'vitest';
import type { FaultMode } from '../../scripts/local/neon-relay.ts';
import { fetchWithEnv } from './api.ts';

/** Switches the fault on the test-only relay; requests sent with `throughFaultyRelay` meet it. */
export async function setFault(fault: FaultMode): Promise<void> {
  const response = await fetch(`${inject('faultyRelay').controlUrl}/faults`, {
    method: 'POST',
    body: JSON.stringify(fault),
  });
  if (!response.ok) throw new Error(`relay refused the fault: ${response.status}`);
}

/** Sends the request through the Worker, its database traffic through the fault-injecting relay. */
export function throughFaultyRelay(request: Request): Promise<Response> {
  return fetchWithEnv(request, { NEON_WS_PROXY: inject('faultyRelay').wsProxy });
}
