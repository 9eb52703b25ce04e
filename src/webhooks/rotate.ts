import type { Database } from '../db/client.ts';
import { successEnvelope } from '../http/envelope.ts';
import type { IdempotentRequest } from '../idempotency/idempotency-key.ts';
import { type IdempotentResult, writeIdempotently } from '../idempotency/replay.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { refusalOf } from './refusals.ts';
import { generateSigningSecret, signingSecretContext } from './secrets.ts';
import { type Reader, rotateSigningSecret } from './store.ts';

export interface RotateSecretInput {
  db: Database;
  secrets: SecretBox;
  reader: Reader;
  webhookId: string;
  gracePeriodSeconds: number;
  requestId: string;
  idempotency: IdempotentRequest | undefined;
}

/**
 * A new signing secret, shown once, sealed like the first. The one it replaces keeps signing for the
 * grace period (deliveries carry both signatures meanwhile); a retried request with the same
 * Idempotency-Key gets the same new secret back, never a second one.
 */
export function rotateSecret(input: RotateSecretInput): Promise<IdempotentResult> {
  const { db, secrets, reader, webhookId } = input;
  return writeIdempotently({
    db,
    secrets,
    owner: { accountId: reader.accountId, apiKeyId: reader.apiKeyId },
    idempotency: input.idempotency,
    requestId: input.requestId,
    write: async (remember) => {
      const signingSecret = generateSigningSecret();
      const now = new Date();
      const previousSecretExpiresAt =
        input.gracePeriodSeconds > 0 ? new Date(now.getTime() + input.gracePeriodSeconds * 1000) : null;
      const body = JSON.stringify(
        successEnvelope({ signingSecret, previousSecretExpiresAt: previousSecretExpiresAt?.toISOString() ?? null }),
      );
      const outcome = await rotateSigningSecret(
        db,
        { reader, id: webhookId },
        {
          signingSecretSealed: await secrets.seal(signingSecret, signingSecretContext(webhookId)),
          previousSecretExpiresAt,
          updatedAt: now,
        },
        await remember(200, body),
      );
      return outcome.kind === 'done'
        ? { kind: 'done', status: 200, body }
        : { kind: 'refused', error: refusalOf(outcome, webhookId) };
    },
  });
}
