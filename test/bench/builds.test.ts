/** Tests for bench/builds.ts: the warning when a build compared with has no addon. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { addonPathOf, addonWarning } from '../../bench/builds.js';
import { nativeAddonStatus } from '../../schemas/nativeAddon.js';

test('a checkout compared with, by its root or its dist/, is warned about when it lacks the addon this checkout has', () => {
  const root = mkdtempSync(join(tmpdir(), 'mf-builds-'));
  try {
    const addon = join(root, 'schemas', 'native', 'build', 'Release', 'mentionflow_native.node');
    assert.equal(addonPathOf(root), addon);
    assert.equal(addonPathOf(join(root, 'dist')), addon);
    const warning = addonWarning(join(root, 'dist'), 'baseline');
    if (nativeAddonStatus().available) {
      assert.match(warning ?? '', /^warning: the baseline \(.*\) has no build of mentionflow's addon/);
      assert.ok(warning!.endsWith(`${join(root, 'schemas', 'native')}/`), warning);
    } else {
      assert.equal(warning, undefined, 'no warning where this checkout has no addon either');
    }
    mkdirSync(dirname(addon), { recursive: true });
    writeFileSync(addon, '');
    assert.equal(addonWarning(join(root, 'dist'), 'baseline'), undefined);
    assert.equal(addonWarning(root, 'candidate'), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
