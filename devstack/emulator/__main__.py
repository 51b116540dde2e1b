"""``python -m devstack.emulator --port 8787 --zone example.com=free --zone shop.example=pro``"""

from __future__ import annotations

import argparse
import sys
import threading

from devstack.emulator.server import DEFAULT_TOKEN, EmulatorServer
from devstack.emulator.zones import PLANS, ZoneSpec


def _zone(value: str) -> ZoneSpec:
    name, _, plan = value.partition("=")
    plan = plan or "free"
    if not name or plan not in PLANS:
        raise argparse.ArgumentTypeError(f"expected NAME=PLAN with PLAN in {', '.join(PLANS)}, got {value!r}")
    return ZoneSpec(name, plan=plan)


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m devstack.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787, help="0 picks a free port")
    parser.add_argument("--zone", type=_zone, action="append", default=[], metavar="NAME=PLAN")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--rate-limit", type=int, default=1200)
    parser.add_argument("--rate-window", type=float, default=300.0)
    parser.add_argument("--no-validate", action="store_true", help="skip openapi request validation")
    args = parser.parse_args(argv)
    zones = args.zone or [ZoneSpec("example.com")]
    emu = EmulatorServer(
        zones,
        token=args.token,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        validate_requests=not args.no_validate,
        host=args.host,
        port=args.port,
    )
    emu.start()
    for zone in emu.state.zones():
        print(f"zone {zone.name} ({zone.plan}) id={zone.id}")
    print(f"export CLOUDFLARE_API_BASE_URL={emu.base_url}")
    # The default token is a fixed, published value that only opens this local emulator, so printing
    # it is harmless and saves a look-up. A token the user chose might be reused elsewhere: never print it.
    token_shown = args.token if args.token == DEFAULT_TOKEN else "$CLOUDFLARE_API_TOKEN"
    if args.token == DEFAULT_TOKEN:
        print(f"export CLOUDFLARE_API_TOKEN={DEFAULT_TOKEN}")
    print(f'curl -s -H "Authorization: Bearer {token_shown}" {emu.base_url}/zones')
    print(f"admin: {emu.admin_url}/counters (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
