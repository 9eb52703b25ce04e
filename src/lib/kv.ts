/** Workers KV refuses an expirationTtl below 60 seconds. */
export const KV_MIN_TTL_SECONDS = 60;
