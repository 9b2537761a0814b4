// The oracle: @iabtcf/core's own decoding of a TC string, in the shape of vectors.json's `expected`.

import { Base64Url, IntEncoder, Segment, SegmentIDs, TCString } from '@iabtcf/core';

export const bitsOf = (segment) => Base64Url.decode(segment.replace(/=+$/, ''));

const ids = (vector) => Array.from(vector.values()).sort((a, b) => a - b);

/** Throws whatever the library throws for a string it refuses. */
export function expectedFromLibrary(tcString) {
  const m = TCString.decode(tcString);
  const types = tcString.split('.').slice(1).map((s) => IntEncoder.decode(bitsOf(s).substr(0, 3), 3));
  const restrictions = m.publisherRestrictions.getRestrictions().map((r) => ({
    purpose: r.purposeId,
    type: r.restrictionType,
    vendors: m.publisherRestrictions.getVendors(r),
  }));
  return {
    version: m.version,
    created_ms: m.created.getTime(),
    last_updated_ms: m.lastUpdated.getTime(),
    cmp_id: m.cmpId,
    cmp_version: m.cmpVersion,
    consent_screen: m.consentScreen,
    consent_language: m.consentLanguage,
    vendor_list_version: m.vendorListVersion,
    policy_version: m.policyVersion,
    is_service_specific: m.isServiceSpecific,
    use_non_standard_texts: m.useNonStandardStacks,
    purpose_one_treatment: m.purposeOneTreatment,
    publisher_cc: m.publisherCountryCode,
    special_feature_opt_ins: ids(m.specialFeatureOptins),
    purpose_consents: ids(m.purposeConsents),
    purpose_legitimate_interests: ids(m.purposeLegitimateInterests),
    vendor_consents: ids(m.vendorConsents),
    vendor_legitimate_interests: ids(m.vendorLegitimateInterests),
    publisher_restrictions: restrictions,
    disclosed_vendors: types.includes(SegmentIDs.KEY_TO_ID[Segment.VENDORS_DISCLOSED]) ? ids(m.vendorsDisclosed) : null,
    allowed_vendors: types.includes(SegmentIDs.KEY_TO_ID[Segment.VENDORS_ALLOWED]) ? ids(m.vendorsAllowed) : null,
    publisher_tc: types.includes(SegmentIDs.KEY_TO_ID[Segment.PUBLISHER_TC]) ? {
      purpose_consents: ids(m.publisherConsents),
      purpose_legitimate_interests: ids(m.publisherLegitimateInterests),
      num_custom_purposes: m.numCustomPurposes,
      custom_purpose_consents: ids(m.publisherCustomConsents),
      custom_purpose_legitimate_interests: ids(m.publisherCustomLegitimateInterests),
    } : null,
  };
}
