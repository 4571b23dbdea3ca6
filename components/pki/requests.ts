/**
 * Reading certificate requests and certificates another stack publishes, before anything is
 * signed or deployed with them (@peculiar/x509: PKCS#10 parsing and signature verification,
 * which node:crypto does not offer).
 */
// @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which needs this polyfill loaded first.
import "reflect-metadata";
import { createPublicKey, webcrypto, X509Certificate } from "node:crypto";
import * as px509 from "@peculiar/x509";

px509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof px509.cryptoProvider.set>[0]);

/** What a certificate request asks for. */
export interface RequestSubject {
  commonName: string;
  /** Subject alternative names of any kind; an edge's client request has none. */
  alternativeNames: number;
  /** The requested public key, SPKI PEM. */
  publicKeyPem: string;
}

/**
 * Parses a PEM certificate request and verifies its self-signature (the requester holds the
 * key). Throws on anything that is not a valid PKCS#10 request.
 */
export async function readCertRequest(pem: string): Promise<RequestSubject> {
  let csr: px509.Pkcs10CertificateRequest;
  try {
    csr = new px509.Pkcs10CertificateRequest(pem);
  } catch (e) {
    throw new Error(`not a PEM certificate request: ${(e as Error).message}`);
  }
  if (!(await csr.verify())) throw new Error("the certificate request's signature does not verify: it was not made with the key it names");
  const cns = csr.subjectName.getField("CN");
  if (cns.length !== 1) throw new Error(`the certificate request names ${cns.length} common names, expected one`);
  const san = csr.extensions.find((e): e is px509.SubjectAlternativeNameExtension => e instanceof px509.SubjectAlternativeNameExtension);
  const spki = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: "der", type: "spki" }).export({ format: "pem", type: "spki" }).toString();
  return { commonName: cns[0], alternativeNames: san?.names.items.length ?? 0, publicKeyPem: spki };
}

/** True when the certificate (PEM) certifies the public key (PEM, any format node reads). */
export function certifiesKey(certPem: string, publicKeyPem: string): boolean {
  const a = new X509Certificate(certPem).publicKey.export({ format: "der", type: "spki" });
  const b = createPublicKey(publicKeyPem).export({ format: "der", type: "spki" });
  return Buffer.compare(a, b) === 0;
}
