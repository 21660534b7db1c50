// axe-core (tests/e2e/node_modules/axe-core) run inside a product page. The pages' CSP
// (script-src 'self') refuses an injected <script> (page.addScriptTag), so the source is
// evaluated through the DevTools protocol instead, which CSP does not govern; it defines
// window.axe in the page's own world, where axe.run(document) then sees the real DOM.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const axePath = require.resolve('axe-core/axe.min.js');
const axeSource = readFileSync(axePath, 'utf8');

export async function injectAxe(page) {
  const has = await page.evaluate(() => typeof window.axe === 'object' && typeof window.axe.run === 'function');
  if (has) return 'present';
  try {
    await page.addScriptTag({ path: axePath });
  } catch {
    /* refused: evaluated below */
  }
  if (await page.evaluate(() => typeof window.axe === 'object')) return 'script-tag';
  await page.evaluate(axeSource);
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) throw new Error('axe-core could not be loaded');
  return 'evaluate';
}

// Runs axe on the whole document; returns { violations, incomplete, passes, version } reduced to
// what a report needs: rule id, impact, help, and each node's target and failure summary; how
// says how axe got into the page (script-tag, evaluate, present).
export async function runAxe(page) {
  const how = await injectAxe(page);
  const r = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations', 'incomplete'] });
    const nodes = (list) =>
      list.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        nodes: v.nodes.map((n) => ({ target: n.target.join(' '), impact: n.impact, summary: n.failureSummary || '' })),
      }));
    return {
      version: window.axe.version,
      violations: nodes(r.violations),
      incomplete: nodes(r.incomplete),
      passes: r.passes.length,
    };
  });
  return { ...r, how };
}
