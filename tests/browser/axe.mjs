// Runs axe-core's WCAG 2.2 AA rules (the Public Sector Bodies Accessibility Regulations 2018's standard) on
// the page as it stands, and returns the violations in short: rule, impact, how many elements and the first
// few of them, for tests/tests/browser.rs to print when it fails.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

export async function audit(page) {
  await page.addScriptTag({ path: AXE });
  const results = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    TAGS,
  );
  return results.violations.map((v) => ({
    rule: v.id,
    impact: v.impact,
    elements: v.nodes.length,
    first: v.nodes.slice(0, 3).map((n) => ({ target: n.target.join(' '), why: n.failureSummary })),
  }));
}
