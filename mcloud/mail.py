"""The console e-mail backend of development, readable: each text part is written decoded,
so that a long link is not cut by quoted-printable soft line breaks ("=" at line ends)."""

from __future__ import annotations

from django.core.mail import EmailMessage
from django.core.mail.backends import console

_SKIPPED = ("content-type", "content-transfer-encoding", "mime-version")


class ConsoleEmailBackend(console.EmailBackend):
    def write_message(self, message: EmailMessage) -> None:
        msg = message.message()
        lines = [f"{name}: {value}" for name, value in msg.items() if name.lower() not in _SKIPPED]
        for part in msg.walk():
            if part.is_multipart():
                continue
            if part.get_content_maintype() != "text" or part.get_filename():
                lines.append(f"[attachment: {part.get_filename() or part.get_content_type()}]")
                continue
            payload = part.get_payload(decode=True)  # bytes or None, as the part is not multipart
            body = payload if isinstance(payload, bytes) else b""
            lines += ["", body.decode(part.get_content_charset() or "utf-8", "replace")]
        self.stream.write("\n".join(lines).rstrip("\n") + "\n")
        self.stream.write("-" * 79 + "\n")
