// Strong entity tags for a resource's revision, and If-Match (RFC 9110 §8.8.3, §13.1.1): a write that
// names the revision it last saw happens only if the resource is still at it.

/** The ETag of a resource at `revision`. */
export function entityTag(revision: number): string {
  return `"${revision}"`;
}

/**
 * The revisions an If-Match header accepts: undefined when the header is absent or `*` (any current
 * representation, and the resource must exist anyway); an empty list when nothing it names can match
 * (a malformed value). A weak tag (W/"3") counts as its revision: Cloudflare's edge turns strong ETags
 * weak when it compresses a response, and the revision names the webhook's state exactly either way.
 */
export function acceptedRevisions(header: string | undefined): number[] | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const revisions: number[] = [];
  for (const tag of header.split(',')) {
    const match = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(tag);
    if (match) revisions.push(Number(match[1]));
  }
  return revisions;
}
