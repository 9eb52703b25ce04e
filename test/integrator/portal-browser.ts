// The webhook portal as a person uses it, in a real browser (playwright-core driving Debian's Chromium,
// offline) against npm run dev: a session minted with an API key, the link opened, a webhook found and
// created, a test sent to a real receiver (scripts/local/webhook-receiver.ts, which verifies signatures
// with the standardwebhooks library), the delivery opened and sent again, the secret rotated and copied,
// the webhook disabled and enabled from the keyboard, the event catalogue, an expired, a malformed, a
// revoked-key and another account's link, the page's headers, axe-core on every view (failing on any
// serious or critical finding), 390 px wide, and the first render with data timed. Screenshots' paths
// are printed. Run by scripts/ci/portal-browser.sh:
//   API=http://127.0.0.1:8787 KEY=sk_… OTHER_KEY=sk_… EXPIRED_LINK=… EXPIRED_AT=… REVOKED_LINK=… npm run -s test:portal
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { startWebhookReceiver } from '../../scripts/local/webhook-receiver.ts';

const api = process.env.API ?? 'http://127.0.0.1:8787';
const { KEY: key, OTHER_KEY: otherKey, EXPIRED_LINK: expiredLink, REVOKED_LINK: revokedLink } = process.env;
/** When EXPIRED_LINK stops working (sessions last 60 s at least): the run waits for it if it must. */
const expiredAt = Date.parse(process.env.EXPIRED_AT ?? '');
const shots = process.env.SCREENSHOTS ?? join(process.env.TMPDIR ?? '/tmp', 'webhooks-portal');
if (!key || !otherKey || !expiredLink || !revokedLink || Number.isNaN(expiredAt)) {
  console.error(
    'usage: API=… KEY=sk_… OTHER_KEY=sk_… EXPIRED_LINK=… EXPIRED_AT=iso REVOKED_LINK=… npm run -s test:portal',
  );
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

function fail(message: string): never {
  console.error(`portal-browser: ${message}`);
  process.exit(1);
}
const say = (message: string) => console.log(`portal-browser: ${message}`);

async function call<T>(method: string, path: string, token: string, body?: unknown): Promise<T> {
  const response = await fetch(new URL(path, api), {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) fail(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { data: T }).data;
}

const portalLink = async (token: string, body: Record<string, unknown> = {}) =>
  (await call<{ url: string }>('POST', '/portal/sessions', token, body)).url;

const seen: string[] = [];
/** axe-core on the view as it is now: every serious or critical finding fails the run. */
async function audit(page: Page, view: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const serious = result.violations.filter((violation) => ['serious', 'critical'].includes(violation.impact ?? ''));
  seen.push(`${view}: ${result.violations.length} finding(s), ${serious.length} serious or critical`);
  for (const violation of serious) {
    console.log(`  ${violation.impact} ${violation.id}: ${violation.help}`);
    for (const node of violation.nodes.slice(0, 3)) console.log(`    ${node.target.join(' ')}`);
  }
  if (serious.length > 0) fail(`axe-core: serious or critical findings on ${view} (above)`);
}

async function shot(page: Page, name: string): Promise<void> {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  say(`screenshot: ${path}`);
}

async function receiverRequests(origin: string, id: string): Promise<{ verifiedWith: number[] }[]> {
  return (await fetch(`${origin}/endpoints/${id}/requests`)).json() as Promise<{ verifiedWith: number[] }[]>;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  fail(`timed out waiting for ${what}`);
}

const receiver = await startWebhookReceiver();
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-default-apps',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  ],
});
let context: BrowserContext | undefined;
try {
  // A webhook to find, made with the key, and a receiver endpoint for the one the page creates.
  const seededName = `Seeded ${Date.now()}`;
  const seeded = await call<{ id: string }>('POST', '/webhooks', key, {
    url: 'https://example.com/portal-browser/seeded',
    events: ['INTERVIEW_COMPLETED'],
    name: seededName,
  });
  const endpoint = (await (
    await fetch(`${receiver.origin}/endpoints`, {
      method: 'POST',
      body: JSON.stringify({ responses: [{ status: 200, body: 'thanks from the receiver' }] }),
    })
  ).json()) as { id: string; url: string };

  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: api });
  const page = await context.newPage();
  const elsewhere: string[] = [];
  const apiAnswers: { url: string; cacheControl: string | null }[] = [];
  page.on('request', (request) => {
    if (new URL(request.url()).origin !== new URL(api).origin) elsewhere.push(request.url());
  });
  page.on('response', async (response) => {
    if (new URL(response.url()).pathname.startsWith('/webhooks'))
      apiAnswers.push({ url: response.url(), cacheControl: await response.headerValue('Cache-Control') });
  });
  page.on('pageerror', (error) => fail(`a script error on the page: ${error.message}`));

  // Open the link: the first render with data, timed from navigation start.
  const link = await portalLink(key);
  const opened = await page.goto(link);
  if (!opened) fail('the link did not load');
  await page.locator('.card').first().waitFor();
  const firstDataMs = Number(await page.evaluate(() => document.documentElement.dataset.firstDataMs));
  const timeline = await page.evaluate(() =>
    [
      ['page', performance.getEntriesByType('navigation')[0]],
      ...performance.getEntriesByType('mark').map((entry) => [entry.name, entry]),
      ...performance.getEntriesByType('resource').map((entry) => [new URL(entry.name).pathname, entry]),
    ]
      .map(([name, entry]) => {
        const timing = entry as PerformanceResourceTiming;
        if (timing.entryType === 'mark') return `${name} at ${Math.round(timing.startTime)}`;
        return `${name} ${Math.round(timing.startTime)}-${Math.round(timing.responseEnd)}`;
      })
      .join(', '),
  );
  say(`first render with data: ${firstDataMs} ms after navigation start (ms: ${timeline})`);
  // A figure, not a gate (timing belongs in the bench, and CI shares its 2 cores): the budget is 1 s.
  if (!(firstDataMs > 0)) fail('the first render with data was never marked');
  if (firstDataMs > 1000) say(`first render with data over its 1 s budget: ${firstDataMs} ms`);

  // The page's headers, and the token gone from the address bar.
  const headers = await opened.allHeaders();
  const policy = headers['content-security-policy'] ?? '';
  for (const part of ["script-src 'self';", "connect-src 'self';", "frame-ancestors 'none'", "default-src 'none'"])
    if (!policy.includes(part)) fail(`the page's CSP lacks ${part}: ${policy}`);
  if (policy.includes('unsafe-inline')) fail('the CSP allows inline script or style');
  if (headers['referrer-policy'] !== 'no-referrer') fail(`Referrer-Policy: ${headers['referrer-policy']}`);
  if (page.url().includes('token=')) fail('the token stayed in the address bar');
  if (!apiAnswers.every((answer) => answer.cacheControl === 'no-store')) fail('an API answer may be cached');
  say(
    `headers: CSP ${policy.length} chars with no inline script, no referrer, API answers no-store; token off the URL`,
  );
  await audit(page, 'webhook list');
  await shot(page, '01-list');

  // Find the seeded webhook, and open it from the keyboard alone.
  await page.getByLabel('Find').fill(seededName);
  await page.locator('.card', { hasText: seededName }).waitFor();
  await page.getByLabel('Find').focus();
  for (let presses = 0; presses < 10; presses++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('href') ?? '');
    if (focused === `#/webhooks/${seeded.id}`) break;
  }
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: seededName }).waitFor();
  say('found the seeded webhook by name and opened it with the keyboard');
  await audit(page, 'one webhook');

  // Create one that delivers to the receiver.
  await page.goto(`${api}/portal#/new`);
  await page.getByRole('heading', { name: 'New webhook' }).waitFor();
  await page.getByLabel('Endpoint URL (https)').fill(endpoint.url);
  await page.getByLabel('Name', { exact: true }).fill('Portal browser receiver');
  await page.getByRole('button', { name: 'Add a header' }).click();
  await page.getByLabel('Header name').fill('X-Portal-Test');
  await page.getByLabel('Value').fill('header-value-never-shown');
  await audit(page, 'new webhook form');
  await page.getByRole('button', { name: 'Create webhook' }).click();
  const secret = (await page.getByTestId('signing-secret').textContent())?.trim() ?? '';
  if (!/^[0-9a-f]{64}$/.test(secret)) fail(`the created webhook's secret is not shown: ${secret}`);
  await fetch(`${receiver.origin}/endpoints/${endpoint.id}/secrets`, { method: 'PUT', body: JSON.stringify([secret]) });
  await audit(page, 'webhook created (secret shown once)');
  await page.getByRole('link', { name: 'Open the webhook' }).click();
  await page.getByRole('heading', { level: 1, name: 'Portal browser receiver' }).waitFor();
  if (!(await page.getByText('X-Portal-Test: ••••••').isVisible())) fail('the custom header is not shown masked');
  if ((await page.content()).includes('header-value-never-shown')) fail('a header value reached the page');
  say('created a webhook from the page; its header shown masked');

  // Send a test and see the answer; it arrived, signed, at the receiver.
  await page.getByRole('button', { name: 'Send a test event' }).click();
  const answer = page.getByTestId('test-answer');
  await answer.waitFor();
  const answerText = (await answer.textContent()) ?? '';
  if (!answerText.includes('Test delivered') || !answerText.includes('Status 200'))
    fail(`the test answer says: ${answerText}`);
  const received = await receiverRequests(receiver.origin, endpoint.id);
  if (received.length !== 1 || received[0]?.verifiedWith[0] !== 0) fail('the test did not arrive verified');
  say('test sent from the page: 200 shown, and it arrived at the receiver with a valid signature');
  await audit(page, 'webhook with a test answer');
  await shot(page, '02-webhook');

  // Open the delivery: payload, attempts with the receiver's answer; send it again.
  await page.getByRole('link', { name: 'see the delivery and its response' }).click();
  await page.getByRole('heading', { name: 'Attempts' }).waitFor();
  if (!(await page.getByText('thanks from the receiver').first().isVisible())) fail('no response excerpt shown');
  if (!(await page.getByText('"event": "PING"').isVisible())) fail('the payload as sent is not shown');
  await audit(page, 'one delivery');
  await page.getByRole('button', { name: 'Send it again' }).click();
  await page.getByText('Queued: it will be sent again').waitFor();
  await waitFor(
    'the redelivery at the receiver',
    async () => (await receiverRequests(receiver.origin, endpoint.id)).length >= 2,
  );
  // Its record lands a moment after the receiver answered: wait for it, or the Disable below could find
  // the delivery still pending and cancel it, and the log filtered on succeeded would be empty.
  const [, webhookId, deliveryId] = /#\/webhooks\/([^/]+)\/deliveries\/([^/?]+)/.exec(page.url()) ?? [];
  await waitFor(
    'the redelivery recorded as succeeded',
    async () =>
      (await call<{ status: string }>('GET', `/webhooks/${webhookId}/deliveries/${deliveryId}`, key)).status ===
      'succeeded',
  );
  say('opened the delivery (payload, attempt, response excerpt) and redelivered it: it arrived again');
  await shot(page, '03-delivery');

  // Rotate the secret and copy it.
  await page.getByRole('link', { name: '← Back to the webhook' }).click();
  await page.getByRole('button', { name: 'Rotate signing secret' }).click();
  await page.getByRole('button', { name: 'Rotate now' }).click();
  const rotated = (await page.getByTestId('signing-secret').textContent())?.trim() ?? '';
  if (!/^[0-9a-f]{64}$/.test(rotated) || rotated === secret) fail('no new secret shown after rotating');
  await page.getByRole('button', { name: 'Copy secret' }).click();
  await page.getByText('Copied to the clipboard.').waitFor();
  const clipboard = await page.evaluate(() => navigator.clipboard.readText());
  if (clipboard !== rotated) fail('the copied secret is not the one shown');
  if (!(await page.getByText(/The previous secret keeps signing too/).isVisible())) fail('no grace period shown');
  await audit(page, 'rotated secret with verify snippets');
  await shot(page, '04-rotated');
  say('rotated the secret: shown once, copied to the clipboard, grace end shown');

  // Disable and enable again, from the keyboard.
  const state = page.getByTestId('webhook-state');
  await page.getByRole('button', { name: 'Disable' }).focus();
  await page.keyboard.press('Enter');
  await page.getByText('Disabled: no events are delivered.').waitFor();
  if (!(await state.textContent())?.startsWith('Disabled')) fail('the webhook does not show as disabled');
  await page.getByRole('button', { name: 'Enable' }).focus();
  await page.keyboard.press('Enter');
  await page.getByText('Enabled: events are delivered again.').waitFor();
  say('disabled and enabled again with the keyboard');

  // The delivery log with a filter.
  await page.getByLabel('Status').selectOption('succeeded');
  await page.locator('table tbody tr').first().waitFor();
  await audit(page, 'webhook with its delivery log filtered');

  // Usable at 390 px: nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  if (overflow > 390) fail(`at 390 px the page is ${overflow} px wide`);
  await audit(page, 'one webhook at 390 px');
  await shot(page, '05-webhook-390px');
  await page.setViewportSize({ width: 1280, height: 900 });

  // The event catalogue, from the OpenAPI document.
  await page.getByRole('link', { name: 'Event types' }).click();
  await page.getByText('INTERVIEW_COMPLETED').first().waitFor();
  await page.locator('details summary').first().click();
  await audit(page, 'event catalogue');
  await shot(page, '06-events');
  say('event catalogue listed from /openapi.json');
  if (elsewhere.length > 0) fail(`the page asked other origins for ${elsewhere.slice(0, 3).join(', ')}`);

  // Another account's link: its list is empty and this account's webhook is not found.
  const foreign = await context.newPage();
  await foreign.goto(await portalLink(otherKey));
  await foreign.getByText('No webhooks here yet').waitFor();
  await foreign.goto(`${api}/portal#/webhooks/${seeded.id}`);
  await foreign.getByText('Webhook configuration not found').waitFor();
  say("another account's link sees none of this account's webhooks (404 shown)");
  await foreign.close();

  // Links that no longer work: a page that says so and what to do, and no data.
  const wait = expiredAt + 1000 - Date.now();
  if (wait > 0) {
    say(`waiting ${Math.ceil(wait / 1000)} s for the 60-second link to expire`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  for (const [what, url, expected] of [
    ['malformed', `${link.slice(0, -4)}AAAA`, /not valid/],
    ['revoked key', revokedLink, /revoked or has expired/],
    ['expired', expiredLink, /has expired/],
  ] as const) {
    const ended = await context.newPage();
    await ended.goto(url);
    await ended.getByRole('heading', { name: 'This portal link no longer works' }).waitFor();
    const text = (await ended.locator('body').textContent()) ?? '';
    if (!expected.test(text)) fail(`the ${what} link's page says: ${text}`);
    if ((await ended.locator('.card').count()) > 0) fail(`the ${what} link's page shows data`);
    await audit(ended, `${what} link`);
    if (what === 'expired') await shot(ended, '07-expired');
    await ended.close();
    say(`${what} link: a page that says so and what to do, no data`);
  }
  for (const line of seen) say(`axe-core ${line}`);
} finally {
  await context?.close();
  await browser.close();
  await receiver.close();
}
