// Differential check beyond the shipped vectors: mutants of every vector (bit flips, truncation, spliced
// segments) decoded by @iabtcf/core and by `footfall consent tcf-decode`; wherever both accept a string,
// every field must agree. Not part of the suite (needs node and a built CLI):
//
//   cargo build -p footfall-cli && cd tests/tcf-vectors && npm ci && node differential.mjs [count] [seed]
//
// Deliberate differences, normalised before comparing (see README.md):
//   - the library upper-cases an out-of-range PublisherCC ('a' → 'A'); we keep the raw character and warn;
//   - the library keeps vendor id 0 in a publisher restriction; we drop it and warn; we also keep restrictions
//     without vendors, which the library drops.
// Strings only one side accepts are counted by reason, not failed: we reject repeated segment types and
// trailing '=' is accepted only by us; the library rejects vendor id 0, unknown segment types, CmpId 0/1,
// restriction type 3, which we read with warnings.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expectedFromLibrary } from './oracle.mjs';

const count = Number(process.argv[2] ?? 1000);
let seed = Number(process.argv[3] ?? 5);
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (list) => list[Math.floor(rand() * list.length)];

const bin = process.env.FOOTFALL_BIN ?? new URL('../../target/debug/footfall', import.meta.url).pathname;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const vectors = JSON.parse(readFileSync(new URL('./vectors.json', import.meta.url), 'utf8')).vectors.map((v) => v.tc_string);

function mutant() {
  const chars = [...pick(vectors)];
  for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
    const i = Math.floor(rand() * chars.length);
    const at = ALPHABET.indexOf(chars[i]);
    if (at >= 0) chars[i] = ALPHABET[at ^ (1 << Math.floor(rand() * 6))];
  }
  if (rand() < 0.2) chars.length = 1 + Math.floor(rand() * chars.length);
  if (rand() < 0.1) chars.push('.', ...pick(pick(vectors).split('.').slice(1).concat(['IA'])));
  return chars.join('');
}

function ours(tc) {
  try {
    const json = JSON.parse(execFileSync(bin, ['consent', 'tcf-decode', tc], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    return { json };
  } catch (e) {
    return { error: String(e.stderr).trim() };
  }
}

function normalise(o, lib) {
  const { created, last_updated: lastUpdated, warnings, ...rest } = o;
  const out = {
    ...rest,
    created_ms: Date.parse(created),
    last_updated_ms: Date.parse(lastUpdated),
    publisher_cc: o.publisher_cc.toUpperCase(),
    publisher_restrictions: o.publisher_restrictions.filter((r) => r.vendors.length > 0),
    disclosed_vendors: o.disclosed_vendors ?? null,
    allowed_vendors: o.allowed_vendors ?? null,
    publisher_tc: o.publisher_tc ?? null,
  };
  const libRestrictions = lib.publisher_restrictions
    .map((r) => ({ ...r, vendors: r.vendors.filter((v) => v !== 0) }))
    .filter((r) => r.vendors.length > 0);
  return [out, { ...lib, publisher_restrictions: libRestrictions }];
}

const tally = new Map();
const bump = (key) => tally.set(key, (tally.get(key) ?? 0) + 1);
const failures = [];
for (let i = 0; i < count; i++) {
  const tc = mutant();
  let lib;
  let libError;
  try {
    lib = expectedFromLibrary(tc);
  } catch (e) {
    libError = String(e.message).slice(0, 60);
  }
  const mine = ours(tc);
  if (!lib && mine.error) bump('both reject');
  else if (!lib) bump(`only footfall accepts (library: ${libError})`);
  else if (mine.error) bump(`only the library accepts (${mine.error.replace('footfall: invalid TC string: ', '')})`);
  else {
    const [a, b] = normalise(mine.json, lib);
    const differ = Object.keys(b).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
    if (differ.length) {
      failures.push({ tc, differ });
      bump('both accept, DIFFER');
    } else {
      bump('both accept, agree');
    }
  }
}
for (const [k, n] of [...tally].sort((x, y) => y[1] - x[1])) console.log(String(n).padStart(6), k);
for (const f of failures.slice(0, 10)) console.log('DIFFER', f.differ.join(','), f.tc);
process.exit(failures.length ? 1 : 0);
