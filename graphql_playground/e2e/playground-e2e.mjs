// Drives the served playground in headless Chromium (Debian's /usr/bin/chromium, never a
// downloaded browser) and prints what it saw as one JSON object; tests/test_playground_e2e.py
// runs it against a real `issuegraph serve` and asserts on it.
//
//   node e2e/playground-e2e.mjs '{"baseUrl": "http://127.0.0.1:8080", "artifacts": "...",
//     "token": "...", "live": {"publicLink": {...}, "foreignSocket": "ws://..."}}'
import { join } from 'node:path';

import { config, origin, out, runInChromium, seen, timeout } from './browser.mjs';

// Monaco draws text with non-breaking spaces.
const plain = (text) => text.replaceAll('\u00a0', ' ');

async function editorText(page, selector) {
  return plain(await page.locator(`${selector} .view-lines`).first().innerText());
}

async function playground(context) {
  const page = await context.newPage();
  const response = await page.goto(`${origin}/graphql`, { waitUntil: 'load' });
  out.playground = {
    status: response.status(),
    csp: response.headers()['content-security-policy'] ?? null,
    contentType: response.headers()['content-type'] ?? null,
  };
  await page.locator('.graphiql-container').waitFor({ timeout });
  // The first prefilled tab is in the operation editor once Monaco is up.
  await page.waitForFunction(
    () => document.querySelector('.graphiql-query-editor .view-lines')?.textContent.includes('IssueLinks'),
    null,
    { timeout },
  );
  out.playground.tabs = await page.locator('.graphiql-tab').allInnerTexts();
  await page.locator('.graphiql-execute-button').click();
  await page.waitForFunction(
    () => (document.querySelector('.graphiql-response .view-lines')?.textContent ?? '').includes('"data"'),
    null,
    { timeout },
  );
  // Let the response editor finish painting before reading it and taking the picture.
  await page.waitForTimeout(300);
  out.playground.result = await editorText(page, '.graphiql-response');
  await page.screenshot({ path: join(config.artifacts, 'playground.png') });

  // The same graph as a GraphiQL plugin, in the sidebar.
  await page.locator('.graphiql-sidebar button[aria-label="Show Dependency graph"]').click();
  await page.locator('.ig-plugin-canvas[data-node-count]').waitFor({ timeout });
  out.playground.pluginNodeCount = Number(
    await page.locator('.ig-plugin-canvas').getAttribute('data-node-count'),
  );
  seen.cspViolations.push(...(await page.evaluate(() => window.__cspViolations ?? [])));
  await page.close();
}

// The editor tools' tab (Variables or Headers) shown, its editor's text replaced.
async function fillEditorTool(page, name, text) {
  await page.locator('.graphiql-editor-tools button', { hasText: name }).click();
  const editor = page.locator('section.graphiql-editor-tool .graphiql-editor:not(.hidden)');
  await editor.locator('.view-lines').click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.insertText(text);
  // Monaco closes the brackets and quotes it sees typed: drop what it added after the text.
  await page.keyboard.press('ControlOrMeta+Shift+End');
  await page.keyboard.press('Delete');
  const compact = (value) => value.replace(/\s+/g, '');
  const shown = () => page.evaluate(() => document.querySelector(
    'section.graphiql-editor-tool .graphiql-editor:not(.hidden) .view-lines',
  )?.textContent ?? '');
  const deadline = Date.now() + timeout;
  while (compact(plain(await shown())) !== compact(text)) {
    if (Date.now() > deadline) throw new Error(`${name} shows ${await shown()}, not ${text}`);
    await page.waitForTimeout(50);
  }
}

// The tab of `operation` made the active one. (Its name may be below the editor's fold: the
// examples' comments wrap at the editor's width.)
async function openTab(page, operation) {
  await page.locator('.graphiql-tab-button', { hasText: operation }).click();
  await page.waitForFunction(
    (name) => document.querySelector('.graphiql-tab-active .graphiql-tab-button')?.textContent.trim() === name
      && (document.querySelector('.graphiql-query-editor .view-lines')?.textContent ?? '').trim() !== '',
    operation,
    { timeout },
  );
  await page.waitForTimeout(100);
}

async function responseIncludes(page, text) {
  await page.waitForFunction(
    (wanted) => (document.querySelector('.graphiql-response .view-lines')?.textContent ?? '')
      .replaceAll('\u00a0', ' ')
      .includes(wanted),
    text,
    { timeout },
  );
  await page.waitForTimeout(300);
  return editorText(page, '.graphiql-response');
}

