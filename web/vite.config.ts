// The web console's build (`npm run build:web` → web/dist, served by the service at /) and its
// development server (`npm run dev:web`: hot reload on :5173, /api proxied to the service on
// :3000; start the service with CORS_ORIGINS=http://localhost:5173 so its CSRF check admits the
// dev server's origin).
import { defineConfig } from 'vite'
import preact from '@preact/preset-vite'

export default defineConfig({
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The page's Content-Security-Policy (src/plugins/console.ts) allows no inline script, and
    // the module-preload polyfill is one; every browser the console supports has modulepreload.
    modulePreload: { polyfill: false },
    // No source maps in the served build: nothing about the source for a visitor to read.
    sourcemap: false,
    assetsInlineLimit: 0,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:3000' },
  },
})
