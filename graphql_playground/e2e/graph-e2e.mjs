// Drives the dependency-graph page (/graphql/graph) in headless Chromium (Debian's
// /usr/bin/chromium, never a downloaded browser) and prints what it saw as one JSON object;
// tests/test_graph_page_e2e.py runs it against a real `issuegraph serve` and asserts on it.
//
//   node e2e/graph-e2e.mjs '{"baseUrl": "http://127.0.0.1:8080", "artifacts": "...",
//     "token": "...", "project": "acme/platform", "label": "backend", "iid": 5,
//     "first": 2, "bad": ["?project=acme/platform&iid=x", ...]}'
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { config, origin, out, runInChromium, seen, timeout } from './browser.mjs';
const SETTLED = '#graph[data-state="ready"], #graph[data-state="error"], #graph[data-state="empty"]';

function graphUrl(params) {
  return `${origin}/graphql/graph${params ? `?${new URLSearchParams(params)}` : ''}`;
}

// What the page shows: counted through the canvas's data-* attributes and Cytoscape's API.
async function graphState(page) {
  return page.evaluate(() => {
    const el = document.querySelector('#graph');
    const cy = window.__issuegraphCy;
    const notice = document.querySelector('#graph-notice');
    return {
      url: window.location.href,
      state: el.dataset.state,
      view: el.dataset.view ?? null,
      nodeCount: Number(el.dataset.nodeCount ?? 0),
      edgeCount: Number(el.dataset.edgeCount ?? 0),
      criticalCount: Number(el.dataset.criticalCount ?? 0),
      hiddenCount: el.dataset.hiddenCount === undefined ? null : Number(el.dataset.hiddenCount),
      notice: notice.hidden ? null : notice.textContent,
      status: document.querySelector('#graph-status')?.textContent ?? '',
      summary: document.querySelector('#graph-summary')?.innerText ?? '',
      canvasText: el.innerText,
      owned: window.__owned ?? null, // set only by markup injected from data
      session: document.querySelector('#graph-session')?.innerText ?? '',
      sessionState: document.querySelector('#graph-session')?.dataset.state ?? null,
      references: cy
        ? cy
            .nodes()
            .map((n) => n.data('issue').reference)
            .sort()
        : [],
      edges: cy
        ? cy
            .edges()
            .map(
              (e) =>
                `${e.source().data('issue').reference} ${e.data('linkType')} ${e.target().data('issue').reference}`,
            )
            .sort()
        : [],
      states: cy
        ? Object.fromEntries(cy.nodes().map((n) => [n.data('issue').reference, n.data('issue').state]))
        : {},
      critical: cy ? cy.nodes('.critical').map((n) => n.data('issue').reference) : [],
      colours: cy
        ? Object.fromEntries(cy.nodes().map((n) => [n.data('issue').reference, n.style('background-color')]))
        : {},
      edgeColours: cy
        ? Object.fromEntries(cy.edges().map((e) => [e.data('linkType'), e.style('line-color')]))
        : {},
      form: Object.fromEntries(
        [...new FormData(document.querySelector('#graph-form')).entries()].reduce((all, [k, v]) => {
          all.set(k, all.has(k) ? `${all.get(k)},${v}` : v);
          return all;
        }, new Map()),
      ),
    };
  });
}

// Wait until the page has settled on a view, the address matching `test` when given.
async function settled(page, test = null) {
  await page.waitForFunction(
    (wanted) => {
      const state = document.querySelector('#graph')?.dataset.state;
      if (!['ready', 'error', 'empty'].includes(state)) return false;
      if (!wanted) return true;
      return Object.entries(wanted).every(([k, v]) => {
        const got = new URLSearchParams(window.location.search).get(k);
        return v === null ? got === null : got === String(v);
      });
    },
    test,
    { timeout },
  );
  return graphState(page);
}

async function open(page, params) {
  const response = await page.goto(graphUrl(params), { waitUntil: 'load' });
  await page.locator(SETTLED).waitFor({ timeout });
  return { httpStatus: response.status(), csp: response.headers()['content-security-policy'] ?? null };
}

