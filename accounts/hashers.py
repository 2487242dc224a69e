"""LeanCloud's password hash, so that users imported from a LeanCloud export keep their passwords.

LeanCloud stored base64(SHA-512 applied 512 more times to SHA-512(salt + password)), with the salt
beside it in the `_User` row. Imported hashes are stored as `leancloud_sha512$<salt>$<hash>`; as
this hasher is not the first in PASSWORD_HASHERS, Django rehashes with the preferred one at the
user's first login.
"""
import base64
import hashlib

from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare

ALGORITHM = "leancloud_sha512"
EXTRA_ROUNDS = 512


def leancloud_digest(password: str, salt: str) -> str:
    digest = hashlib.sha512((salt + password).encode()).digest()
    for _ in range(EXTRA_ROUNDS):
        digest = hashlib.sha512(digest).digest()
    return base64.b64encode(digest).decode("ascii")


def encoded_from_export(*, salt: str, hashed: str) -> str:
    """The stored form of an exported row's `salt` and `password`."""
    return f"{ALGORITHM}${salt}${hashed}"


class LeanCloudSHA512PasswordHasher(BasePasswordHasher):
    algorithm = ALGORITHM

    def encode(self, password, salt):
        self._check_encode_args(password, salt)
        return encoded_from_export(salt=salt, hashed=leancloud_digest(password, salt))

    def decode(self, encoded):
        # The hash is base64 (no '$'); the salt is whatever lies between the algorithm and it.
        algorithm, rest = encoded.split("$", 1)
        salt, hashed = rest.rsplit("$", 1)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": hashed, "salt": salt}

    def verify(self, password, encoded):
        decoded = self.decode(encoded)
        return constant_time_compare(decoded["hash"], leancloud_digest(password, decoded["salt"]))

    def safe_summary(self, encoded):
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "salt": mask_hash(decoded["salt"]), "hash": mask_hash(decoded["hash"])}

    def harden_runtime(self, password, encoded):
        pass
