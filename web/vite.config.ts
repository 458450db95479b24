import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    // The CSP (default-src 'self') refuses data: URLs, so never inline assets.
    assetsInlineLimit: 0,
    // Every target browser supports <link rel="modulepreload">.
    modulePreload: { polyfill: false },
  },
});
