#!/usr/bin/env node
// Developer tool for merging branches that each committed migrations: after renaming
// unreleased files in migrations/committed into their final order, this recomputes the
// `--! Previous` / `--! Hash` chain the way graphile-migrate does. Never run it over
// migrations that have already been applied to a database you keep.
//   node scripts/rehash-migrations.cjs [--check]
const fs = require("node:fs");
const path = require("node:path");
const { calculateHash } = require("graphile-migrate/dist/hash.js");
const { parseMigrationText, serializeMigration } = require("graphile-migrate/dist/migration.js");

const dir = path.join(__dirname, "..", "migrations", "committed");
const check = process.argv.includes("--check");
const files = fs.readdirSync(dir).filter((f) => /^\d{6}(-[-\w]+)?\.sql$/.test(f)).sort();
let previous = null;
let changed = 0;
files.forEach((file, i) => {
  const expectedNumber = String(i + 1).padStart(6, "0");
  if (!file.startsWith(expectedNumber)) throw new Error(`${file}: expected number ${expectedNumber} (no gaps allowed)`);
  const full = path.join(dir, file);
  const text = fs.readFileSync(full, "utf8");
  const { headers, body } = parseMigrationText(full, text);
  const hash = calculateHash(body, previous);
  const next = serializeMigration(body, { Previous: previous ?? "-", Hash: hash, Message: headers.Message, ...Object.fromEntries(Object.entries(headers).filter(([k]) => !["Previous", "Hash", "Message"].includes(k))) });
  if (next !== text) {
    changed++;
    if (check) console.log(`${file}: hash chain out of date`);
    else {
      fs.chmodSync(full, 0o644);
      fs.writeFileSync(full, next);
      fs.chmodSync(full, 0o440);
      console.log(`${file}: rehashed`);
    }
  }
  previous = hash;
});
console.log(`${files.length} migrations, ${changed} ${check ? "out of date" : "rewritten"}`);
process.exit(check && changed ? 1 : 0);
