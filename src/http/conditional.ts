// Strong entity tags for a resource's revision, and If-Match (RFC 9110 §8.8.3, §13.1.1): a write that
// names the revision it last saw happens only if the resource is still at it.
import { ApiError } from './errors.ts';

/** The ETag of a resource at `revision`. */
export function entityTag(revision: number): string {
  return `"${revision}"`;
}

/** entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text (RFC 9110 §8.8.3). */
const ENTITY_TAG = /^(?:W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/;

function malformedIfMatch(header: string): ApiError<'VALIDATION_ERROR'> {
  // A bare revision number is the usual slip (the quotes are part of the ETag); showing it quoted is
  // safe, since it is only digits. Anything else is described, never echoed.
  const bare = header.trim();
  const message = /^\d{1,9}$/.test(bare)
    ? `Must be an ETag with its double quotes, as the ETag header gives it: "${bare}", not ${bare}`
    : 'Must be ETags with their double quotes, as the ETag header gives them (such as "3"), a comma-separated list of them, or *';
  return new ApiError('VALIDATION_ERROR', 'The If-Match header is invalid (1 issue)', {
    details: { issues: [{ path: 'If-Match', message }] },
  });
}

/**
 * The revisions an If-Match header accepts: undefined when the header is absent or `*` (any current
 * representation, and the resource must exist anyway). A well-formed tag this API never issued (`"abc"`)
 * matches nothing, so the write gets 412; a malformed header (`1`, without quotes) is a 400 that shows
 * the quoted form, since a 412 would claim the webhook changed. A weak tag (W/"3") counts as its
 * revision: Cloudflare's edge turns strong ETags weak when it compresses a response, and the revision
 * names the webhook's state exactly either way.
 */
export function acceptedRevisions(header: string | undefined): number[] | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const revisions: number[] = [];
  // Empty list elements are allowed (RFC 9110 §5.6.1); a list with none at all is not a header value.
  const tags = header
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
  if (tags.length === 0) throw malformedIfMatch(header);
  for (const tag of tags) {
    const match = ENTITY_TAG.exec(tag);
    if (!match) throw malformedIfMatch(header);
    if (/^\d{1,9}$/.test(match[1] ?? '')) revisions.push(Number(match[1]));
  }
  return revisions;
}
