// SPDX-License-Identifier: MIT
// Drives the dashboard in headless Chromium for test-dashboard.sh. Every wait is for something
// on the page (a row, a state) with a deadline; a screenshot is taken at each step.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require(path.join(process.env.PLAYWRIGHT_DIR, 'node_modules', 'playwright-core'));

const [url, executablePath, work, artifacts, pipeline, workUnit, flakyUnit] = process.argv.slice(2);
const TIMEOUT = 60000;

function drop(name) {
  // Into place atomically, as a producer would.
  fs.writeFileSync(path.join(work, 'in', '.' + name + '.tmp'), name + '\n');
  fs.renameSync(path.join(work, 'in', '.' + name + '.tmp'), path.join(work, 'in', name));
}

(async () => {
  const browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
      '--disable-background-networking', '--no-first-run'],
  });
  let page;
  let step = 0;
  const shot = async (name) => page.screenshot({ path: path.join(artifacts, String(++step).padStart(2, '0') + '-' + name + '.png'), fullPage: true });
  try {
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(url);
    await page.locator(`[data-task="${pipeline}/work"]`).waitFor({ timeout: TIMEOUT });
    await page.locator(`[data-task="${pipeline}/flaky"]`).waitFor({ timeout: TIMEOUT });
    await shot('graph');

    // 10,000 complete instances: one box that counts them, a grid of the newest 2000.
    const bulk = page.locator(`[data-task="${pipeline}/bulk"]`);
    await page.locator(`[data-task="${pipeline}/bulk"][data-complete="10000"]`).waitFor({ timeout: TIMEOUT });
    const nodes = await page.locator('#viewport .node').count();
    if (nodes !== 8) throw new Error(`the graph has ${nodes} nodes, not 5 targets and 3 tasks`);
    await bulk.click();
    await page.locator('#grid-note', { hasText: 'newest 2000 shown' }).waitFor({ timeout: TIMEOUT });
    const cells = await page.locator('#grid .cell').count();
    if (cells !== 2000) throw new Error(`the grid has ${cells} cells`);
    await shot('10000-instances');

    // A run appears, running (it waits for the gate), then turns to success.
    drop('a');
    const running = page.locator(`#running tr[data-unit="${workUnit}"]`);
    await running.waitFor({ timeout: TIMEOUT });
    // Live figures from systemd: memory at once, CPU once two samples are in.
    await running.locator('td.memory', { hasText: /^[0-9.]+[BKMG]$/ }).waitFor({ timeout: TIMEOUT });
    await running.locator('td.cpu', { hasText: /^[0-9]+%$/ }).waitFor({ timeout: TIMEOUT });
    await shot('running');
    fs.writeFileSync(path.join(work, 'gate'), '');
    await page.locator(`#history tr[data-unit="${workUnit}"][data-result="success"]`).waitFor({ timeout: TIMEOUT });
    await page.locator(`#running tr[data-unit="${workUnit}"]`).waitFor({ state: 'detached', timeout: TIMEOUT });
    await shot('success');

    // The failed instance, in its task's panel, with a retry button; fixed, then retried.
    await page.locator(`[data-task="${pipeline}/flaky"]`).click();
    const row = page.locator(`#instances tr[data-unit="${flakyUnit}"][data-state="failed"]`);
    await row.waitFor({ timeout: TIMEOUT });
    await page.locator(`#history tr[data-unit="${flakyUnit}"][data-result="failed"]`).waitFor({ timeout: TIMEOUT });
    await row.click();
    await page.locator('#log', { hasText: 'flaky-broken' }).waitFor({ timeout: TIMEOUT });
    await shot('failed');
    fs.unlinkSync(path.join(work, 'flag'));
    await row.locator('button[data-action="retry"]').click();
    await page.locator(`#history tr[data-unit="${flakyUnit}"][data-result="success"]`).waitFor({ timeout: TIMEOUT });
    await page.locator('#log', { hasText: 'flaky-fixed' }).waitFor({ timeout: TIMEOUT });
    await page.locator(`#instances tr[data-unit="${flakyUnit}"]`).waitFor({ state: 'detached', timeout: TIMEOUT });
    await shot('retried');

    if (errors.length) throw new Error('errors in the page: ' + errors.join('; '));
    console.log('dashboard: run seen running and succeeding; failed instance retried to success');
  } catch (e) {
    if (page) await shot('failure').catch(() => {});
    console.error('dashboard test: ' + e.message);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
