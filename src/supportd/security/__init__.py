"""Who is calling, and secrets at rest: request authentication (`auth`), SigV4
verification (`sigv4`) and the sealing of access keys' secrets (`secretbox`). Knows
nothing of operations or stores: accounts and keys are looked up through callables."""