// A download started by clicking an export button: its file name and bytes.
async function exported(page, format) {
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout }).catch(async (error) => {
      const status = await page.locator('#graph-status').innerText();
      throw new Error(`no ${format} download (the page says “${status}”): ${error.message}`);
    }),
    page.click(`#graph-export button[data-export="${format}"]`),
  ]);
  const path = await download.path();
  const bytes = readFileSync(path);
  // A picture's first bytes say what it is; text is reported whole.
  const kept = format === 'png' ? bytes.subarray(0, 64) : bytes;
  return { filename: download.suggestedFilename(), base64: kept.toString('base64'), size: bytes.length };
}

async function detailLinks(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('#graph-details a')].map((a) => ({ text: a.textContent, href: a.href })),
  );
}

async function clickNode(page, reference) {
  const at = await page.evaluate((ref) => {
    const cy = window.__issuegraphCy;
    const node = cy.nodes().filter((n) => n.data('issue').reference === ref)[0];
    const pos = node.renderedPosition();
    return { x: pos.x, y: pos.y };
  }, reference);
  const box = await page.locator('#graph').boundingBox();
  return { x: box.x + at.x, y: box.y + at.y };
}

async function run(context) {
  const page = await context.newPage();

  // No parameters: the form and a hint, nothing drawn.
  const first = await open(page, null);
  out.empty = { ...first, ...(await graphState(page)) };

  // Draw with no project: the form says what is missing.
  await page.click('#graph-form button[type=submit]');
  await page.locator('#graph[data-state="error"]').waitFor({ timeout });
  out.noProject = await graphState(page);

  // The project view, anonymous; its exports.
  out.project = { ...(await open(page, { project: config.project })), ...(await graphState(page)) };
  if (out.project.state !== 'ready') throw new Error(`the project view: ${out.project.status}`);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(config.artifacts, 'graph-project.png') });
  out.exports = {
    svg: await exported(page, 'svg'),
    png: await exported(page, 'png'),
    dot: await exported(page, 'dot'),
  };
  // A project-view node's details: its links.
  const some = out.project.references.find((r) => r.startsWith(`${config.project}#`));
  const point = await clickNode(page, some);
  await page.mouse.click(point.x, point.y);
  await page.waitForFunction(
    (ref) => document.querySelector('#graph-details h3')?.textContent === ref,
    some,
    {
      timeout,
    },
  );
  out.projectDetails = { reference: some, links: await detailLinks(page) };

  // The filters, applied to the view drawn: link types, then state.
  for (const kind of config.uncheck) {
    await page.uncheck(`#graph-form input[name=types][value=${kind}]`);
    // Each change re-queries; wait for the one that leaves this kind out.
    await page.waitForFunction(
      (k) =>
        (new URLSearchParams(window.location.search).get('types') ?? '').split(',').every((t) => t !== k),
      kind,
      { timeout },
    );
  }
  out.typesOnly = await settled(page, { types: config.keep.join(',') });
  await page.selectOption('#graph-form select[name=state]', 'open');
  out.filtered = await settled(page, { state: 'open', types: config.keep.join(',') });
  out.filteredDot = await exported(page, 'dot');

  // A label view, and a bound that truncates.
  out.label = {
    ...(await open(page, { project: config.project, label: config.label })),
    ...(await graphState(page)),
  };
  out.labelDot = await exported(page, 'dot');
  out.truncated = {
    ...(await open(page, { project: config.project, first: String(config.first) })),
    ...(await graphState(page)),
  };

  // The issue view: click a node for its details, double-click for its own graph, go back.
  out.issue = {
    ...(await open(page, { project: config.project, iid: String(config.iid) })),
    ...(await graphState(page)),
  };
  out.issueDetails = { links: await detailLinks(page) };
  const target = out.issue.references.find(
    (r) => r !== `${config.project}#${config.iid}` && r.startsWith(config.project),
  );
  const at = await clickNode(page, target);
  await page.mouse.click(at.x, at.y);
  await page.waitForFunction(
    (ref) => document.querySelector('#graph-details h3')?.textContent === ref,
    target,
    {
      timeout,
    },
  );
  out.clicked = {
    reference: target,
    details: await page.locator('#graph-details').innerText(),
    links: await detailLinks(page),
  };
  await page.mouse.dblclick(at.x, at.y);
  const targetIid = target.split('#')[1];
  out.recentred = await settled(page, { iid: targetIid });
  await page.goBack();
  out.back = await settled(page, { iid: String(config.iid) });
  out.issueDot = await exported(page, 'dot');
  out.issueSvg = await exported(page, 'svg');
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(config.artifacts, 'graph-issue.png') });

  // A token the server refuses: the page says so, stores nothing and stays anonymous. (The
  // refused request's 401 is logged by the browser: reported on its own.)
  const logged = seen.consoleErrors.length;
  await page.fill('#graph-session input[name=token]', 'not-a-token');
  await page.click('#graph-session button[type=submit]');
  await page.locator('#graph-session .ig-error').waitFor({ timeout });
  await page.waitForTimeout(200);
  out.refusedToken = {
    session: await page.locator('#graph-session').innerText(),
    sessionState: await page.locator('#graph-session').getAttribute('data-state'),
    stored: await page.evaluate(() => window.localStorage.getItem('issuegraph.token')),
    console: seen.consoleErrors.splice(logged),
  };

  // Signing in, on this page: the session line names the user and the view is drawn again.
  await page.fill('#graph-session input[name=token]', config.token);
  const before = out.back.nodeCount;
  await page.click('#graph-session button[type=submit]');
  await page.waitForFunction(
    (n) =>
      document.querySelector('#graph-session')?.dataset.state === 'signed-in' &&
      document.querySelector('#graph')?.dataset.state === 'ready' &&
      document.querySelector('#graph')?.dataset.nodeCount !== String(n),
    before,
    { timeout },
  );
  out.signedIn = await graphState(page);
  out.signedInProject = { ...(await open(page, { project: config.project })), ...(await graphState(page)) };
  await page.waitForFunction(
    () => document.querySelector('#graph-session')?.dataset.state === 'signed-in',
    null,
    {
      timeout,
    },
  );
  out.signedInProject.session = await page.locator('#graph-session').innerText();
  out.signedInDot = await exported(page, 'dot');

  // The same sign-in in another tab and on the GraphiQL page; a sign-out there reaches here.
  const other = await context.newPage();
  await open(other, { project: config.project, iid: String(config.iid) });
  await other.waitForFunction(
    () => document.querySelector('#graph-session')?.dataset.state === 'signed-in',
    null,
    {
      timeout,
    },
  );
  out.otherTab = { session: await other.locator('#graph-session').innerText() };
  const graphiql = await context.newPage();
  await graphiql.goto(`${origin}/graphql`, { waitUntil: 'load' });
  out.otherTab.graphiqlToken = await graphiql.evaluate(() => window.localStorage.getItem('issuegraph.token'));
  await graphiql.close();
  await other.click('#graph-session button:has-text("Sign out")');
  await page.waitForFunction(
    () =>
      document.querySelector('#graph-session')?.dataset.state === 'anonymous' &&
      document.querySelector('#graph')?.dataset.state === 'ready' &&
      document.querySelector('#graph-notice')?.hidden === false,
    null,
    { timeout },
  );
  out.signedOut = await graphState(page);
  seen.cspViolations.push(...(await other.evaluate(() => window.__cspViolations ?? [])));
  await other.close();

  // Bad addresses: a clear message, nothing drawn.
  out.bad = [];
  for (const search of config.bad) {
    await page.goto(`${origin}/graphql/graph${search}`, { waitUntil: 'load' });
    await page.locator(SETTLED).waitFor({ timeout });
    out.bad.push({ search, ...(await graphState(page)) });
  }
  seen.cspViolations.push(...(await page.evaluate(() => window.__cspViolations ?? [])));
  await page.close();
}

await runInChromium(run);
