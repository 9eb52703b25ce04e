// GET /docs as a person uses it, in a real browser (playwright-core driving Debian's Chromium; nothing is
// downloaded): enter the API key once, send the create example and a list from the page, and see 201
// and 200. Also runs axe-core on the page and reports its serious and critical findings (failing on any:
// what was ours to fix is fixed, see src/openapi/routes.ts), and checks the page asks no other origin
// for anything. Run by scripts/ci/dev-smoke.sh against npm run dev:
//   API=http://127.0.0.1:8787 KEY=sk_… SCREENSHOT=/tmp/docs.png npm run -s test:docs
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Page } from 'playwright-core';

const api = process.env.API ?? 'http://127.0.0.1:8787';
const key = process.env.KEY;
const screenshot = process.env.SCREENSHOT ?? '/tmp/webhooks-docs-browser.png';
if (!key) {
  console.error('usage: API=http://127.0.0.1:8787 KEY=sk_… [SCREENSHOT=path] npm run -s test:docs');
  process.exit(2);
}

function fail(message: string): never {
  console.error(`docs-browser: ${message}`);
  process.exit(1);
}

/** Opens an operation's client from the page, sends what it holds, and returns the answer's status. */
async function sendFromPage(page: Page, summary: string, method: string, path: string): Promise<number> {
  await page.getByRole('link', { name: summary }).first().click();
  await page.locator('button', { hasText: `Test Request(${method} ${path})` }).click();
  const [response] = await Promise.all([
    page.waitForResponse(
      (candidate) =>
        candidate.request().method() === method.toUpperCase() && new URL(candidate.url()).pathname === path,
    ),
    page.getByRole('button', { name: new RegExp(`^Send ${method} request`) }).click(),
  ]);
  const authorization = await response.request().headerValue('Authorization');
  if (authorization !== `Bearer ${key}`) fail(`${method} ${path} was sent without the key entered on the page`);
  // A fresh answer, not one replayed for an Idempotency-Key the page filled in.
  if (await response.headerValue('Idempotent-Replayed')) fail(`${method} ${path} was answered as a replay`);
  // The page shows the status too, as the person sees it.
  await page
    .getByText(new RegExp(`^${response.status()} `))
    .first()
    .waitFor();
  return response.status();
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-default-apps',
    // Offline: every host but this machine is unresolvable, so the page must be whole on its own.
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  ],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const elsewhere: string[] = [];
  page.on('request', (request) => {
    if (new URL(request.url()).origin !== new URL(api).origin && !request.url().startsWith('data:')) {
      elsewhere.push(request.url());
    }
  });
  await page.goto(`${api}/docs`);
  await page.getByText('Create a webhook').first().waitFor({ timeout: 30_000 });

  const audit = await new AxeBuilder({ page }).analyze();
  const serious = audit.violations.filter((violation) => ['serious', 'critical'].includes(violation.impact ?? ''));
  console.log(
    `docs-browser: axe-core on /docs: ${audit.violations.length} violation(s), ${serious.length} serious or critical`,
  );
  for (const violation of serious) {
    console.log(`  ${violation.impact} ${violation.id} (${violation.nodes.length} elements): ${violation.help}`);
    for (const node of violation.nodes.slice(0, 5)) console.log(`    ${node.target.join(' ')}`);
  }

  // The key, entered once in the page's authentication box; both requests carry it.
  await page.getByPlaceholder('Token').first().fill(key);
  const created = await sendFromPage(page, 'Create a webhook', 'post', '/webhooks');
  if (created !== 201) fail(`the create example sent from /docs answered ${created}, not 201`);
  console.log('docs-browser: the create example sent from /docs -> 201');
  await page.keyboard.press('Escape');
  const listed = await sendFromPage(page, 'List webhooks', 'get', '/webhooks');
  if (listed !== 200) fail(`the list sent from /docs answered ${listed}, not 200`);
  console.log('docs-browser: a list sent from /docs -> 200');
  // The status fades in: let it settle so the picture shows it.
  await page.waitForTimeout(500);
  await page.screenshot({ path: screenshot });
  console.log(`docs-browser: screenshot: ${screenshot}`);

  if (elsewhere.length > 0) fail(`the page asked other origins for ${elsewhere.slice(0, 3).join(', ')}`);
  if (serious.length > 0) fail('axe-core found serious or critical problems on /docs (listed above)');
} finally {
  await browser.close();
}
