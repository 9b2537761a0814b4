// Generates vectors.json: TC strings encoded by the IAB's official @iabtcf/core, each decoded again by the same
// library, whose decoding is the expected result for Footfall's Rust reader (core/tests/tcf.rs).
//
//   cd tests/tcf-vectors && npm ci && node generate.mjs
//
// No network beyond npm: the library's encoder needs a Global Vendor List only for its "semantic pre-encoding"
// pass and for publisher restrictions, so a small synthetic GVL object is built here (`new GVL(object)` never
// fetches). Two encoding paths are used:
//   - "pipeline": TCString.encode(model, options), what a CMP runs (GVL filtering, segment choice by options);
//   - "segments": SegmentEncoder.encode(model, segment) per segment, joined with '.', which bypasses the GVL
//     filtering so raw bits a CMP may still send (LI for purpose 1, any policy version, any language) are covered.
// Everything is deterministic (fixed dates, a seeded PRNG), so regenerating yields the same file.

import { readFileSync, writeFileSync } from 'node:fs';
import {
  GVL, IntEncoder, PurposeRestriction, RestrictionType, Segment, SegmentEncoder, TCModel, TCString,
} from '@iabtcf/core';
import { bitsOf, expectedFromLibrary } from './oracle.mjs';

const LIBRARY_VERSION = JSON.parse(readFileSync(new URL('./node_modules/@iabtcf/core/package.json', import.meta.url), 'utf8')).version;

// ---------------------------------------------------------------------------------------------------------------
// A synthetic GVL: vendors declare purposes so that nothing set below is filtered away and every restriction type
// is encodable (REQUIRE_CONSENT needs a flexible LI purpose, REQUIRE_LI a flexible consent purpose).

function makeGvl({ vendorListVersion = 215, tcfPolicyVersion = 4, vendorIds, language = 'EN' }) {
  const named = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [i + 1, {
    id: i + 1, name: `Item ${i + 1}`, description: '', descriptionLegal: '', illustrations: [],
  }]));
  const vendors = {};
  for (const id of vendorIds) {
    vendors[id] = {
      id,
      name: `Vendor ${id}`,
      purposes: [1, 3, 4, 7],
      legIntPurposes: [2, 9, 10],
      flexiblePurposes: [2, 7],
      specialPurposes: [1],
      features: [1],
      specialFeatures: [1],
      policyUrl: 'https://example.com/privacy',
    };
  }
  const gvl = new GVL({
    gvlSpecificationVersion: 3,
    vendorListVersion,
    tcfPolicyVersion,
    lastUpdated: '2024-01-01T00:00:00Z',
    purposes: named(11),
    specialPurposes: named(2),
    features: named(3),
    specialFeatures: named(2),
    stacks: {},
    vendors,
  });
  // The encoder copies gvl.language into ConsentLanguage. changeLanguage() fetches a translation unless the
  // language is cached, so prime the cache with the same (synthetic) texts: the switch is then synchronous.
  if (language !== GVL.DEFAULT_LANGUAGE) {
    const { purposes, specialPurposes, features, specialFeatures, stacks } = gvl;
    GVL.LANGUAGE_CACHE.set(language, { purposes, specialPurposes, features, specialFeatures, stacks });
    gvl.changeLanguage(language).catch((e) => { throw e; });
    if (gvl.language !== language) throw new Error(`language ${language} not applied`);
  }
  return gvl;
}

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

// ---------------------------------------------------------------------------------------------------------------
// Labels describing what a vector covers (the expectations themselves come from oracle.mjs).

const SEGMENT_NAMES = ['core', 'DisclosedVendors', 'AllowedVendors', 'PublisherTC'];