// The playground in a new page, once its editor shows the tab it reopened.
async function openPlayground(context) {
  const page = await context.newPage();
  await page.goto(`${origin}/graphql`, { waitUntil: 'load' });
  await page.waitForFunction(
    () => (document.querySelector('.graphiql-query-editor .view-lines')?.textContent ?? '').trim() !== '',
    null,
    { timeout },
  );
  return page;
}

// Every WebSocket a page opens: its URL, the frames it sent and received (parsed), whether
// it closed.
function recordSockets(page) {
  const sockets = [];
  page.on('websocket', (socket) => {
    const record = { url: socket.url(), sent: [], received: [], closed: false };
    sockets.push(record);
    const parse = (payload) => {
      try {
        return JSON.parse(String(payload));
      } catch {
        return { unparsed: String(payload) };
      }
    };
    socket.on('framesent', (frame) => record.sent.push(parse(frame.payload)));
    socket.on('framereceived', (frame) => record.received.push(parse(frame.payload)));
    socket.on('close', () => {
      record.closed = true;
    });
  });
  return sockets;
}

async function subscribed(page, sockets, count) {
  const started = () => sockets.length >= count
    && sockets[count - 1].sent.some((message) => message.type === 'subscribe');
  const deadline = Date.now() + timeout;
  while (!started()) {
    if (Date.now() > deadline) {
      const response = await editorText(page, '.graphiql-response');
      throw new Error(`subscription ${count} never started: ${JSON.stringify(sockets)} ${response}`);
    }
    await page.waitForTimeout(50);
  }
}

// A link event, live: one browser tab watches link events, another creates a link.
async function live(context) {
  const watcher = await openPlayground(context);
  const sockets = recordSockets(watcher);
  const signedIn = JSON.stringify({ Authorization: `Bearer ${config.token}` });
  await openTab(watcher, 'WatchLinkEvents');
  await fillEditorTool(watcher, 'Headers', signedIn);
  await watcher.locator('.graphiql-execute-button').click();
  await subscribed(watcher, sockets, 1);

  const writer = await openPlayground(context);
  await openTab(writer, 'CreateLink');
  await fillEditorTool(writer, 'Headers', signedIn);
  await writer.locator('.graphiql-execute-button').click();
  out.live = { created: await responseIncludes(writer, '"created"') };
  await writer.close();

  out.live.watched = await responseIncludes(watcher, 'LINK_CREATED');
  await watcher.screenshot({ path: join(config.artifacts, 'playground-live.png') });

  // Anonymous now, resuming after the event just seen: stop, change the header, run again.
  const [shown] = sockets[0].received.filter((message) => message.type === 'next');
  const { cursor } = shown.payload.data.issueLinkEvents;
  await watcher.locator('.graphiql-execute-button').click();
  await fillEditorTool(watcher, 'Variables', JSON.stringify({ after: cursor }));
  await fillEditorTool(watcher, 'Headers', JSON.stringify({ Authorization: 'Bearer <paste a token>' }));
  await watcher.locator('.graphiql-execute-button').click();
  await subscribed(watcher, sockets, 2);
  // Plain HTTP requests, in the page: a change of a link to an internal issue (hidden from
  // an anonymous viewer), then a link between two public issues.
  out.live.requests = await watcher.evaluate(
    async ({ requests, token }) => {
      const answers = [];
      for (const body of requests) {
        const response = await fetch('/graphql', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        });
        answers.push(await response.json());
      }
      return answers;
    },
    { requests: config.live.requests, token: config.token },
  );
  out.live.anonymous = await responseIncludes(watcher, config.live.expect);
  seen.cspViolations.push(...(await watcher.evaluate(() => window.__cspViolations ?? [])));

  // A WebSocket to any other origin is refused by the page's policy.
  out.live.foreignSocket = await watcher.evaluate(async ({ url, ms }) => {
    const refused = new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (event) => {
        resolve(`${event.violatedDirective} ${event.blockedURI}`);
      }, { once: true });
      setTimeout(() => resolve(null), ms);
    });
    const socket = new Promise((resolve) => {
      try {
        const ws = new WebSocket(url);
        ws.onopen = () => resolve('open');
        ws.onerror = () => resolve('error');
      } catch (error) {
        resolve(`thrown ${error.name}`);
      }
    });
    return { violation: await refused, socket: await socket };
  }, { url: config.live.foreignSocket, ms: timeout });

  // A token the server refuses: the tab says so at once, with no attempt to connect again.
  // (Its HTTP requests, such as the schema's, are answered 401: the console errors from
  // here on are reported on their own.)
  const consoleErrors = seen.consoleErrors.length;
  await watcher.locator('.graphiql-execute-button').click();
  await fillEditorTool(watcher, 'Headers', JSON.stringify({ Authorization: 'Bearer not-a-token' }));
  await watcher.locator('.graphiql-execute-button').click();
  out.live.refused = await responseIncludes(watcher, '4403');
  out.live.socketsWhenRefused = sockets.length;
  await watcher.close();
  out.live.refusedConsole = seen.consoleErrors.splice(consoleErrors);
  out.live.sockets = sockets;
}

