"""The HTTP front door: the ASGI app and its pipeline (`app`), the AWS JSON 1.1 protocol
(`protocol`), the staff API (`staff_api`, described by `staff_openapi`) and the presigned
attachment links (`attachment_links`). Starlette glue over `supportd.operations`."""
