"""`python -m ops.probe`: the container's health check, exit 0 when /healthz answers 200."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("HTTP_PORT")
    if not port:
        sys.stderr.write("ctvote probe: HTTP_PORT is not set, so there is no /healthz to ask\n")
        return 1
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as error:
        sys.stderr.write(f"ctvote probe: {error.code} {error.read().decode(errors='replace')}")
    except OSError as error:
        sys.stderr.write(f"ctvote probe: {error}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