// Only to label coverage (which vendor-section encoding the library chose); never used as an expectation.
function vendorEncodings(tcString) {
  const labels = {};
  const sectionEncoding = (bits, at) => {
    const maxId = parseInt(bits.substr(at, 16), 2);
    const isRange = bits[at + 16] === '1';
    let next = at + 17;
    if (isRange) {
      const n = parseInt(bits.substr(next, 12), 2);
      next += 12;
      for (let i = 0; i < n; i++) next += bits[next] === '1' ? 33 : 17;
    } else {
      next += maxId;
    }
    return [isRange ? 'range' : 'bitfield', next];
  };
  tcString.split('.').forEach((segment, i) => {
    const bits = bitsOf(segment);
    if (i === 0) {
      const [consents, next] = sectionEncoding(bits, 213);
      const [li] = sectionEncoding(bits, next);
      labels.vendor_consents = consents;
      labels.vendor_legitimate_interests = li;
    } else {
      const type = parseInt(bits.substr(0, 3), 2);
      if (type === 1) labels.disclosed_vendors = sectionEncoding(bits, 3)[0];
      if (type === 2) labels.allowed_vendors = sectionEncoding(bits, 3)[0];
    }
  });
  return labels;
}

// ---------------------------------------------------------------------------------------------------------------
// Building models.

const DEFAULT_DATE = Date.UTC(2024, 4, 17, 9, 30, 12, 300);

function makeModel(spec) {
  const m = new TCModel();
  m.cmpId = spec.cmpId ?? 300;
  m.cmpVersion = spec.cmpVersion ?? 2;
  m.consentScreen = spec.consentScreen ?? 1;
  m.consentLanguage = spec.language ?? 'EN';
  m.vendorListVersion = spec.vendorListVersion ?? 215;
  m.policyVersion = spec.policyVersion ?? 4;
  m.isServiceSpecific = spec.isServiceSpecific ?? false;
  m.useNonStandardStacks = spec.useNonStandardTexts ?? false;
  m.purposeOneTreatment = spec.purposeOneTreatment ?? false;
  m.publisherCountryCode = spec.publisherCC ?? 'AA';
  m.created = new Date(spec.created ?? DEFAULT_DATE);
  m.lastUpdated = new Date(spec.lastUpdated ?? spec.created ?? DEFAULT_DATE);
  m.specialFeatureOptins.set(spec.specialFeatures ?? []);
  m.purposeConsents.set(spec.purposeConsents ?? []);
  m.purposeLegitimateInterests.set(spec.purposeLI ?? []);
  m.vendorConsents.set(spec.vendorConsents ?? []);
  m.vendorLegitimateInterests.set(spec.vendorLI ?? []);
  m.vendorsDisclosed.set(spec.disclosed ?? []);
  m.vendorsAllowed.set(spec.allowed ?? []);
  m.publisherConsents.set(spec.pubConsents ?? []);
  m.publisherLegitimateInterests.set(spec.pubLI ?? []);
  if (spec.numCustomPurposes !== undefined) m.numCustomPurposes = spec.numCustomPurposes;
  m.publisherCustomConsents.set(spec.customConsents ?? []);
  m.publisherCustomLegitimateInterests.set(spec.customLI ?? []);
  if (spec.restrictions) {
    // The restriction encoder walks the GVL's vendor ids to merge neighbours into ranges.
    m.publisherRestrictions.gvl = makeGvl({ vendorIds: spec.restrictionGvl ?? range(1, 1200) });
    for (const [purpose, type, vendors] of spec.restrictions) {
      for (const v of vendors) m.publisherRestrictions.add(v, new PurposeRestriction(purpose, type));
    }
  }
  return m;
}

// "segments" path: exact control over every bit.
function encodeSegments(spec) {
  const m = makeModel(spec);
  const segments = spec.segments ?? [Segment.CORE];
  return segments.map((segment) => SegmentEncoder.encode(m, segment)).join('.');
}

