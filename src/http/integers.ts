// Integers as the API returns them, with their real bounds: zod's z.int() alone stands for any safe
// integer (±9007199254740991), which the reference page then shows as a sample value.
import * as z from 'zod/mini';

/** The largest value of a Postgres integer column, where every stored count and duration lives. */
export const INT4_MAX = 2_147_483_647;

/** A stored count or duration: 0 up to what its column holds. */
export const storedCount = () => z.int().check(z.minimum(0), z.maximum(INT4_MAX));

/** An HTTP status a receiver answered with. */
export const httpStatusCode = () => z.int().check(z.minimum(100), z.maximum(599));
