// Builds the management UI ("Mail Control") into dist/renderer. Everything is bundled: the
// app must work offline on a LAN server, and the CSP of index.html forbids any other origin.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  // Relative asset URLs: Electron loads index.html from file://, the browser from /.
  base: './',
  plugins: [svelte({ configFile: false, compilerOptions: { runes: true } })],
  build: {
    outDir: join(here, '..', 'dist', 'renderer'),
    emptyOutDir: true,
    target: 'es2022',
    // One small app: no need for a module preload polyfill (it would need inline script).
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  // `npm run dev:renderer`: the UI with hot reload, its /api proxied to a running
  // `sekisho serve` (SEKISHO_API, default the control port 8025). The Origin header is
  // dropped because the control server refuses cross-origin calls (and this is one only
  // for the proxy's sake).
  server: {
    port: 5173,
    strictPort: false,
    proxy: {
      '/api': {
        target: process.env.SEKISHO_API ?? 'http://127.0.0.1:8025',
        changeOrigin: true,
        configure: (proxy) => proxy.on('proxyReq', (req) => req.removeHeader('origin')),
      },
    },
  },
});
