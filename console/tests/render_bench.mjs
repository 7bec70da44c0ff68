// The inbox's first render, for tests/bench/console (not a test): signs in once, then loads
// /console/ SB_RUNS times with the browser cache cleared (every asset fetched again, as on a first
// visit) and SB_RUNS times warm, each time from navigation to the first inbox row on screen.
// Prints "cold median X ms (min A, max B), warm median Y ms".
//   SB_URL, SB_LOGIN, SB_PASSWORD, SB_RUNS (default 7)
import { chromium } from 'playwright-core';

const url = process.env.SB_URL;
const runs = Number(process.env.SB_RUNS || 7);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.goto(url + '/console/');
  await page.fill('#login-login', process.env.SB_LOGIN);
  await page.fill('#login-password', process.env.SB_PASSWORD);
  await page.press('#login-password', 'Enter');
  await page.waitForSelector('#inbox-rows .row', { timeout: 30000 });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');

  async function load() {
    const t0 = performance.now();
    await page.goto(url + '/console/', { waitUntil: 'commit' });
    await page.waitForSelector('#inbox-rows .row', { timeout: 30000 });
    return performance.now() - t0;
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cold = [];
  for (let i = 0; i < runs; i++) {
    await cdp.send('Network.clearBrowserCache');
    cold.push(await load());
  }
  await load();
  const warm = [];
  for (let i = 0; i < runs; i++) warm.push(await load());
  console.log(`cold median ${median(cold).toFixed(0)} ms (min ${Math.min(...cold).toFixed(0)}, max ` +
    `${Math.max(...cold).toFixed(0)}), warm median ${median(warm).toFixed(0)} ms`);
} finally {
  await browser.close();
}
