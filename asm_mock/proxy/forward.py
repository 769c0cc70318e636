"""`Upstream`: the real system, asked through one pooled httpx client (HTTP/1.1).

A request goes on as the client sent it: method, path (below the upstream's own path prefix),
raw query, body and headers, less the hop-by-hop ones (RFC 9110 7.6.1) and Host, which names
the upstream. Its answer comes back as bytes on the wire, still content-encoded. A timeout is a
`GatewayTimeoutError`, anything else that leaves no answer (refused, unreachable, TLS refused) a
`BadGatewayError`: the proxy's own answers, never the upstream's.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from asm_mock.domain.errors import BadGatewayError, GatewayTimeoutError

__all__ = ["HOP_BY_HOP", "Answer", "Upstream", "end_to_end"]

# Connection-scoped headers: each hop sets its own (RFC 9110 7.6.1, RFC 9112 7)
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length"}  # httpx sets both for the upstream


def end_to_end(
    headers: Iterable[tuple[str, str]], dropped: frozenset[str] = HOP_BY_HOP
) -> list[tuple[str, str]]:
    """`headers` without hop-by-hop ones, nor those a Connection header names."""
    pairs = list(headers)
    named = {
        token.strip().lower()
        for name, value in pairs
        if name == "connection"
        for token in value.split(",")
    }
    return [(n, v) for n, v in pairs if n not in dropped and n not in named]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]  # names lowercase, hop-by-hop ones dropped
    body: bytes  # as sent, still content-encoded


class Upstream:
    """The upstream at `base_url` (scheme, host, port, maybe a path prefix)."""

    def __init__(self, base_url: str, *, timeout: float, ca_file: Path | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._prefix = urlsplit(self.base_url).path.encode()
        self._url = httpx.URL(self.base_url)  # parsed once: each request only swaps its path
        # the system's CAs, or the private CA bundle only: a private CA's upstream is not
        # meant to be trusted because some public CA vouches for its name
        verify = ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
        self._client = httpx.AsyncClient(
            verify=verify,
            timeout=timeout,
            http1=True,
            http2=False,
            follow_redirects=False,  # a redirect is an answer the client must see
            trust_env=False,  # HTTP(S)_PROXY of the shell would put a hop between us
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def forward(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> Answer:
        target = self._prefix + raw_path + (b"?" + query if query else b"")
        url = self._url.copy_with(raw_path=target)
        request = self._client.build_request(
            method,
            url,
            headers=end_to_end(headers, _NOT_FORWARDED),
            content=body,
        )
        try:
            # httpx's timeout bounds each read: an upstream dripping a byte a second would
            # hold the client forever, so the whole exchange has the one deadline too
            async with asyncio.timeout(self.timeout):
                response = await self._client.send(request, stream=True)
                try:
                    raw = b"".join([chunk async for chunk in response.aiter_raw()])
                finally:
                    await response.aclose()
        except (httpx.TimeoutException, TimeoutError):
            raise GatewayTimeoutError(
                f"The upstream {self.base_url} did not answer within the proxy's "
                f"--upstream-timeout ({self.timeout:g} s)"
            ) from None
        except httpx.HTTPError as error:
            raise BadGatewayError(
                f"The upstream {self.base_url} could not be asked: {_why(error)}"
            ) from None
        pairs = [
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw
        ]
        return Answer(response.status_code, tuple(end_to_end(pairs)), raw)

    async def aclose(self) -> None:
        await self._client.aclose()


def _why(error: httpx.HTTPError) -> str:
    """One line: TLS named as such, whatever layer wrapped it."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return f"TLS refused: {getattr(cause, 'reason', None) or cause}"
        cause = cause.__cause__ or cause.__context__
    text = " ".join(str(error).split()) or type(error).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        return f"TLS refused: {text}"
    return text
