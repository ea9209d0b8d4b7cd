// Formats the repository's Lua with StyLua (stylua.toml) and its JavaScript and TypeScript
// declarations with Prettier (.prettierrc), both from node_modules as package-lock.json pins them
// (StyLua as its WebAssembly build, @johnnymorganz/stylua: no binary to download).
//
//   node scripts/format.js          # rewrites every file that is not formatted
//   node scripts/format.js --check  # lists them and exits 1 (scripts/test.sh); changes nothing
//
// The files: every *.lua, *.js, *.mjs, *.cjs and *.ts under the repository, except what
// .gitignore excludes (node_modules/, target/, dist/, ...) and, per formatter, what
// .styluaignore or .prettierignore names (the files those tools' own command lines would skip).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const prettier = require('prettier');
const stylua = require('@johnnymorganz/stylua');

const ROOT = path.resolve(__dirname, '..');
const LUA = /\.lua$/;
const JS = /\.(js|mjs|cjs|ts)$/;

/** The enum of each stylua.toml key that takes a name (StyLua's own spelling of the values). */
const STYLUA_ENUMS = {
  syntax: stylua.LuaVersion,
  indent_type: stylua.IndentType,
  line_endings: stylua.LineEndings,
  quote_style: stylua.QuoteStyle,
  call_parentheses: stylua.CallParenType,
  collapse_simple_statement: stylua.CollapseSimpleStatement,
  space_after_function_names: stylua.SpaceAfterFunctionNames,
  block_newline_gaps: stylua.BlockNewlineGaps,
};
const STYLUA_NUMBERS = new Set(['column_width', 'indent_width']);

/**
 * StyLua's settings from stylua.toml: the flat `key = value` part of TOML that file uses (the
 * wasm build has no reader of its own). A key or value it does not know is an error rather than
 * a silent default, so the file means the same here as to StyLua's command line.
 */
function styluaSettings() {
  const file = path.join(ROOT, 'stylua.toml');
  const settings = {};
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const m = /^([a-z_]+)\s*=\s*(?:"([A-Za-z0-9]+)"|(\d+))$/.exec(line);
    const where = `stylua.toml:${i + 1}`;
    if (!m) throw new Error(`${where}: not a \`key = "Name"\` or \`key = number\` line`);
    const [, key, name, number] = m;
    if (name !== undefined && STYLUA_ENUMS[key]) {
      const value = STYLUA_ENUMS[key][name];
      if (typeof value !== 'number') throw new Error(`${where}: ${key} cannot be "${name}"`);
      settings[key] = value;
    } else if (number !== undefined && STYLUA_NUMBERS.has(key)) {
      settings[key] = Number(number);
    } else {
      throw new Error(`${where}: unknown key or value type: ${key}`);
    }
  });
  return settings;
}

/** Whether the ignore files (gitignore syntax, read by Prettier's matcher) exclude `rel`. */
async function ignored(rel, ignoreFiles) {
  const ignorePath = ignoreFiles.map((f) => path.join(ROOT, f)).filter((f) => fs.existsSync(f));
  const info = await prettier.getFileInfo(path.join(ROOT, rel), { ignorePath });
  return info.ignored;
}

/** Every Lua and JS file of the repository (paths relative to it, sorted). */
async function sourceFiles(dir = '') {
  const found = [];
  const entries = fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name === '.git' || entry.name === 'node_modules') continue;
      // A folder is skipped whole when .gitignore excludes what is in it (target/, dist/).
      if (await ignored(`${rel}/.probe`, ['.gitignore'])) continue;
      found.push(...(await sourceFiles(rel)));
    } else if (entry.isFile() && (LUA.test(rel) || JS.test(rel))) {
      found.push(rel);
    }
  }
  return found;
}

/** The formatted text of `rel`, whose current text is `text`. */
async function formatted(rel, text, luaSettings, verify) {
  if (LUA.test(rel)) {
    // formatCode takes the Config's ownership (it is freed after the call): a new one each time.
    const config = Object.assign(stylua.Config.new(), luaSettings);
    // Before a rewrite, StyLua parses its output again and refuses one whose syntax tree differs.
    const check = verify ? stylua.OutputVerification.Full : stylua.OutputVerification.None;
    return stylua.formatCode(text, config, undefined, check);
  }
  const options = await prettier.resolveConfig(path.join(ROOT, rel), { editorconfig: true });
  return prettier.format(text, { ...options, filepath: path.join(ROOT, rel) });
}

async function main() {
  const args = process.argv.slice(2);
  const check = args[0] === '--check';
  if (args.length > (check ? 1 : 0)) {
    console.error('usage: node scripts/format.js [--check]');
    process.exit(2);
  }
  const luaSettings = styluaSettings();
  const unformatted = [];
  let failed = false;
  let count = 0;
  for (const rel of await sourceFiles()) {
    const own = LUA.test(rel) ? '.styluaignore' : '.prettierignore';
    if (await ignored(rel, ['.gitignore', own])) continue;
    count += 1;
    const text = fs.readFileSync(path.join(ROOT, rel), 'utf8');
    let out;
    try {
      out = await formatted(rel, text, luaSettings, !check);
      // StyLua's second pass over its own output sometimes lays a call out again (a table
      // argument it had put on lines of its own goes back to the call's line); a rewrite goes
      // on to the layout a check accepts, in the few passes that takes.
      for (let pass = 1; !check && pass < 5; pass += 1) {
        const again = await formatted(rel, out, luaSettings, true);
        if (again === out) break;
        if (pass === 4) throw new Error('the layout still changes after 5 passes');
        out = again;
      }
    } catch (err) {
      console.error(`format: ${rel}: ${err && err.message ? err.message : err}`);
      failed = true;
      continue;
    }
    if (out === text) continue;
    unformatted.push(rel);
    if (!check) fs.writeFileSync(path.join(ROOT, rel), out);
  }
  if (check) {
    for (const rel of unformatted) console.log(`not formatted: ${rel}`);
    if (unformatted.length > 0) {
      console.log(
        `format: ${unformatted.length} of ${count} files are not formatted; run node scripts/format.js`,
      );
    }
  } else {
    for (const rel of unformatted) console.log(`formatted ${rel}`);
  }
  if (failed) process.exit(2);
  if (check && unformatted.length > 0) process.exit(1);
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(2);
});
