/**
 * Debian's chromium driven by playwright-core for the browser tests, or why it cannot start here
 * (the tests then skip, printing the reason). CHROMIUM overrides the path.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export async function launchChromium(): Promise<{ browser?: Browser; why?: string }> {
  const path = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) return { why: `no chromium at ${path} (Debian: apt-get install chromium)` };
  try {
    const { chromium } = await import('playwright-core');
    return { browser: await chromium.launch({ executablePath: path, args: ['--no-sandbox'] }) };
  } catch (e) {
    return { why: `chromium at ${path} did not start: ${(e as Error).message.split('\n')[0]}` };
  }
}
