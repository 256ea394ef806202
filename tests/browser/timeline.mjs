// Signs in at Journey's sign-in form and drives the investigator's timeline page in headless Chromium,
// printing what the page shows as JSON,
// for tests/tests/browser.rs to check. Run by that test; by hand:
//
//   JOURNEY_URL=http://127.0.0.1:8080/v1/children/C-1/timeline JOURNEY_KEY=jny_... \
//   JOURNEY_PURPOSE="case review 2026/07" node tests/browser/timeline.mjs
//
// JOURNEY_SCREENSHOT=<path> also saves a screenshot of the first screen. CHROMIUM overrides /usr/bin/chromium.
import { chromium } from 'playwright-core';
import { audit } from './axe.mjs';

const url = process.env.JOURNEY_URL;
const key = process.env.JOURNEY_KEY;
const purpose = process.env.JOURNEY_PURPOSE ?? 'browser test';
if (!url || !key) {
  console.error('JOURNEY_URL and JOURNEY_KEY are required');
  process.exit(2);
}

// What the page shows, read from the DOM the way a person would see it.
async function observe(page) {
  return page.evaluate(() => {
    const all = (selector) => Array.from(document.querySelectorAll(selector));
    const countBy = (elements, attribute) =>
      elements.reduce((acc, e) => {
        const v = e.getAttribute(attribute);
        acc[v] = (acc[v] ?? 0) + 1;
        return acc;
      }, {});
    const events = all('svg [data-testid], svg g.event');
    const marks = all('g.event');
    const select = document.querySelector('[data-testid="known-at-select"]');
    return {
      title: document.title,
      heading: document.querySelector('[data-testid="child-id"]')?.textContent ?? null,
      on: document.querySelector('[data-testid="on"]')?.textContent ?? null,
      known_at: document.querySelector('[data-testid="known-at"]')?.textContent ?? null,
      chart_present: !!document.querySelector('[data-testid="timeline-chart"]'),
      lanes: all('g.lane').map((g) => g.getAttribute('data-stage')),
      events: marks.length,
      events_by_status: countBy(marks, 'data-status'),
      late_events: marks.filter((g) => g.getAttribute('data-late') === 'true').length,
      late_marks: all('g.event path.late').length,
      deadlines_by_status: countBy(all('g.deadline-mark'), 'data-status'),
      deadline_rows: all('[data-testid="deadlines"] tbody tr').length,
      deadlines_unavailable: document.querySelector('[data-testid="deadlines-unavailable"]')?.textContent ?? null,
      entry_rows: all('[data-testid="entries"] tbody tr').length,
      event_ids: marks.map((g) => g.getAttribute('data-event-id')),
      export_href: document.querySelector('[data-testid="export-link"]')?.getAttribute('href') ?? null,
      known_at_options: select ? select.options.length : 0,
      has_first_known_link: !!document.querySelector('[data-testid="first-known"]'),
      svg_elements: events.length,
    };
  });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // As a person would: open the page, be sent to the sign-in form, give the key and the purpose, and come
  // back to the page signed in.
  await page.goto(url, { waitUntil: 'load' });
  const login_url = page.url();
  const accessibility = { login: await audit(page) };
  await page.fill('#key', key);
  await page.fill('#purpose', purpose);
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('[data-testid="login-form"] button[type="submit"]'),
  ]);
  const result = {
    status: response.status(),
    content_type: response.headers()['content-type'],
    login_url,
    after_login_url: page.url(),
  };
  result.now = await observe(page);
  accessibility.timeline = await audit(page);
  // The measures report, with the same session, when the test gives its address.
  if (process.env.JOURNEY_MEASURES_URL) {
    const measures = await context.newPage();
    const answer = await measures.goto(process.env.JOURNEY_MEASURES_URL, { waitUntil: 'load' });
    result.measures_status = answer.status();
    accessibility.measures = await audit(measures);
    await measures.close();
  }
  result.accessibility = accessibility;
  if (process.env.JOURNEY_SCREENSHOT) {
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.screenshot({ path: process.env.JOURNEY_SCREENSHOT, fullPage: false });
  }
  // Move the known-at instant back to the first record, as an investigator would, with the page's own link.
  if (result.now.has_first_known_link) {
    await Promise.all([page.waitForLoadState('load'), page.click('[data-testid="first-known"]')]);
    result.first_known = await observe(page);
  }
  // The same with the form: choose the earliest instant in the select and submit.
  await page.goto(url, { waitUntil: 'load' });
  const options = await page.$$eval('[data-testid="known-at-select"] option', (o) => o.map((x) => x.value));
  if (options.length > 1) {
    await page.selectOption('[data-testid="known-at-select"]', options[1]);
    await Promise.all([page.waitForNavigation(), page.click('form[data-testid="controls"] button[type="submit"]')]);
    result.second_known = await observe(page);
  }
  // The export link works with the same credentials.
  if (result.now.export_href) {
    const exported = await page.request.get(new URL(result.now.export_href, url).toString());
    const body = await exported.json().catch(() => null);
    result.export = { status: exported.status(), records: Array.isArray(body?.records) ? body.records.length : null };
  }
  // Without credentials the page is not shown: the browser lands on the sign-in form.
  const anonymous = await browser.newContext();
  const anonymousPage = await anonymous.newPage();
  const refused = await anonymousPage.goto(url);
  result.anonymous_status = refused.status();
  result.anonymous_url = anonymousPage.url();
  result.anonymous_sees_form = !!(await anonymousPage.$('[data-testid="login-form"]'));
  // Signing out ends the session: the page sends the browser back to the form.
  await page.context().request.post(new URL('/logout', url).toString());
  await page.goto(url, { waitUntil: 'load' });
  result.after_logout_url = page.url();
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
