"""How many SMS parts a text costs: 70 characters in one part, 67 a part beyond that."""
SINGLE_PART_CHARS = 70
MULTI_PART_CHARS = 67
MAX_CHARS = 400


def count_parts(text: str) -> int:
    length = len(text)
    if length <= SINGLE_PART_CHARS:
        return 1
    return -(-length // MULTI_PART_CHARS)
