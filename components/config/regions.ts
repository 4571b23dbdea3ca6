/**
 * Region catalogue: which regions each cloud offers and the jurisdiction each sits in.
 *
 * The sovereignty zone of a stack is a jurisdiction (`de`, `fr`, ..., or `eu` for the
 * European Union as a whole). A stack's region must lie inside its declared zone; the
 * policy pack and the config schema both use this table, so a typo in a region can
 * never silently move telemetry into another jurisdiction.
 */
export type Cloud = "aws" | "gcp" | "azure";

export const CLOUDS: readonly Cloud[] = ["aws", "gcp", "azure"];

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
};

/** Member states of the European Union among the countries above. */
const EU = new Set(["de", "ie", "fr", "se", "it", "es", "be", "nl", "fi", "pl"]);

/** Zones a region may declare: its own country, and `eu` when the country is a member state. */
export function zonesOf(cloud: Cloud, region: string): string[] {
  const country = REGIONS[cloud][region];
  if (country === undefined) return [];
  return EU.has(country) ? [country, "eu"] : [country];
}

/** True when `region` of `cloud` lies inside sovereignty zone `zone`. */
export function regionInZone(cloud: Cloud, region: string, zone: string): boolean {
  return zonesOf(cloud, region).includes(zone);
}

/** True when `region` is a region of `cloud` known to this catalogue. */
export function isRegionOf(cloud: Cloud, region: string): boolean {
  return Object.prototype.hasOwnProperty.call(REGIONS[cloud], region);
}
