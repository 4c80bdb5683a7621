"""allauth's MFA adapter, with authenticator secrets (TOTP seeds) encrypted at rest."""

from __future__ import annotations

from allauth.mfa.adapter import DefaultMFAAdapter

from mcloud import crypto


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)
