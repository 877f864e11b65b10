"""AsyncClient: the asyncio face of Client, the same methods as coroutines."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from .client import LIST_METHODS, Client, _clean


class AsyncClient:
    """The asyncio face of Client: the same methods, as coroutines. Async handlers run on the
    loop that connects (unless loop= was given)."""

    def __init__(self, **options: Any):
        self._options = options
        self._client = Client(**options)

    @property
    def client(self) -> Client:
        """The underlying blocking Client."""
        return self._client

    @classmethod
    def wrap(cls, client: Client) -> "AsyncClient":
        """The asyncio face of a Client that is already connected (both share one connection)."""
        self = cls.__new__(cls)
        self._options = {}
        self._client = client
        return self

    @classmethod
    async def stdio(cls, command: str, *args: str, env: dict[str, str] | None = None, cwd: str | None = None,
                    timeout: float | None = None, **options: Any) -> "AsyncClient":
        client = cls(**options)
        try:
            await client.connect_stdio(command, *args, env=env, cwd=cwd, timeout=timeout)
        except BaseException:
            await client.close()
            raise
        return client

    @classmethod
    async def http(cls, url: str, **connect_options: Any) -> "AsyncClient":
        client_options = {k: connect_options.pop(k) for k in list(connect_options)
                          if k not in ("headers", "timeout", "transport", "tls_ca_file", "tls_verify",
                                       "open_get_stream")}
        client = cls(**client_options)
        try:
            await client.connect_http(url, **connect_options)
        except BaseException:
            await client.close()
            raise
        return client

    def _adopt_loop(self) -> None:
        if self._client._core.user_loop is None:
            self._client._core.user_loop = asyncio.get_running_loop()

    async def connect_stdio(self, command: str, *args: str, **kwargs: Any) -> dict:
        self._adopt_loop()
        return await asyncio.to_thread(self._client.connect_stdio, command, *args, **kwargs)

    async def connect_http(self, url: str, **kwargs: Any) -> dict:
        self._adopt_loop()
        return await asyncio.to_thread(self._client.connect_http, url, **kwargs)

    @property
    def server_info(self) -> dict:
        return self._client.server_info

    @property
    def era_info(self) -> dict:
        return self._client.era_info

    @property
    def era(self) -> str:
        return self._client.era

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def request(self, method: str, params: dict | None = None, *, timeout: float | None = None,
                      progress: Callable | None = None) -> dict:
        pending = self._client.send(method, params, timeout=timeout, progress=progress)
        try:
            return await pending
        except asyncio.CancelledError:
            pending.cancel("the caller was cancelled")
            raise

    def notify(self, method: str, params: dict | None = None) -> None:
        self._client.notify(method, params)

    async def call_tool(self, name: str, arguments: dict | None = None, *, timeout: float | None = None,
                        progress: Callable | None = None, meta: dict | None = None) -> dict:
        params: dict = {"name": name, "arguments": arguments or {}}
        if meta is not None:
            params["_meta"] = meta
        return await self.request("tools/call", params, timeout=timeout, progress=progress)

    async def list(self, method: str, *, timeout: float | None = None) -> list[dict]:
        if not self._client._lib.has("mcp_client_list_async"):
            # A library before ABI 1.2: its blocking listing, on a thread.
            return await asyncio.to_thread(self._client.list, method, timeout=timeout)
        pending = self._client.list_send(method, timeout=timeout)
        try:
            return await pending
        except asyncio.CancelledError:
            pending.cancel("the caller was cancelled")
            raise

    async def list_tools(self) -> list[dict]:
        return await self.list("tools/list")

    async def list_resources(self) -> list[dict]:
        return await self.list("resources/list")

    async def list_resource_templates(self) -> list[dict]:
        return await self.list("resources/templates/list")

    async def list_prompts(self) -> list[dict]:
        return await self.list("prompts/list")

    async def read_resource(self, uri: str, *, timeout: float | None = None) -> dict:
        return await self.request("resources/read", {"uri": uri}, timeout=timeout)

    async def get_prompt(self, name: str, arguments: dict[str, str] | None = None, *,
                         timeout: float | None = None) -> dict:
        return await self.request("prompts/get", _clean({"name": name, "arguments": arguments}), timeout=timeout)

    async def complete(self, ref: dict, argument: str, value: str, context: dict[str, str] | None = None, *,
                       timeout: float | None = None) -> list[str]:
        params: dict = {"ref": ref, "argument": {"name": argument, "value": value}}
        if context:
            params["context"] = {"arguments": context}
        return (await self.request("completion/complete", params, timeout=timeout))["completion"]["values"]

    async def set_logging_level(self, level: str) -> None:
        await self.request("logging/setLevel", {"level": level})

    async def subscribe(self, uri: str) -> None:
        await self.request("resources/subscribe", {"uri": uri})

    async def listen(self, on_event: Callable, **filter_and_on_end: Any) -> Any:
        """Client.listen (ABI 1.3) without blocking the loop: it waits for the server's
        acknowledgment on a thread. on_event/on_end may be coroutine functions (run on the loop)."""
        self._adopt_loop()
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: self._client.listen(on_event, **filter_and_on_end))

    async def ping(self, *, timeout: float | None = None) -> None:
        await self.request("ping", timeout=timeout)


__all__ = ["AsyncClient"]
