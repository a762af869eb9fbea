// Builds the native addon and stores it where node-gyp-build looks in an installed package:
// prebuilds/<platform>-<arch>/keel.abi<NODE_MODULE_VERSION>[.glibc].node. `prepack` runs this,
// so the tarball of `npm pack` / `npm publish` carries a binary for this platform and Node major
// (the addon uses V8's API, so it is tied to one Node ABI). prebuildify is not used: it
// downloads Node's headers, which a machine without internet access cannot.
//
// The build runs in a temporary copy of binding.gyp and native/, so the build/ of a checkout
// (which the test suite may be loading at that moment) is left alone.
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFromSource, kPackageRoot, loads } from './install-native.mjs';

/** The file name node-gyp-build matches for this Node: runtime ABI, and the C library. */
function prebuildName() {
  const header = /** @type {{ glibcVersionRuntime?: string }} */ (
    process.report.getReport().header
  );
  const libc = process.platform === 'linux' && header.glibcVersionRuntime ? '.glibc' : '';
  return `keel.abi${process.versions.modules}${libc}.node`;
}

const staging = mkdtempSync(join(tmpdir(), 'keel-prebuild-'));
try {
  copyFileSync(join(kPackageRoot, 'binding.gyp'), join(staging, 'binding.gyp'));
  cpSync(join(kPackageRoot, 'native'), join(staging, 'native'), { recursive: true });
  const build = buildFromSource(staging, { quiet: false });
  if (!build.ok) throw new Error('node-gyp could not build the addon (see above)');
  if (!loads(build.addon)) throw new Error(`the build at ${build.addon} does not load`);
  const folder = join(kPackageRoot, 'prebuilds', `${process.platform}-${process.arch}`);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const target = join(folder, prebuildName());
  copyFileSync(build.addon, target);
  console.log(`keel: prebuild written to ${target}`);
} finally {
  rmSync(staging, { recursive: true, force: true });
}
