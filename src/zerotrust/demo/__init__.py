"""The sample fintech AI platform the product protects: synthetic customers, credit
profiles and card transactions (``data``), streamed into the vault by ``seed``.

It uses only the public APIs of the domain packages and ``zerotrust.service``, as any
other client of the product would.
"""
