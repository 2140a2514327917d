import { readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { type Page, chromium } from 'playwright-core';

/** The page's script: the engine and the page bundled from source, Node's modules (file IO) stubbed out. */
export async function bundlePage(entry = new URL('./entry.ts', import.meta.url)): Promise<string> {
  const result = await build({
    entryPoints: [entry.pathname],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
    plugins: [
      {
        name: 'no-node-builtins',
        setup(b) {
          b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'stub' }));
          b.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({
            contents: `module.exports = new Proxy({}, { get: () => () => { throw new Error('${args.path} is not available in the browser'); } });`,
            loader: 'js',
          }));
        },
      },
    ],
  });
  return result.outputFiles[0]!.text;
}

/**
 * Serves the page, its bundle and the op goldens from 127.0.0.1 on a free port; `isolated` sends
 * the headers that make the page cross-origin isolated (SharedArrayBuffer, wasm threads).
 */
export async function servePage(bundle: string, { isolated = false } = {}): Promise<{ url: string; server: Server }> {
  const goldens = readFileSync(new URL('../../../fixtures/op-goldens.json', import.meta.url));
  const files: Record<string, [string, string | Buffer]> = {
    '/': ['text/html', '<!doctype html><html><body><script type="module" src="/bundle.js"></script></body></html>'],
    '/bundle.js': ['text/javascript', bundle],
    '/goldens.json': ['application/json', goldens],
  };
  const isolation = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
  const server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    res.writeHead(file ? 200 : 404, { 'content-type': file?.[0] ?? 'text/plain', ...isolation });
    res.end(file?.[1] ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a quiet headless Chromium, plus what each GPU mode needs under SwiftShader (none for `cpu`). */
export function chromiumArgs(mode: 'webgl2' | 'webgpu' | 'cpu'): string[] {
  const quiet = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
  const swiftshader = ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'];
  if (mode === 'cpu') return quiet;
  return mode === 'webgpu' ? [...quiet, ...swiftshader, '--enable-unsafe-webgpu'] : [...quiet, ...swiftshader];
}

/**
 * Opens the served page in a headless Chromium launched for `mode`, runs `fn` on it, and closes
 * the browser. Page errors are collected and handed to `fn`'s caller through `errors`.
 */
export async function withPage<T>(mode: 'webgl2' | 'webgpu' | 'cpu', url: string, fn: (page: Page, errors: string[]) => Promise<T>): Promise<T> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs(mode) });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    return await fn(page, errors);
  } finally {
    await browser.close();
  }
}
