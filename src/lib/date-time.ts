import * as z from 'zod/mini';

/**
 * An ISO 8601 date-time with an offset, within years 1 to 9999 once in UTC: what Postgres and
 * Date#toISOString both write plainly. zod alone admits 0000-01-01T00:00:00+00:30 (year -1 in UTC).
 */
export const isoDateTime = (error: string) =>
  z.iso.datetime({ offset: true, error }).check(
    z.refine(
      (value) => {
        const year = new Date(value).getUTCFullYear();
        // Not a date at all: the format check has said so already.
        return Number.isNaN(year) || (year >= 1 && year <= 9999);
      },
      { error: 'Must be within years 1 to 9999' },
    ),
  );
