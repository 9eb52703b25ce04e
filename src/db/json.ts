/**
 * A json value a statement returns (json_agg, row_to_json), as the driver hands it over: parsed
 * already, or still as its text. Either way, the value.
 */
export function fromJson<T>(value: T | string): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}
