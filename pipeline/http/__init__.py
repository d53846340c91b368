"""HTTP pieces of the runtime that every HTTP component shares: the asyncio server (``server``),
TLS contexts (``tls``) and the service server's basic auth and CORS (``access``)."""
