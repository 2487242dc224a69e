"""Text to SMPP short_message octets: GSM 03.38 or UCS-2, split into concatenated parts.

Standard library only. The rules:

* data_coding 0 (SMSC default alphabet = GSM 03.38, one septet per octet, unpacked, which is what SMPP
  carries) when every character is in the GSM basic table or its extension table; an extension
  character (``^{}\\[~]|€`` and form feed) costs two septets (ESC + code).
* otherwise data_coding 8 (UCS-2, sent as UTF-16-BE; a character outside the BMP is a surrogate pair
  and costs two units).
* one part holds 160 septets or 70 UCS-2 units; beyond that the text is split into parts of 153
  septets or 67 units, each prefixed with a 6-octet UDH (IEI 0x00, 8-bit reference, total, index)
  and sent with esm_class UDHI (0x40). A GSM escape sequence or a surrogate pair is never cut in two:
  a part ends early instead (smpplib's ``gsm.make_parts`` cuts the encoded bytes blindly).
"""
from __future__ import annotations

from dataclasses import dataclass

DATA_CODING_GSM = 0x00
DATA_CODING_UCS2 = 0x08
ESM_CLASS_UDHI = 0x40

GSM_SINGLE = 160  # septets
GSM_PART = 153  # septets, after a 6-octet UDH (7 septets)
UCS2_SINGLE = 70  # UTF-16 code units
UCS2_PART = 67
MAX_PARTS = 255  # the 8-bit concatenation header counts up to 255

# 3GPP TS 23.038, 6.2.1: the default alphabet, code 0x00..0x7F. 0x1B is the escape to the extension
# table and is not a character of its own.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(GSM_BASIC) == 128
GSM_EXTENSION = {
    "\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
    "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
}
_GSM_ENCODE: dict[str, bytes] = {ch: bytes([i]) for i, ch in enumerate(GSM_BASIC) if i != 0x1B}
_GSM_ENCODE.update({ch: bytes([0x1B, code]) for ch, code in GSM_EXTENSION.items()})


class MessageTooLong(ValueError):
    """The text needs more than 255 parts."""


@dataclass(frozen=True)
class EncodedText:
    data_coding: int  # 0 (GSM 03.38) or 8 (UCS-2)
    chunks: tuple[bytes, ...]  # the payload of each part, without UDH

    @property
    def parts(self) -> int:
        return len(self.chunks)

    def short_messages(self, reference: int) -> tuple[tuple[int, bytes], ...]:
        """(esm_class, short_message) per part; a UDH with `reference` (0..255) when there are several."""
        if len(self.chunks) == 1:
            return ((0, self.chunks[0]),)
        total = len(self.chunks)
        ref = reference & 0xFF
        return tuple(
            (ESM_CLASS_UDHI, bytes((0x05, 0x00, 0x03, ref, total, index)) + chunk)
            for index, chunk in enumerate(self.chunks, start=1)
        )


def gsm_encode(text: str) -> bytes | None:
    """The text in GSM 03.38 septets (one per octet), or None if a character is not in the alphabet."""
    table = _GSM_ENCODE
    try:
        return b"".join([table[ch] for ch in text])
    except KeyError:
        return None


def is_gsm(text: str) -> bool:
    table = _GSM_ENCODE
    return all(ch in table for ch in text)


def gsm_septets(text: str) -> int | None:
    """How many septets the text costs in GSM 03.38, or None if it does not fit the alphabet."""
    encoded = gsm_encode(text)
    return None if encoded is None else len(encoded)


def _split(units: list[bytes], limit: int) -> list[bytes]:
    """Greedy split of per-character encodings into chunks of at most `limit` octets, never inside one."""
    chunks: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for unit in units:
        if size + len(unit) > limit:
            chunks.append(b"".join(current))
            current, size = [], 0
        current.append(unit)
        size += len(unit)
    chunks.append(b"".join(current))
    return chunks


def encode_text(text: str) -> EncodedText:
    """Choose the alphabet and split `text` into parts. Raises MessageTooLong beyond 255 parts."""
    gsm = gsm_encode(text)
    if gsm is not None:
        if len(gsm) <= GSM_SINGLE:
            return EncodedText(DATA_CODING_GSM, (gsm,))
        table = _GSM_ENCODE
        chunks = _split([table[ch] for ch in text], GSM_PART)
        data_coding = DATA_CODING_GSM
    else:
        ucs2 = text.encode("utf-16-be")
        if len(ucs2) <= UCS2_SINGLE * 2:
            return EncodedText(DATA_CODING_UCS2, (ucs2,))
        chunks = _split([ch.encode("utf-16-be") for ch in text], UCS2_PART * 2)
        data_coding = DATA_CODING_UCS2
    if len(chunks) > MAX_PARTS:
        raise MessageTooLong(f"the text needs {len(chunks)} parts; at most {MAX_PARTS} can be concatenated")
    return EncodedText(data_coding, tuple(chunks))


def count_parts(text: str) -> int:
    """How many SMS parts (submit_sm PDUs) the text costs on this bind."""
    return encode_text(text).parts


def decode(data_coding: int, payload: bytes) -> str:
    """The inverse, for one part's payload without UDH (used by tests and logging)."""
    if data_coding == DATA_CODING_UCS2:
        return payload.decode("utf-16-be", errors="replace")
    if data_coding == DATA_CODING_GSM:
        out = []
        escape = False
        reverse_ext = {code: ch for ch, code in GSM_EXTENSION.items()}
        for octet in payload:
            if escape:
                out.append(reverse_ext.get(octet, "?"))
                escape = False
            elif octet == 0x1B:
                escape = True
            else:
                out.append(GSM_BASIC[octet & 0x7F])
        return "".join(out)
    return payload.decode("latin-1")