// "pipeline" path: what a CMP does with the library.
function encodePipeline(spec) {
  const gvl = makeGvl({
    vendorListVersion: spec.vendorListVersion ?? 215,
    tcfPolicyVersion: spec.policyVersion ?? 4,
    vendorIds: spec.gvlVendors,
    language: spec.language ?? 'EN',
  });
  const m = makeModel({ ...spec, restrictions: undefined });
  m.gvl = gvl;
  m.supportOOB = spec.supportOOB ?? true;
  if (spec.restrictions) {
    for (const [purpose, type, vendors] of spec.restrictions) {
      for (const v of vendors) m.publisherRestrictions.add(v, new PurposeRestriction(purpose, type));
    }
  }
  return TCString.encode(m, spec.options);
}

// ---------------------------------------------------------------------------------------------------------------
// The vectors.

const { NOT_ALLOWED, REQUIRE_CONSENT, REQUIRE_LI } = RestrictionType;
const everyThird = range(1, 150).filter((i) => i % 3 === 0);
const bigContiguous = [...range(1, 600), ...range(800, 1000), 1200];

const handWritten = [
  ['core-minimal', 'Core segment only, nothing granted, defaults everywhere.', {}],
  ['core-bitfield-vendors', 'Scattered vendor ids: the library picks bitfield encoding for both vendor sections.', {
    purposeConsents: [1, 2, 3, 4, 7, 9, 10], purposeLI: [2, 7, 8, 9, 10], vendorConsents: everyThird, vendorLI: [2, 5, 7, 11, 13, 17, 23, 29, 31, 37, 41, 43, 47],
  }],
  ['core-range-vendors', 'Long runs of vendor ids: the library picks range encoding.', {
    purposeConsents: range(1, 11), vendorConsents: bigContiguous, vendorLI: range(50, 700),
  }],
  ['core-mixed-encodings', 'Range-encoded consents, bitfield-encoded legitimate interests.', {
    purposeConsents: [1], vendorConsents: range(10, 900), vendorLI: [1, 3, 5, 8, 13, 21, 34, 55, 89],
  }],
  ['core-max-vendor-id', 'Vendor ids at both ends of the 16-bit space (range encoding).', {
    vendorConsents: [1, 2, 65535], vendorLI: [65534, 65535],
  }],
  ['core-all-bits', 'Every purpose, special feature and flag set; extreme field values.', {
    cmpId: 4095, cmpVersion: 4095, consentScreen: 63, vendorListVersion: 4095, policyVersion: 4, language: 'ZZ', publisherCC: 'ZZ',
    isServiceSpecific: true, useNonStandardTexts: true, purposeOneTreatment: true,
    specialFeatures: range(1, 12), purposeConsents: range(1, 24), purposeLI: range(1, 24), vendorConsents: range(1, 64), vendorLI: range(1, 64),
  }],
  ['core-created-differs', 'Created is not LastUpdated (the spec wants them equal; real CMPs differ).', {
    created: Date.UTC(2023, 0, 2, 3, 4, 5, 600), lastUpdated: Date.UTC(2024, 6, 8, 9, 10, 11, 200), purposeConsents: [1, 2],
  }],
  ['core-li-raw-bits-policy2', 'Policy version 2 with LI bits on purposes 1 to 6 (raw, as a CMP may send them).', {
    policyVersion: 2, purposeLI: [1, 2, 3, 4, 5, 6, 7], vendorConsents: [8, 9], vendorLI: [8],
  }],
  ['core-li-raw-bits-policy4', 'Policy version 4 (TCF v2.2) with LI bits on purposes 1 and 3 to 6, invalid but transmitted.', {
    policyVersion: 4, purposeLI: [1, 3, 4, 5, 6, 7, 8], purposeConsents: [1, 3, 4],
  }],
  ['core-policy5-fr', 'Policy version 5 (seen in the wild), French, publisher in France.', {
    policyVersion: 5, language: 'FR', publisherCC: 'FR', cmpId: 7, cmpVersion: 1, consentScreen: 3, vendorListVersion: 61,
    specialFeatures: [1, 2], purposeConsents: [1, 2, 3], vendorConsents: [755, 793],
  }],
  ['core-de-service-specific', 'German, service-specific, purpose one treatment.', {
    language: 'DE', publisherCC: 'DE', isServiceSpecific: true, purposeOneTreatment: true, cmpId: 31, vendorListVersion: 150,
    purposeConsents: [2, 3, 4], purposeLI: [2, 7, 9, 10], vendorConsents: [91], vendorLI: [91],
  }],
  ['core-es-policy2', 'Spanish, TCF v2.0 policy version 2.', {
    language: 'ES', publisherCC: 'ES', policyVersion: 2, vendorListVersion: 2, cmpId: 10, purposeConsents: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  }],
  // The synthetic GVL lets REQUIRE_CONSENT apply to purpose 2 and REQUIRE_LI to purpose 7 (flexible purposes);
  // the library silently drops restrictions the GVL does not allow.
  ['publisher-restrictions', 'All three restriction types, single ids and ranges.', {
    purposeConsents: [1, 2], vendorConsents: [4, 10, 12],
    restrictions: [[2, NOT_ALLOWED, [4, 10, 12, ...range(20, 40)]], [2, REQUIRE_CONSENT, [5]], [7, REQUIRE_LI, range(100, 120)], [1, NOT_ALLOWED, [300]]],
  }],
  ['publisher-restrictions-merged-over-gvl-gap', 'Ids 10 and 12 with 11 absent from the GVL: the library writes one range 10-12, and decodes 11 too.', {
    restrictionGvl: [...range(1, 10), ...range(12, 30)],
    restrictions: [[3, NOT_ALLOWED, [10, 12]]],
  }],
  ['publisher-tc-custom-purposes', 'PublisherTC segment with publisher purposes and five custom purposes.', {
    isServiceSpecific: true, segments: [Segment.CORE, Segment.PUBLISHER_TC],
    purposeConsents: [1], pubConsents: [1, 2, 3, 4], pubLI: [2, 7, 8], numCustomPurposes: 5, customConsents: [1, 3, 5], customLI: [2],
  }],
  ['publisher-tc-no-custom', 'PublisherTC segment without custom purposes.', {
    segments: [Segment.CORE, Segment.PUBLISHER_TC], pubConsents: range(1, 24), pubLI: [],
  }],
  ['publisher-tc-63-custom', 'PublisherTC with the maximum of 63 custom purposes.', {
    segments: [Segment.CORE, Segment.PUBLISHER_TC], numCustomPurposes: 63, customConsents: [1, 62, 63], customLI: range(30, 40),
  }],
  ['disclosed-vendors-bitfield', 'Core plus DisclosedVendors (bitfield).', {
    segments: [Segment.CORE, Segment.VENDORS_DISCLOSED], vendorConsents: [2, 6], disclosed: [1, 2, 3, 6, 8, 13, 21, 44],
  }],
  ['disclosed-vendors-range', 'Core plus DisclosedVendors (range).', {
    segments: [Segment.CORE, Segment.VENDORS_DISCLOSED], vendorConsents: range(1, 300), disclosed: range(1, 1100),
  }],
  ['all-segments', 'Core, DisclosedVendors, AllowedVendors and PublisherTC.', {
    segments: [Segment.CORE, Segment.VENDORS_DISCLOSED, Segment.VENDORS_ALLOWED, Segment.PUBLISHER_TC],
    vendorConsents: [1, 5], disclosed: range(1, 200), allowed: [1, 5, 9], pubConsents: [1], numCustomPurposes: 2, customConsents: [2],
  }],
  ['segments-out-of-order', 'Optional segments in a non-canonical order (PublisherTC before DisclosedVendors).', {
    segments: [Segment.CORE, Segment.PUBLISHER_TC, Segment.VENDORS_DISCLOSED], disclosed: [3, 4], pubLI: [2],
  }],
].map(([name, description, spec]) => ({ name, description, source: 'iabtcf-encode-segments', tc_string: encodeSegments(spec) }));

