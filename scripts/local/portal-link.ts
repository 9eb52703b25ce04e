// A webhook portal link from a running API: POST /portal/sessions with an API key. Used by npm run dev's
// banner (with the dev key) and by `npm run cli -- portal open` (with a key made for the session).
import { UserError } from './user-error.ts';

export interface PortalLink {
  url: string;
  expiresAt: string;
}

export async function openPortalLink(
  apiUrl: string,
  apiKey: string,
  body: { companyId?: string; readOnly?: boolean; expiresInSeconds?: number },
): Promise<PortalLink> {
  let response: Response;
  try {
    response = await fetch(new URL('/portal/sessions', apiUrl), {
      method: 'POST',
      headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new UserError(`could not reach ${apiUrl}; is npm run dev running there?`);
  }
  const envelope = (await response.json()) as { data: PortalLink; error?: { message: string } };
  if (response.status !== 201) {
    throw new UserError(`POST /portal/sessions answered ${response.status}: ${envelope.error?.message}`);
  }
  return envelope.data;
}
