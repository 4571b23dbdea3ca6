/**
 * Region catalogue: which regions each cloud offers and the jurisdiction each sits in.
 *
 * The sovereignty zone of a stack is a jurisdiction (`de`, `fr`, ..., or `eu` for the
 * European Union as a whole). A stack's region must lie inside its declared zone; the
 * policy pack and the config schema both use this table, so a typo in a region can
 * never silently move telemetry into another jurisdiction.
 */
export type Cloud = "aws" | "gcp" | "azure" | "s3";

export const CLOUDS: readonly Cloud[] = ["aws", "gcp", "azure", "s3"];

/**
 * Profiles of S3-compatible object storage (`observability:cloud: s3`): the public sovereign
 * services, whose regions are catalogued below, and on-premises software, whose location the
 * operator names (see {@link onPremCountry}). What each can express is in components/clouds/s3/profiles.ts.
 */
export const S3_PROFILES = ["otc", "stackit", "ionos", "ceph", "minio", "generic"] as const;
export type S3Profile = (typeof S3_PROFILES)[number];
/** Profiles run by a public provider in catalogued regions. */
export const PUBLIC_S3_PROFILES = ["otc", "stackit", "ionos"] as const satisfies readonly S3Profile[];

/**
 * Regions of the public S3-compatible services and the country each sits in, per profile. The
 * region is also the SigV4 signing region these services expect.
 * - otc: eu-de, the Open Telekom Cloud region in Germany (OBS endpoint obs.eu-de.otc.t-systems.com;
 *   "If the endpoint is obs.otc.t-systems.com and no region is specified, the default value is eu-de",
 *   opentelekomcloud-docs/object-storage-service api-ref "Creating a Bucket").
 * - stackit: eu01, Germany (endpoint object.storage.eu01.onstackit.cloud,
 *   stackitcloud/terraform-provider-stackit@v0.113.0 docs/guides/aws_provider_s3_stackit.md).
 * - ionos: eu-central-3, Berlin, for contract-owned buckets (endpoint s3.eu-central-3.ionoscloud.com,
 *   https://docs.ionos.com/cloud/storage-and-backup/s3-object-storage/concepts/bucket-types).
 * Regions whose location no source confirmed are left out: a stack there is refused, not guessed.
 */
export const S3_PUBLIC_REGIONS: Readonly<Record<(typeof PUBLIC_S3_PROFILES)[number], Readonly<Record<string, string>>>> = {
  otc: { "eu-de": "de" },
  stackit: { eu01: "de" },
  ionos: { "eu-central-3": "de" },
};

/** ISO 3166 country code of each region, per cloud. */
export const REGIONS: Readonly<Record<Cloud, Readonly<Record<string, string>>>> = {
  aws: {
    "eu-central-1": "de",
    "eu-central-2": "ch",
    "eu-west-1": "ie",
    "eu-west-2": "gb",
    "eu-west-3": "fr",
    "eu-north-1": "se",
    "eu-south-1": "it",
    "eu-south-2": "es",
    "us-east-1": "us",
    "us-east-2": "us",
    "us-west-2": "us",
    "ca-central-1": "ca",
    "ap-south-1": "in",
    "ap-southeast-1": "sg",
    "ap-northeast-1": "jp",
    "sa-east-1": "br",
  },
  gcp: {
    "europe-west3": "de",
    "europe-west10": "de",
    "europe-west1": "be",
    "europe-west4": "nl",
    "europe-west9": "fr",
    "europe-north1": "fi",
    "europe-west6": "ch",
    "europe-west2": "gb",
    "europe-west8": "it",
    "europe-southwest1": "es",
    "europe-central2": "pl",
    "us-central1": "us",
    "us-east1": "us",
    "us-east4": "us",
    "us-west1": "us",
    "northamerica-northeast1": "ca",
    "asia-south1": "in",
    "asia-southeast1": "sg",
    "asia-northeast1": "jp",
    "southamerica-east1": "br",
  },
  azure: {
    germanywestcentral: "de",
    germanynorth: "de",
    westeurope: "nl",
    northeurope: "ie",
    francecentral: "fr",
    switzerlandnorth: "ch",
    swedencentral: "se",
    uksouth: "gb",
    italynorth: "it",
    spaincentral: "es",
    polandcentral: "pl",
    eastus: "us",
    eastus2: "us",
    westus2: "us",
    centralus: "us",
    canadacentral: "ca",
    centralindia: "in",
    southeastasia: "sg",
    japaneast: "jp",
    brazilsouth: "br",
  },
  // Public S3-compatible services; on-premises locations are named `<country>-<site>` (onPremCountry).
  s3: Object.assign({}, ...Object.values(S3_PUBLIC_REGIONS)) as Record<string, string>,
};

/**
 * The S3 API endpoint each public profile documents for its region (the sources of
 * {@link S3_PUBLIC_REGIONS}): what `fleet onboard --cloud s3` writes when `--endpoint` is not given.
 * On-premises profiles have none.
 */
export const S3_DEFAULT_ENDPOINTS: Readonly<Record<(typeof PUBLIC_S3_PROFILES)[number], Readonly<Record<string, string>>>> = {
  otc: { "eu-de": "https://obs.eu-de.otc.t-systems.com" },
  stackit: { eu01: "https://object.storage.eu01.onstackit.cloud" },
  ionos: { "eu-central-3": "https://s3.eu-central-3.ionoscloud.com" },
};

/** Every country a region above lies in: an on-premises location must name one of them. */
const COUNTRIES = new Set(Object.values(REGIONS).flatMap((r) => Object.values(r)));

/**
 * The country of an on-premises S3 location (`de-fra1`: Germany, site fra1): the operator runs
 * the service and names where it stands, as `<ISO 3166 country>-<site>`. Undefined for anything
 * else, and for a public service's catalogued region.
 */
export function onPremCountry(region: string): string | undefined {
  const m = /^([a-z]{2})-[a-z0-9]+(-[a-z0-9]+)*$/.exec(region);
  if (m === null || Object.prototype.hasOwnProperty.call(REGIONS.s3, region) || !COUNTRIES.has(m[1])) return undefined;
  return m[1];
}

/** The country of a region of `cloud`, or undefined when the catalogue does not know it. */
function countryOf(cloud: Cloud, region: string): string | undefined {
  const known = Object.prototype.hasOwnProperty.call(REGIONS[cloud], region) ? REGIONS[cloud][region] : undefined;
  return known ?? (cloud === "s3" ? onPremCountry(region) : undefined);
}

/** Member states of the European Union among the countries above. */
const EU = new Set(["de", "ie", "fr", "se", "it", "es", "be", "nl", "fi", "pl"]);

/** Zones a region may declare: its own country, and `eu` when the country is a member state. */
export function zonesOf(cloud: Cloud, region: string): string[] {
  const country = countryOf(cloud, region);
  if (country === undefined) return [];
  return EU.has(country) ? [country, "eu"] : [country];
}

/** True when `region` of `cloud` lies inside sovereignty zone `zone`. */
export function regionInZone(cloud: Cloud, region: string, zone: string): boolean {
  return zonesOf(cloud, region).includes(zone);
}

/** True when `region` is a region of `cloud` known to this catalogue. */
export function isRegionOf(cloud: Cloud, region: string): boolean {
  return countryOf(cloud, region) !== undefined;
}