const pipelineGvlVendors = [...range(1, 120), ...range(200, 260), 755, 793];
const pipeline = [
  ['pipeline-global', 'TCString.encode(model): core plus DisclosedVendors = every GVL vendor.', {
    gvlVendors: pipelineGvlVendors, purposeConsents: [1, 2, 3], purposeLI: [2, 7], vendorConsents: [1, 2, 3, 755], vendorLI: [2, 3],
  }],
  ['pipeline-for-vendors', 'TCString.encode(model, {isForVendors: true}): core, DisclosedVendors, AllowedVendors, PublisherTC.', {
    gvlVendors: pipelineGvlVendors, options: { isForVendors: true }, allowed: [1, 2, 755], purposeConsents: [1, 2, 3, 4],
    vendorConsents: range(1, 120), pubConsents: [1, 2],
  }],
  ['pipeline-service-specific', 'A service-specific string with publisher restrictions: core plus PublisherTC.', {
    gvlVendors: pipelineGvlVendors, isServiceSpecific: true, purposeConsents: [1, 3, 4, 7], vendorConsents: range(200, 260), vendorLI: range(200, 230),
    restrictions: [[2, REQUIRE_CONSENT, range(200, 210)], [7, REQUIRE_LI, [1, 2, 3]]],
  }],
  ['pipeline-li-purpose-one-dropped', 'The pipeline clears LI for purpose 1 before encoding; Italian.', {
    gvlVendors: pipelineGvlVendors, language: 'IT', purposeLI: [1, 2], vendorConsents: [5], options: { segments: [Segment.CORE] },
  }],
].map(([name, description, spec]) => ({ name, description, source: 'iabtcf-encode-pipeline', tc_string: encodePipeline(spec) }));

