/**
 * Minimal DER (X.690) encoding and decoding for the offline tls provider. Hand-rolled rather
 * than taken from a library so that certificates and requests come out byte for byte as Go's
 * crypto/x509 (the real provider) writes them, and so that any key Node's OpenSSL supports
 * (P-224 included, which WebCrypto lacks) can be used.
 */

/** One decoded TLV. `raw` is the whole encoding, `content` the value octets. */
export interface DerNode {
  tag: number;
  raw: Buffer;
  content: Buffer;
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A TLV with a single-octet tag. */
export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

/** SEQUENCE of the given encodings, in order. */
export function sequence(...content: Buffer[]): Buffer {
  return tlv(0x30, ...content);
}

/** SET OF: DER wants the element encodings sorted (X.690 11.6), as Go's encoder does. */
export function setOf(items: readonly Buffer[]): Buffer {
  return tlv(0x31, ...[...items].sort(Buffer.compare));
}

/** INTEGER from a non-negative value, in the minimal two's complement form. */
export function integer(value: bigint | number): Buffer {
  let hex = BigInt(value).toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return unsignedInteger(Buffer.from(hex, "hex"));
}

/** INTEGER from big-endian magnitude octets (leading zeros dropped, sign octet added). */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.length === 0 ? Buffer.from([0]) : magnitude.subarray(i);
  return tlv(0x02, m[0] & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
}

/** OBJECT IDENTIFIER from dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map((a) => BigInt(a));
  if (arcs.length < 2) throw new Error(`DER: bad OID ${dotted}`);
  const out: number[] = [];
  for (const arc of [arcs[0] * 40n + arcs[1], ...arcs.slice(2)]) {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) groups.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

/** BOOLEAN (DER: TRUE is 0xff). */
export function boolean(v: boolean): Buffer {
  return tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
}

/** NULL, as RSA AlgorithmIdentifiers carry it. */
export function nullValue(): Buffer {
  return Buffer.from([0x05, 0x00]);
}

/** OCTET STRING. */
export function octetString(b: Buffer): Buffer {
  return tlv(0x04, b);
}

/** BIT STRING with the given count of unused trailing bits. */
export function bitString(b: Buffer, unusedBits = 0): Buffer {
  return tlv(0x03, Buffer.from([unusedBits]), b);
}

/** [n] IMPLICIT primitive. */
export function contextPrimitive(n: number, b: Buffer): Buffer {
  return tlv(0x80 | n, b);
}

/** [n] constructed (EXPLICIT, or IMPLICIT over a constructed type). */
export function contextConstructed(n: number, ...content: Buffer[]): Buffer {
  return tlv(0xa0 | n, ...content);
}

/** X.509 Time: UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5), whole seconds. */
export function time(d: Date): Buffer {
  const p = (n: number, w = 2): string => String(n).padStart(w, "0");
  const y = d.getUTCFullYear();
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return y >= 1950 && y < 2050 ? tlv(0x17, Buffer.from(`${p(y % 100)}${rest}`, "ascii")) : tlv(0x18, Buffer.from(`${p(y, 4)}${rest}`, "ascii"));
}

/** Decodes the TLV at `offset`; `end` is where the next one starts. */
export function readNode(buf: Buffer, offset = 0): DerNode & { end: number } {
  if (offset + 2 > buf.length) throw new Error("DER: truncated");
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new Error("DER: multi-octet tags are not supported");
  let length = buf[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || offset + 2 + n > buf.length) throw new Error("DER: bad length");
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 2 + i];
    header += n;
  }
  const end = offset + header + length;
  if (end > buf.length) throw new Error("DER: truncated");
  return { tag, raw: buf.subarray(offset, end), content: buf.subarray(offset + header, end), end };
}

/** Decodes a buffer that must hold exactly one TLV. */
export function parseDer(buf: Buffer): DerNode {
  const node = readNode(buf);
  if (node.end !== buf.length) throw new Error("DER: trailing data");
  return node;
}

/** The TLVs inside a constructed node. */
export function children(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  for (let offset = 0; offset < node.content.length; ) {
    const child = readNode(node.content, offset);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** Dotted form of an OBJECT IDENTIFIER node. */
export function readOid(node: DerNode): string {
  if (node.tag !== 0x06 || node.content.length === 0) throw new Error("DER: expected an OBJECT IDENTIFIER");
  const arcs: bigint[] = [];
  let v = 0n;
  for (const b of node.content) {
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0n;
    }
  }
  const first = arcs[0] < 80n ? arcs[0] / 40n : 2n;
  return [first, arcs[0] - first * 40n, ...arcs.slice(1)].join(".");
}

/** A directory string (Printable, UTF8, IA5, Numeric, T61, BMP), or undefined for other types. */
export function readString(node: DerNode): string | undefined {
  switch (node.tag) {
    case 0x0c:
      return node.content.toString("utf8");
    case 0x12:
    case 0x13:
    case 0x16:
      return node.content.toString("ascii");
    case 0x14:
      return node.content.toString("latin1");
    case 0x1e:
      return Buffer.from(node.content).swap16().toString("utf16le");
    default:
      return undefined;
  }
}
