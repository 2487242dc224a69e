"""How many parts a text is billed as (the contract): 70 characters in one part, 67 a part beyond.

What goes on the wire is the carrier adapter's business: an SMPP carrier may split the same text
into a different number of parts (GSM 03.38 or UCS-2, with the UDH's cost), and records that itself.
"""
SINGLE_PART_CHARS = 70
MULTI_PART_CHARS = 67
MAX_CHARS = 400


def billed_parts(text: str) -> int:
    length = len(text)
    if length <= SINGLE_PART_CHARS:
        return 1
    return -(-length // MULTI_PART_CHARS)
