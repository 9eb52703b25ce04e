import { entityTag } from '../http/conditional.ts';
import { ApiError } from '../http/errors.ts';
import { excerpt } from '../lib/excerpt.ts';
import { UUID_PATTERN } from './schema.ts';
import type { Targeted } from './store.ts';

/** The same answer for another account's webhook, a deleted one, one that never existed and a malformed id. */
export function webhookNotFound(id: string): ApiError {
  return new ApiError('RESOURCE_NOT_FOUND', 'Webhook configuration not found', {
    details: { resourceType: 'WebhookConfig', resourceId: excerpt(id) },
  });
}

/** The webhook id from the path, lowercase; anything that is not a UUID cannot name one: 404, no query. */
export function webhookIdFrom(param: string): string {
  if (!UUID_PATTERN.test(param)) throw webhookNotFound(param);
  return param.toLowerCase();
}

/** Why a statement aimed at one webhook did not act on it, as the error to answer with. */
export function refusalOf(outcome: Exclude<Targeted<unknown>, { kind: 'done' }>, id: string): ApiError {
  switch (outcome.kind) {
    case 'not-found':
      return webhookNotFound(id);
    case 'forbidden':
      return new ApiError('RESOURCE_ACCESS_DENIED', 'Access denied to this webhook configuration', {
        details: { resourceType: 'WebhookConfig', resourceId: id },
      });
    case 'headers-required':
      return new ApiError('VALIDATION_ERROR', 'Request body is invalid (1 issue)', {
        details: {
          issues: [
            {
              path: 'headers',
              message:
                `Required when url moves to another origin: the webhook has custom headers ` +
                `(${excerpt(outcome.headerNames.join(', '))}) whose values would go to the new host. Send them again ` +
                'with their values, or [] to drop them',
            },
          ],
        },
      });
    case 'precondition-failed':
      return new ApiError(
        'PRECONDITION_FAILED',
        'The webhook has changed since the ETag in If-Match; nothing was changed',
        {
          details: { currentETag: entityTag(outcome.revision) },
        },
      );
  }
}

/** What a statement aimed at one webhook returned, or the error saying why it did not act. */
export function acted<T>(outcome: Targeted<T>, id: string): T {
  if (outcome.kind === 'done') return outcome.value;
  throw refusalOf(outcome, id);
}
