// Opens a subject access bundle (the print-ready HTML) in headless Chromium with a records officer's key,
// reads what a person would see, prints it to PDF as the browser does, and prints the findings as JSON for
// tests/tests/browser.rs to check. By hand:
//
//   JOURNEY_URL='http://127.0.0.1:8080/v1/subject-access/sar-1/bundle?format=html' JOURNEY_KEY=jny_... \
//   node tests/browser/bundle.mjs
//
// JOURNEY_SCREENSHOT=<path> also saves a screenshot of the first screen. CHROMIUM overrides /usr/bin/chromium.
import { chromium } from 'playwright-core';
import { audit } from './axe.mjs';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

// The text a PDF reader shows, page by page (pdf.js, as Firefox reads PDFs): what a search of the PDF's
// bytes cannot see, since Chromium compresses the text and encodes it by glyph.
async function pdfText(bytes) {
  const pdf = await getDocument({ data: new Uint8Array(bytes), useSystemFonts: false }).promise;
  const pages = [];
  for (let n = 1; n <= pdf.numPages; n++) {
    const content = await (await pdf.getPage(n)).getTextContent();
    pages.push(content.items.map((item) => item.str).join(' '));
  }
  return { pages: pdf.numPages, text: pages.join('\n') };
}

const url = process.env.JOURNEY_URL;
const key = process.env.JOURNEY_KEY;
if (!url || !key) {
  console.error('JOURNEY_URL and JOURNEY_KEY are required');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const context = await browser.newContext({
    viewport: { width: 1000, height: 1000 },
    extraHTTPHeaders: { Authorization: `Bearer ${key}` },
  });
  const page = await context.newPage();
  const response = await page.goto(url, { waitUntil: 'load' });
  const seen = await page.evaluate(() => {
    const all = (selector) => Array.from(document.querySelectorAll(selector));
    return {
      title: document.title,
      lang: document.documentElement.lang,
      heading: document.querySelector('h1')?.textContent ?? null,
      headings: all('h1, h2').map((h) => h.tagName + ' ' + h.textContent),
      entries: all('main article').length,
      withheld_marks: all('main article').filter((a) => a.textContent.includes('[withheld]')).length,
      redaction_rows: all('main table:last-of-type tbody tr').length,
      text: document.body.innerText,
    };
  });
  const accessibility = await audit(page);
  const pdf = await page.pdf({ format: 'A4', printBackground: false });
  if (process.env.JOURNEY_SCREENSHOT) {
    await page.screenshot({ path: process.env.JOURNEY_SCREENSHOT, fullPage: false });
  }
  console.log(
    JSON.stringify({
      status: response.status(),
      content_type: response.headers()['content-type'],
      ...seen,
      accessibility,
      pdf_bytes: pdf.length,
      pdf: await pdfText(pdf),
      pdf_starts: pdf.subarray(0, 5).toString('latin1'),
    }),
  );
} finally {
  await browser.close();
}