// A link created through the page, by a plain HTTP request with the test's token.
async function post(page, body) {
  return page.evaluate(async ({ request, token }) => {
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(request),
    });
    return response.json();
  }, { request: body, token: config.token });
}

// The connection drops under a running subscription: the playground connects again and
// resumes after the last event it showed, so a link made meanwhile still arrives. The
// page's WebSocket goes through Playwright (to the real server), which can cut it.
async function reconnect(context) {
  const page = await openPlayground(context);
  const connections = [];
  const timeline = [];
  await page.routeWebSocket(/\/graphql$/, (ws) => {
    const number = connections.length + 1;
    const server = ws.connectToServer();
    const record = { sent: [], received: [], page: ws, server, cut: false };
    connections.push(record);
    timeline.push(`open ${number}`);
    ws.onMessage((message) => {
      record.sent.push(JSON.parse(String(message)));
      server.send(message);
    });
    // What the page received: nothing once the connection is cut.
    server.onMessage((message) => {
      if (record.cut) return;
      record.received.push(JSON.parse(String(message)));
      ws.send(message);
    });
  });
  await openTab(page, 'WatchLinkEvents');
  await fillEditorTool(page, 'Variables', JSON.stringify({ after: null }));
  await fillEditorTool(page, 'Headers', JSON.stringify({ Authorization: `Bearer ${config.token}` }));
  await page.locator('.graphiql-execute-button').click();
  const started = (n) => connections.length >= n
    && connections[n - 1].sent.some((message) => message.type === 'subscribe');
  const until = async (condition, what) => {
    const deadline = Date.now() + timeout;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(timeline)}`);
      await page.waitForTimeout(50);
    }
  };
  await until(() => started(1), 'the first subscription never started');
  const [before, meanwhile] = config.reconnect.requests;
  const answers = [await post(page, before)];
  await responseIncludes(page, config.reconnect.expect[0]);

  // Both ends: the page sees it close, the server's connection ends.
  connections[0].cut = true;
  await connections[0].server.close({ code: 1012, reason: 'Service Restart' });
  await connections[0].page.close({ code: 1012, reason: 'Service Restart' });
  timeline.push('closed 1');
  answers.push(await post(page, meanwhile));
  timeline.push('created while closed');
  await until(() => started(2), 'the subscription never resumed');
  const shown = await responseIncludes(page, config.reconnect.expect[1]);
  seen.cspViolations.push(...(await page.evaluate(() => window.__cspViolations ?? [])));
  await page.close();
  out.reconnect = {
    answers,
    shown,
    timeline,
    connections: connections.map(({ sent, received }) => ({ sent, received })),
  };
}

// The errors an answer holds: top-level ones and each root field's payload `errors`.
function answerErrors(body) {
  const errors = [...(body?.errors ?? [])];
  for (const value of Object.values(body?.data ?? {})) {
    if (value && typeof value === 'object' && Array.isArray(value.errors)) errors.push(...value.errors);
  }
  return errors;
}

// Runs the tab of `operation` with the run button; its HTTP answer, its Authorization header.
async function runTab(page, operation) {
  await openTab(page, operation);
  const answered = page.waitForResponse(
    (response) => response.url() === `${origin}/graphql`
      && response.request().method() === 'POST'
      && response.request().postDataJSON()?.operationName === operation,
    { timeout },
  );
  await page.locator('.graphiql-execute-button').click();
  const response = await answered.catch(async (error) => {
    const shown = await editorText(page, '.graphiql-response').catch(() => '');
    throw new Error(`${operation} was not answered (${error.message}); the tab shows: ${shown}`);
  });
  const body = await response.json();
  return {
    operation,
    status: response.status(),
    authorization: response.request().headers().authorization ?? null,
    errors: answerErrors(body),
    data: body.data ?? null,
  };
}

async function signedInAs(page) {
  await page.locator('.ig-signin[data-state="signed-in"], .ig-signin[data-state="signed-out"]').waitFor({ timeout });
  return {
    state: await page.locator('.ig-signin').getAttribute('data-state'),
    text: await page.locator('.ig-signin-status').innerText(),
    bar: await page.locator('.ig-signin').innerText(),
  };
}

// Tabs saved by the parts above (their Headers editors hold tokens) are forgotten: the
// playground starts again from its examples.
async function freshPlayground(context) {
  // Pages left open by the parts above would save their tabs again between the clearing
  // and the reload (a running subscription's answer does): they go first.
  for (const open of context.pages()) await open.close();
  const page = await openPlayground(context);
  await page.evaluate(() => {
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith('issuegraph-playground-')) localStorage.removeItem(key);
    }
  });
  await page.reload({ waitUntil: 'load' });
  await page.waitForFunction(
    () => document.querySelector('.graphiql-query-editor .view-lines')?.textContent.includes('IssueLinks'),
    null,
    { timeout },
  );
  return page;
}

async function signInWith(page, token) {
  await page.locator('.ig-signin input[name=token]').fill(token);
  await page.locator('.ig-signin button[type=submit]').click();
}

// One token for the whole playground: signed in once, it is sent from every tab, after a
// reload and from another page; a refused token is not kept; signing out is anonymous.
async function signIn(context) {
  const consoleErrors = seen.consoleErrors.length;
  const page = await freshPlayground(context);
  const result = { before: await signedInAs(page) };
  // A second page, open before the sign-in: it hears of it.
  const other = await openPlayground(context);
  result.otherBefore = await signedInAs(other);
  result.anonymousRead = await runTab(page, 'IssueLinks');

  // Text no token holds (a snowman, spaces): refused before any request.
  await signInWith(page, 'tok\u2603en X-Other: 1');
  await page.locator('.ig-signin .ig-error').waitFor({ timeout });
  result.unsendable = {
    message: await page.locator('.ig-signin .ig-error').innerText(),
    stored: await page.evaluate(() => localStorage.getItem('issuegraph.token')),
  };
  await signInWith(page, 'not-a-token');
  await page.waitForFunction(
    (before) => {
      const shown = document.querySelector('.ig-signin .ig-error')?.textContent;
      return shown && shown !== before;
    },
    result.unsendable.message,
    { timeout },
  );
  await page.locator('.ig-signin .ig-error').waitFor({ timeout });
  result.refused = {
    message: await page.locator('.ig-signin .ig-error').innerText(),
    stored: await page.evaluate(() => localStorage.getItem('issuegraph.token')),
    state: await page.locator('.ig-signin').getAttribute('data-state'),
  };

  await signInWith(page, config.token);
  await page.locator('.ig-signin[data-state="signed-in"]').waitFor({ timeout });
  result.signedIn = await signedInAs(page);
  result.runs = [await runTab(page, 'CreateLink'), await runTab(page, 'BulkLinks')];
  // A tab's own Authorization header wins over the signed-in token, for that tab only.
  await openTab(page, 'ReadyIssues');
  await fillEditorTool(page, 'Headers', JSON.stringify({ Authorization: 'Bearer not-a-token' }));
  result.ownHeader = await runTab(page, 'ReadyIssues');
  await fillEditorTool(page, 'Headers', '');
  await page.reload({ waitUntil: 'load' });
  // Tabs switch once the editors are up.
  await page.waitForFunction(
    () => (document.querySelector('.graphiql-query-editor .view-lines')?.textContent ?? '').trim() !== '',
    null,
    { timeout },
  );
  result.afterReload = await signedInAs(page);
  result.runs.push(await runTab(page, 'UpdateLink'));

  await other.locator('.ig-signin[data-state="signed-in"]').waitFor({ timeout });
  result.otherPage = await signedInAs(other);
  result.runs.push(await runTab(other, 'DeleteLink'));

  // Signed out in one page: the other hears it, and its next request is anonymous.
  await page.locator('.ig-signin button', { hasText: 'Sign out' }).click();
  await other.locator('.ig-signin[data-state="signed-out"]').waitFor({ timeout });
  result.signedOut = await signedInAs(other);
  result.anonymousWrite = await runTab(other, 'CreateLink');
  result.storedAfterSignOut = await other.evaluate(() => localStorage.getItem('issuegraph.token'));
  seen.cspViolations.push(...(await page.evaluate(() => window.__cspViolations ?? [])));
  seen.cspViolations.push(...(await other.evaluate(() => window.__cspViolations ?? [])));
  await other.close();
  await page.close();
  // The refused token's check is answered 401, which the browser logs.
  result.console = seen.consoleErrors.splice(consoleErrors);
  out.signIn = result;
}

// Every example tab, signed in, run twice in a row; every tab visited with the explorer
// open; the graph plugin following the active tab.
async function examples(context) {
  const page = await freshPlayground(context);
  await signInWith(page, config.token);
  await page.locator('.ig-signin[data-state="signed-in"]').waitFor({ timeout });
  const tabs = await page.locator('.graphiql-tab').allInnerTexts();
  const result = { runs: [], visited: [], plugin: [] };
  const sockets = recordSockets(page);
  for (const operation of tabs) {
    for (const round of [1, 2]) {
      if (operation === 'WatchLinkEvents') {
        result.runs.push({ operation, round, ...(await watchOnce(page, sockets)) });
      } else {
        result.runs.push({ round, ...(await runTab(page, operation)) });
      }
    }
  }
  // Long comment lines wrap: no line of the editor is wider than the editor.
  await openTab(page, 'CreateLink');
  result.wrapped = await page.evaluate(() => {
    const editor = document.querySelector('.graphiql-query-editor .monaco-editor');
    const lines = [...editor.querySelectorAll('.view-line')];
    const width = editor.querySelector('.monaco-scrollable-element').clientWidth;
    return { width, widest: Math.max(...lines.map((line) => line.firstElementChild?.scrollWidth ?? 0)) };
  });

  await page.locator('.graphiql-sidebar button[aria-label="Show GraphiQL Explorer"]').click();
  await page.locator('.graphiql-explorer-root, .docExplorerWrap').first().waitFor({ timeout });
  for (const operation of tabs) {
    await openTab(page, operation);
    await page.waitForTimeout(300);
    result.visited.push(operation);
  }

  await page.locator('.graphiql-sidebar button[aria-label="Show Dependency graph"]').click();
  for (const operation of ['IssueLinks', 'Dependencies', 'ReadyIssues', 'Paths', 'CreateLink']) {
    await openTab(page, operation);
    await page.waitForFunction(
      () => ['ready', 'error', 'none'].includes(document.querySelector('.ig-plugin-canvas')?.dataset.state),
      null,
      { timeout },
    );
    const drawn = await page.evaluate(() => {
      const box = document.querySelector('.ig-plugin-canvas');
      return {
        state: box.dataset.state,
        start: box.dataset.start ?? null,
        references: (box.dataset.references ?? '').split(' ').filter(Boolean),
        none: document.querySelector('.ig-plugin-none')?.textContent ?? null,
        width: box.clientWidth,
      };
    });
    result.plugin.push({ operation, ...drawn });
    if (operation === 'Dependencies') {
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(config.artifacts, 'playground-graph-plugin.png') });
    }
  }
  seen.cspViolations.push(...(await page.evaluate(() => window.__cspViolations ?? [])));
  await page.close();
  out.examples = result;
}

// The subscription tab, run and stopped: it shows the link events a request makes while it
// runs (the "Delete a link" example, which creates the link and deletes it).
async function watchOnce(page, sockets) {
  await openTab(page, 'WatchLinkEvents');
  const count = sockets.length + 1;
  await page.locator('.graphiql-execute-button').click();
  await subscribed(page, sockets, count);
  const answer = await post(page, config.examples.trigger);
  const deleted = () => sockets[count - 1].received.some(
    (m) => m.type === 'next' && m.payload?.data?.issueLinkEvents?.kind === 'LINK_DELETED',
  );
  const deadline = Date.now() + timeout;
  while (!deleted()) {
    if (Date.now() > deadline) throw new Error(`no LINK_DELETED event: ${JSON.stringify(sockets[count - 1])}`);
    await page.waitForTimeout(50);
  }
  const shown = await responseIncludes(page, 'LINK_DELETED');
  await page.locator('.graphiql-execute-button').click();
  const received = sockets[count - 1].received;
  return {
    init: sockets[count - 1].sent[0],
    trigger: answerErrors(answer),
    errors: [
      ...received.filter((m) => m.type === 'error'),
      ...received.filter((m) => m.type === 'next').flatMap((m) => answerErrors(m.payload)),
      ...(shown.includes('"errors"') ? [shown] : []),
    ],
    events: received.filter((m) => m.type === 'next').map((m) => m.payload.data.issueLinkEvents.kind),
  };
}

await runInChromium(async (context) => {
  await playground(context);
  await live(context);
  await reconnect(context);
  await signIn(context);
  await examples(context);
});
