/**
 * Lenient UTF-8 decoding that also accepts CESU-8 surrogates. WeiboNER v1
 * stores some emoji as UTF-16 surrogate halves, each encoded as a 3-byte
 * sequence ED A0..AF xx (high half, U+D800–U+DBFF) or ED B0..BF xx (low half,
 * U+DC00–U+DFFF), which TextDecoder would turn into U+FFFD. Here such a
 * sequence becomes the surrogate code unit itself, so a pair (adjacent or,
 * after the CoNLL reader rejoins lines, split over two lines) forms the real
 * code point. Other invalid bytes become U+FFFD (one per maximal invalid
 * subpart, as in the WHATWG decoder) and are counted. Never throws.
 */

export interface DecodedText {
  /** Decoded text; may contain lone surrogate code units. */
  text: string;
  /** Number of U+FFFD substitutions made for invalid byte sequences. */
  invalidSequences: number;
}

const REPLACEMENT = 0xfffd;

/** Length of the sequence led by `lead` and the allowed range of its second byte, or null if `lead` is invalid. */
function leadInfo(lead: number): [len: number, lo: number, hi: number] | null {
  if (lead >= 0xc2 && lead <= 0xdf) return [2, 0x80, 0xbf];
  if (lead === 0xe0) return [3, 0xa0, 0xbf];
  if (lead >= 0xe1 && lead <= 0xef) return [3, 0x80, 0xbf]; // ED A0..BF (surrogates) accepted: CESU-8
  if (lead === 0xf0) return [4, 0x90, 0xbf];
  if (lead >= 0xf1 && lead <= 0xf3) return [4, 0x80, 0xbf];
  if (lead === 0xf4) return [4, 0x80, 0x8f];
  return null;
}

/** Decodes UTF-8 / CESU-8 bytes to a JS string (see module comment). A leading BOM is dropped. */
export function decodeCesu8(bytes: Uint8Array): DecodedText {
  const units = new Uint16Array(bytes.length);
  let n = 0;
  let invalidSequences = 0;
  let i = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      units[n++] = b;
      i++;
      continue;
    }
    const info = leadInfo(b);
    let cp = -1;
    let used = 1;
    if (info !== null) {
      const [len, lo, hi] = info;
      let value = b & (0xff >> (len + 1));
      for (; used < len && i + used < bytes.length; used++) {
        const c = bytes[i + used];
        const [min, max] = used === 1 ? [lo, hi] : [0x80, 0xbf];
        if (c < min || c > max) break;
        value = (value << 6) | (c & 0x3f);
      }
      if (used === len) cp = value;
    }
    if (cp < 0) {
      units[n++] = REPLACEMENT;
      invalidSequences++;
    } else if (cp > 0xffff) {
      units[n++] = 0xd800 + ((cp - 0x10000) >> 10);
      units[n++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
    } else {
      units[n++] = cp;
    }
    i += used;
  }
  let text = '';
  const CHUNK = 8192;
  for (let k = 0; k < n; k += CHUNK) {
    text += String.fromCharCode(...units.subarray(k, Math.min(n, k + CHUNK)));
  }
  return { text, invalidSequences };
}
