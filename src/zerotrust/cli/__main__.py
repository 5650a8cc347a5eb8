"""``python -m zerotrust.cli`` is ``zt``."""

from zerotrust.cli.main import main

main()
