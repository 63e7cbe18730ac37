import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// Built by `npm run build:web` (part of `npm ci`) into web/dist, which `rollcall serve` serves at `/`.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The polyfill would be bundled, not inline, but evergreen browsers need none.
    modulePreload: { polyfill: false },
  },
})
