import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Debian's Chromium (apt-get install chromium), or the one RA_BROWSER_PATH names. */
export const CHROMIUM = process.env['RA_BROWSER_PATH'] ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'
]

export const HOW_TO_INSTALL = `no Chromium at ${CHROMIUM}: install it with \`apt-get install chromium\` (or set RA_BROWSER_PATH)`

/** Chromium, headless; Playwright gives each launch a fresh user-data folder of its own (and removes it). */
export async function launchChromium (): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(HOW_TO_INSTALL)
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
}
