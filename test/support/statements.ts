import { inject } from 'vitest';

/** SQL statements the endpoint saw under one application_name (src/db/client.ts names them locally). */
export async function statementsNamed(applicationName: string): Promise<string[]> {
  const url = `${inject('sqlEndpoint').controlUrl}/statements?application_name=${encodeURIComponent(applicationName)}`;
  const body = (await (await fetch(url)).json()) as { statements: string[] };
  return body.statements;
}

/** SQL statements the endpoint saw for any of these deliveries (a group's statement serves several), each once. */
export async function statementsNaming(words: string[]): Promise<string[]> {
  const query = words.map((word) => `naming=${encodeURIComponent(word)}`).join('&');
  const body = (await (await fetch(`${inject('sqlEndpoint').controlUrl}/statements?${query}`)).json()) as {
    statements: string[];
  };
  return body.statements;
}

/** SQL statements the endpoint saw for one request, identified by its X-Request-Id. */
export function statementsOf(response: Response): Promise<string[]> {
  return statementsNamed(`webhooks ${response.headers.get('X-Request-Id')}`);
}

/** The statements that looked an API key up in Postgres. */
export function keyLookups(statements: string[]): string[] {
  return statements.filter((sql) => sql.includes('"api_keys"'));
}
