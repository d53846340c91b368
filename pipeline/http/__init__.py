"""HTTP pieces of the runtime that every HTTP component shares: the asyncio server (``server``),
the client (``client``: deadlines, Go's error text, retry throttle and backoff, multipart, dumps
with secrets hidden), TLS contexts (``tls``) and the service server's basic auth and CORS
(``access``)."""