// A seeded PRNG (mulberry32) for random models over every field and segment.
function mulberry32(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(20260517);
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const subset = (n, p) => range(1, n).filter(() => rand() < p);
function randomVendors() {
  switch (int(0, 3)) {
    case 0: return [];
    case 1: return subset(int(1, 400), rand()); // scattered: usually bitfield
    case 2: { // runs: usually range
      const out = [];
      let at = int(1, 50);
      for (let k = int(1, 8); k > 0 && at < 3000; k--) {
        const len = int(1, 300);
        out.push(...range(at, at + len - 1));
        at += len + int(2, 400);
      }
      return out;
    }
    default: return [int(1, 65535)];
  }
}
const LANGS = ['EN', 'FR', 'DE', 'ES', 'IT', 'NL', 'PL', 'PT', 'SV', 'FI', 'BG', 'CS', 'DA', 'EL', 'ET', 'HU'];
const random = [];
for (let i = 0; i < 40; i++) {
  const optional = [Segment.VENDORS_DISCLOSED, Segment.VENDORS_ALLOWED, Segment.PUBLISHER_TC].filter(() => rand() < 0.4);
  const restrictions = rand() < 0.4
    ? Array.from({ length: int(1, 3) }, () => {
      const type = int(0, 2);
      const purpose = [[1, 2, 3, 4, 7, 9, 10][int(0, 6)], 2, 7][type]; // what the synthetic GVL allows per type
      return [purpose, type, subset(int(1, 200), rand() * 0.5)];
    }).filter((r) => r[2].length > 0)
    : undefined;
  const spec = {
    cmpId: int(2, 4095), cmpVersion: int(0, 4095), consentScreen: int(0, 63), vendorListVersion: int(1, 4095),
    policyVersion: [2, 3, 4, 5][int(0, 3)], language: LANGS[int(0, LANGS.length - 1)], publisherCC: LANGS[int(0, LANGS.length - 1)],
    isServiceSpecific: rand() < 0.5, useNonStandardTexts: rand() < 0.3, purposeOneTreatment: rand() < 0.3,
    created: Date.UTC(2020, 0, 1) + int(0, 200_000_000) * 1000 + int(0, 9) * 100,
    specialFeatures: subset(12, rand()), purposeConsents: subset(24, rand()), purposeLI: subset(24, rand()),
    vendorConsents: randomVendors(), vendorLI: randomVendors(), disclosed: randomVendors(), allowed: randomVendors(),
    pubConsents: subset(24, rand()), pubLI: subset(24, rand()), numCustomPurposes: int(0, 20),
    restrictions, restrictionGvl: range(1, 400),
    segments: [Segment.CORE, ...optional],
  };
  spec.lastUpdated = rand() < 0.7 ? spec.created : spec.created + int(1, 1_000_000) * 100;
  spec.customConsents = subset(spec.numCustomPurposes, 0.5);
  spec.customLI = subset(spec.numCustomPurposes, 0.3);
  random.push({ name: `random-${String(i).padStart(2, '0')}`, description: 'Seeded random model over every field and segment.', source: 'iabtcf-encode-segments', tc_string: encodeSegments(spec) });
}

// Strings from outside this generator. Provenance cannot be verified offline, so only the library's decoding
// of them is asserted, like every other vector.
const external = [
  ['recalled-public-example', 'A v2 core-only string as quoted in public TCF examples (recalled; decoded by the library).', 'COvFyGBOvFyGBAbAAAENAPCAAOAAAAAAAAAAAAAAAAAA'],
].map(([name, description, tc_string]) => ({ name, description, source: 'external', tc_string }));

// ---------------------------------------------------------------------------------------------------------------

const vectors = [...handWritten, ...pipeline, ...random, ...external].map((v) => ({
  ...v,
  vendor_encodings: vendorEncodings(v.tc_string),
  segments: v.tc_string.split('.').map((s, i) => (i === 0 ? 'core' : SEGMENT_NAMES[IntEncoder.decode(bitsOf(s).substr(0, 3), 3)])),
  expected: expectedFromLibrary(v.tc_string),
}));

// Coverage the Rust tests rely on: fail here rather than ship vectors that silently miss a feature.
const encodings = new Set(vectors.flatMap((v) => Object.entries(v.vendor_encodings).map(([k, e]) => `${k}:${e}`)));
for (const needed of ['vendor_consents:range', 'vendor_consents:bitfield', 'vendor_legitimate_interests:range', 'vendor_legitimate_interests:bitfield',
  'disclosed_vendors:range', 'disclosed_vendors:bitfield', 'allowed_vendors:bitfield']) {
  if (!encodings.has(needed)) throw new Error(`no vector covers ${needed}`);
}
for (const segment of SEGMENT_NAMES) {
  if (!vectors.some((v) => v.segments.includes(segment))) throw new Error(`no vector has a ${segment} segment`);
}
for (const type of [NOT_ALLOWED, REQUIRE_CONSENT, REQUIRE_LI]) {
  if (!vectors.some((v) => v.expected.publisher_restrictions.some((r) => r.type === type))) throw new Error(`no restriction of type ${type}`);
}

const out = {
  generator: 'tests/tcf-vectors/generate.mjs',
  library: `@iabtcf/core@${LIBRARY_VERSION}`,
  note: 'expected = the library\'s own TCString.decode of tc_string; dates are epoch milliseconds; id lists are sorted.',
  vectors,
};
// Pretty-printed, but id lists stay on one line so the file stays small and diffs stay readable.
const text = JSON.stringify(out, null, 1).replace(/\[\s*(\d[\d,\s]*?)\s*\]/g, (_, list) => `[${list.replace(/\s+/g, '')}]`);
writeFileSync(new URL('./vectors.json', import.meta.url), `${text}\n`);
console.log(`wrote ${vectors.length} vectors (${[...encodings].sort().join(', ')})`);
