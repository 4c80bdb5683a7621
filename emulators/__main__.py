"""`python -m emulators`: the local clouds with the sandbox estate, until Ctrl-C."""

from __future__ import annotations

import argparse
import logging

from emulators.estate_servers import Sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=4566, help="AWS; Azure, GCP, control follow")
    parser.add_argument("--drift-seconds", type=float, default=300.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s emulators %(message)s")
    sandbox = Sandbox(port=args.port).start()
    logging.getLogger("emulators").info(
        "AWS %s, Azure %s, GCP %s; the app reads %s/sandbox.json",
        sandbox.aws.url,
        sandbox.azure.url,
        sandbox.gcp.url,
        sandbox.url,
    )
    try:
        sandbox.drift_forever(args.drift_seconds)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
