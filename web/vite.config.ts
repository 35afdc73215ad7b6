// Vite build of the Conductor dashboard: web/ is the root, the bundle goes to web/dist, which the
// functions server serves (with /config.json and the SPA fallback). `npm run build:web`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  // Lit's production build whatever NODE_ENV says (vitest sets it to "test", which would pick
  // Lit's development build, with its console warning, when a test builds the app).
  resolve: { conditions: ['module', 'browser', 'production'] },
  // The functions server answers /config.json; nothing else needs a dev proxy.
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 400,
  },
  logLevel: 'warn',
});
