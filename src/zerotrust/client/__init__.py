"""The zerotrust client library: a device key, signed posture, DPoP proofs, requests.

Tests, the demo, ``zt agent`` and real applications all use it, so what the server
demands (a proof per request, bound tokens, posture) is exercised the way users meet it.
"""

from zerotrust.client.device import DeviceKey
from zerotrust.client.http import ZTClient, ZTClientError
from zerotrust.client.posture import collect_local_posture

__all__ = ["DeviceKey", "ZTClient", "ZTClientError", "collect_local_posture"]
