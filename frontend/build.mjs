// Regenerates ../static/vendor/ from the packages pinned in package-lock.json.
//
//   cd frontend && npm ci && npm run build
//
// The output is committed (a fresh machine may have only Python), and CI
// rebuilds it and runs `git diff --exit-code static/vendor`. So everything
// here must be deterministic: no timestamps, no source maps, stable names,
// sorted directory listings.
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, "..", "static", "vendor");
const modules = join(here, "node_modules");

const pkgJson = (name) => JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8"));

// `npm install` with a looser spec could leave other versions in node_modules
// than package.json pins; refuse to build from those rather than commit them.
function checkPins() {
  const own = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
  const wanted = { ...own.dependencies, ...own.devDependencies };
  for (const [name, version] of Object.entries(wanted)) {
    if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`${name}: pin an exact version, not "${version}"`);
    const got = pkgJson(name).version;
    if (got !== version) throw new Error(`${name}: package.json pins ${version} but ${got} is installed; run npm ci`);
  }
}

function copy(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

// KaTeX: the minified JS as published, the CSS trimmed to woff2 fonts only
// (every browser we target has woff2; the woff/ttf copies would triple the
// size). Django's ManifestStaticFilesStorage fails collectstatic on a url()
// whose file is missing, so the CSS must reference exactly the fonts we ship.
function vendorKatex() {
  const dist = join(modules, "katex", "dist");
  const dest = join(out, "katex");
  copy(join(dist, "katex.min.js"), join(dest, "katex.min.js"));

  const css = readFileSync(join(dist, "katex.min.css"), "utf8").replace(/src:([^;}]*)/g, (_, list) => {
    const woff2 = list.split(/,(?=url\()/).filter((s) => s.includes('format("woff2")'));
    if (woff2.length !== 1) throw new Error(`KaTeX CSS: expected one woff2 source in: ${list}`);
    return `src:${woff2[0]}`;
  });
  const banner = `/* KaTeX ${pkgJson("katex").version}: katex.min.css with woff2-only font sources (frontend/build.mjs) */\n`;
  writeFileSync(join(dest, "katex.min.css"), banner + css);

  const urls = [...css.matchAll(/url\(([^)]+)\)/g)].map((m) => m[1].replace(/^["']|["']$/g, ""));
  if (urls.length === 0) throw new Error("KaTeX CSS: no font URLs found; has the format changed?");
  for (const url of new Set(urls)) {
    if (!/^fonts\/[\w-]+\.woff2$/.test(url)) throw new Error(`KaTeX CSS: unexpected url(${url})`);
    copy(join(dist, url), join(dest, url));
  }
}

function vendorHtmx() {
  copy(join(modules, "htmx.org", "dist", "htmx.min.js"), join(out, "htmx.min.js"));
}

// The package directory (under node_modules) that a bundled input file came from.
function packageOf(input) {
  const parts = input.split("/");
  const i = parts.lastIndexOf("node_modules");
  if (i < 0) return null;
  return parts[i + 1].startsWith("@") ? `${parts[i + 1]}/${parts[i + 2]}` : parts[i + 1];
}

async function vendorCodeMirror() {
  const bundled = await build({
    entryPoints: [join(here, "src", "codemirror.js")],
    outfile: join(out, "codemirror.js"),
    bundle: true,
    format: "iife",
    globalName: "AttentiveCodeMirror",
    target: "es2020",
    minify: true,
    sourcemap: false,
    legalComments: "none", // licences go to THIRD_PARTY_LICENSES.txt instead
    charset: "ascii",
    metafile: true,
    logLevel: "warning",
    absWorkingDir: here, // metafile paths relative to frontend/, whoever runs the build
    write: false,
  });
  // Only packages that contributed bytes: an input that was fully tree-shaken
  // away (e.g. @codemirror/streamparser) is not part of what we ship.
  const [output] = Object.values(bundled.metafile.outputs);
  const used = Object.entries(output.inputs).filter(([, v]) => v.bytesInOutput > 0).map(([k]) => k);
  const packages = [...new Set(used.map(packageOf).filter(Boolean))].sort();
  const banner =
    "/* CodeMirror 6 for Attentive, built by frontend/build.mjs; sets window.AttentiveCodeMirror.\n" +
    packages.map((name) => ` * ${name} ${pkgJson(name).version}\n`).join("") +
    " * Licences: THIRD_PARTY_LICENSES.txt */\n";
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "codemirror.js"), banner + bundled.outputFiles[0].text);
  return packages;
}

function writeLicences(packages) {
  const names = [...new Set([...packages, "katex", "htmx.org"])].sort();
  const sections = names.map((name) => {
    const dir = join(modules, name);
    const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
    if (!file) throw new Error(`${name}: no LICENSE file to vendor`);
    const text = readFileSync(join(dir, file), "utf8").trim();
    return `${"=".repeat(72)}\n${name} ${pkgJson(name).version} (${pkgJson(name).license})\n${"=".repeat(72)}\n\n${text}\n`;
  });
  writeFileSync(
    join(out, "THIRD_PARTY_LICENSES.txt"),
    "Third-party code vendored under static/vendor/ (generated by frontend/build.mjs).\n\n" + sections.join("\n"),
  );
}

function listing(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? listing(join(dir, e.name)) : [join(dir, e.name)]));
}

checkPins();
// Start from nothing so a file dropped by an upgrade does not linger.
if (existsSync(out)) rmSync(out, { recursive: true });
mkdirSync(out, { recursive: true });
vendorKatex();
vendorHtmx();
writeLicences(await vendorCodeMirror());

let total = 0;
for (const file of listing(out)) total += readFileSync(file).length;
const fonts = listing(join(out, "katex", "fonts")).length;
console.log(`static/vendor: ${listing(out).length} files (${fonts} KaTeX fonts), ${(total / 1024).toFixed(0)} KiB`);
for (const file of listing(out).filter((f) => !f.includes("/fonts/"))) {
  console.log(`  ${relative(out, file).padEnd(28)} ${(readFileSync(file).length / 1024).toFixed(1).padStart(7)} KiB`);
}
